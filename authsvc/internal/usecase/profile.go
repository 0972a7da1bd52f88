package usecase

import (
	"context"
	"errors"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// Me returns the caller's own account.
func (s *Service) Me(ctx context.Context, id Identity) (entity.Account, error) {
	return s.account(ctx, id.UserID)
}

func (s *Service) account(ctx context.Context, userID ids.ID) (entity.Account, error) {
	a, err := s.Accounts.AccountByID(ctx, userID)
	if errors.Is(err, entity.ErrNotFound) {
		return entity.Account{}, errs.New(errs.NotFound, "no such account")
	}
	if err != nil {
		return entity.Account{}, storeError(err)
	}
	return a, nil
}
