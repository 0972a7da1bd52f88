package usecase

import (
	"context"
	"log/slog"
)

// SignOut ends the caller's device session: its refresh tokens stop working
// at once; access tokens already issued lapse at their expiry (≤ access TTL).
// Signing out twice is not an error.
func (s *Service) SignOut(ctx context.Context, id Identity) error {
	if err := s.Sessions.EndSession(ctx, id.UserID, id.DeviceID, 0); err != nil {
		return storeError(err)
	}
	s.Logger.Info("signed out", slog.String("user_id", id.UserID.String()), slog.String("device_id", id.DeviceID.String()))
	return nil
}

// SignOutAll ends the session of every device of the caller, this one included.
func (s *Service) SignOutAll(ctx context.Context, id Identity) error {
	if err := s.Sessions.EndAllSessions(ctx, id.UserID, 0); err != nil {
		return storeError(err)
	}
	s.Logger.Info("signed out everywhere", slog.String("user_id", id.UserID.String()))
	return nil
}
