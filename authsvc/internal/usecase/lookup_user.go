package usecase

import (
	"context"
	"errors"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// LookupUser finds an account by exact username (case-insensitive), for
// starting a chat. The delivery layer shows only its id and display name.
func (s *Service) LookupUser(ctx context.Context, username string) (entity.Account, error) {
	u, err := entity.NormalizeUsername(username)
	if err != nil {
		return entity.Account{}, err
	}
	a, err := s.Accounts.AccountByUsername(ctx, u)
	if errors.Is(err, entity.ErrNotFound) {
		return entity.Account{}, errs.New(errs.NotFound, "no such user")
	}
	if err != nil {
		return entity.Account{}, storeError(err)
	}
	return a, nil
}

// UserByID returns an account by id, for other services (does this
// recipient exist, what is their display name).
func (s *Service) UserByID(ctx context.Context, userID ids.ID) (entity.Account, error) {
	return s.account(ctx, userID)
}
