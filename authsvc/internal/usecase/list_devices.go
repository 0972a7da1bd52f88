package usecase

import (
	"context"
	"slices"

	"github.com/parleychat/parley/authsvc/internal/entity"
)

// ListDevices returns the caller's signed-in devices, oldest first.
func (s *Service) ListDevices(ctx context.Context, id Identity) ([]entity.Device, error) {
	all, err := s.Sessions.Devices(ctx, id.UserID)
	if err != nil {
		return nil, storeError(err)
	}
	out := slices.DeleteFunc(all, func(d entity.Device) bool { return !d.SignedIn() })
	slices.SortFunc(out, func(a, b entity.Device) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out, nil
}
