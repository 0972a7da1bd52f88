package usecase

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// SetRoles replaces a user's roles; the caller must hold admin. The change
// reaches the user's access tokens at their next refresh. An admin cannot
// drop their own admin role, so the last admin cannot lock everyone out by
// accident.
func (s *Service) SetRoles(ctx context.Context, caller Identity, userID ids.ID, roles []string) (entity.Account, error) {
	if err := requireAdmin(caller); err != nil {
		return entity.Account{}, err
	}
	roles, err := entity.NormalizeRoles(roles)
	if err != nil {
		return entity.Account{}, err
	}
	if userID == caller.UserID && !slices.Contains(roles, entity.RoleAdmin) {
		return entity.Account{}, errs.New(errs.FailedPrecondition, "you cannot remove your own admin role")
	}
	if err := s.Accounts.SetRoles(ctx, userID, roles); err != nil {
		if errors.Is(err, entity.ErrNotFound) {
			return entity.Account{}, errs.New(errs.NotFound, "no such account")
		}
		return entity.Account{}, storeError(err)
	}
	s.Logger.Info("roles set", slog.String("user_id", userID.String()), slog.Any("roles", roles),
		slog.String("by", caller.UserID.String()))
	return s.account(ctx, userID)
}

func requireAdmin(caller Identity) error {
	if !caller.HasRole(entity.RoleAdmin) {
		return errs.New(errs.PermissionDenied, "admin role required")
	}
	return nil
}
