package usecase

import (
	"context"
	"log/slog"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
)

// RotateKeys adds a new signing key now (admin only). It signs after the
// activation delay; the old keys stay published until their tokens expire.
func (s *Service) RotateKeys(ctx context.Context, caller Identity) (entity.SigningKey, error) {
	if err := requireAdmin(caller); err != nil {
		return entity.SigningKey{}, err
	}
	k, err := s.Tokens.Rotate(ctx)
	if err != nil {
		if _, ok := errs.As(err); ok {
			return entity.SigningKey{}, err
		}
		return entity.SigningKey{}, storeError(err)
	}
	s.Logger.Info("signing key rotation requested", slog.String("kid", k.ID), slog.String("by", caller.UserID.String()))
	return k, nil
}

// JWKS returns the published public keys.
func (s *Service) JWKS() authtoken.JWKSet { return s.Tokens.JWKS() }
