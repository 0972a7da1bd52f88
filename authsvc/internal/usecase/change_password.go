package usecase

import (
	"context"
	"log/slog"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
)

// ChangePassword replaces the caller's password after checking the current
// one, then signs out every other device of the caller (a changed password
// usually means the old one may be known to someone else). The calling
// device stays signed in. Attempts count against the same per-account limit
// as sign-ins, so it cannot be used to guess the current password.
func (s *Service) ChangePassword(ctx context.Context, id Identity, current, next string) error {
	if err := entity.CheckPasswordInput("current_password", current); err != nil {
		return err
	}
	a, err := s.account(ctx, id.UserID)
	if err != nil {
		return err
	}
	if err := entity.CheckNewPassword("new_password", next, a.Username); err != nil {
		return err
	}
	if next == current {
		return errs.New(errs.InvalidArgument, "new_password must differ from the current password")
	}
	if err := s.checkSignInLimits(ctx, a.Username, ""); err != nil {
		return err
	}
	ok, _, err := s.Passwords.Verify(ctx, current, a.PasswordHash)
	if err != nil {
		if ctx.Err() != nil {
			return hashError(err)
		}
		return errs.Wrap(err, errs.Internal, "internal error")
	}
	if !ok {
		return errs.New(errs.PermissionDenied, "current password is incorrect")
	}
	hash, err := s.Passwords.Hash(ctx, next)
	if err != nil {
		return hashError(err)
	}
	if err := s.Accounts.SetPasswordHash(ctx, a.ID, hash, s.now()); err != nil {
		return storeError(err)
	}
	if err := s.Sessions.EndAllSessions(ctx, a.ID, id.DeviceID); err != nil {
		return storeError(err)
	}
	s.Logger.Info("password changed; other devices signed out", slog.String("user_id", a.ID.String()))
	return nil
}
