package usecase

import (
	"context"
	"errors"
	"log/slog"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
)

// Refresh exchanges a refresh token for a new access token and a new refresh
// token (rotation: each refresh token works once). Presenting a token that
// was already exchanged means it leaked or the client is confused; either
// way the whole session is revoked and the device must sign in again.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (sess Session, err error) {
	outcome := "error"
	defer func() { s.Metrics.Refreshes.WithLabelValues(outcome).Inc() }()

	if refreshToken == "" {
		outcome = "invalid"
		return Session{}, errs.New(errs.InvalidArgument, "refresh_token is required")
	}
	oldHash, ok := entity.HashRefreshToken(refreshToken)
	if !ok {
		outcome = "invalid"
		return Session{}, errs.New(errs.Unauthenticated, "invalid refresh token")
	}
	now := s.now()
	next, nextHash := entity.NewRefreshToken()
	nextExpiry := now.Add(s.cfg.RefreshTTL)
	old, err := s.Sessions.ConsumeRefreshToken(ctx, oldHash, nextHash, nextExpiry, now)
	switch {
	case errors.Is(err, entity.ErrNotFound):
		outcome = "invalid"
		return Session{}, errs.New(errs.Unauthenticated, "invalid refresh token")
	case errors.Is(err, entity.ErrTokenExpired):
		outcome = "expired"
		return Session{}, errs.New(errs.Unauthenticated, "refresh token expired: sign in again")
	case errors.Is(err, entity.ErrSessionRevoked):
		outcome = "revoked"
		return Session{}, errs.New(errs.Unauthenticated, "session signed out: sign in again")
	case errors.Is(err, entity.ErrTokenReused):
		outcome = "reused"
		return Session{}, s.revokeReused(ctx, old)
	case err != nil:
		return Session{}, storeError(err)
	}
	a, err := s.Accounts.AccountByID(ctx, old.UserID)
	if errors.Is(err, entity.ErrNotFound) {
		outcome = "revoked"
		return Session{}, errs.New(errs.Unauthenticated, "account no longer exists")
	}
	if err != nil {
		return Session{}, storeError(err)
	}
	// Roles come from the account, not the old token: a role change takes
	// effect at the next refresh.
	sess, err = s.issue(a, old.DeviceID, next, nextExpiry, now)
	if err == nil {
		outcome = "ok"
	}
	return sess, err
}

func (s *Service) revokeReused(ctx context.Context, old entity.RefreshToken) error {
	s.Metrics.RefreshReuse.Inc()
	s.Logger.Warn("refresh token reuse detected: revoking the session",
		slog.String("user_id", old.UserID.String()), slog.String("device_id", old.DeviceID.String()))
	if err := s.Sessions.EndSession(ctx, old.UserID, old.DeviceID, old.SessionID); err != nil {
		return storeError(err)
	}
	return errs.New(errs.Unauthenticated,
		"refresh token already used: the session was revoked for safety, sign in again")
}
