package usecase

import (
	"context"
	"errors"
	"log/slog"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
)

// RegisterInput is a sign-up request.
type RegisterInput struct {
	Username    string
	Password    string
	DisplayName string
}

// Register creates an account. The username is lower-cased; a taken one
// gives already_exists and changes nothing.
func (s *Service) Register(ctx context.Context, in RegisterInput) (entity.Account, error) {
	return s.createAccount(ctx, in, nil)
}

func (s *Service) createAccount(ctx context.Context, in RegisterInput, roles []string) (entity.Account, error) {
	username, err := entity.NormalizeUsername(in.Username)
	if err != nil {
		return entity.Account{}, err
	}
	display, err := entity.NormalizeDisplayName(in.DisplayName)
	if err != nil {
		return entity.Account{}, err
	}
	if err := entity.CheckNewPassword("password", in.Password, username); err != nil {
		return entity.Account{}, err
	}
	// Cheap early answer for the common duplicate, before paying for a hash;
	// CreateAccount still decides races.
	if _, err := s.Accounts.AccountByUsername(ctx, username); err == nil {
		return entity.Account{}, errUsernameTaken
	} else if !errors.Is(err, entity.ErrNotFound) {
		return entity.Account{}, storeError(err)
	}
	hash, err := s.Passwords.Hash(ctx, in.Password)
	if err != nil {
		return entity.Account{}, hashError(err)
	}
	now := s.now()
	a := entity.Account{ID: s.IDs.Next(), Username: username, DisplayName: display, PasswordHash: hash,
		Roles: roles, CreatedAt: now, PasswordChangedAt: now}
	if err := s.Accounts.CreateAccount(ctx, a); err != nil {
		if errors.Is(err, entity.ErrUsernameTaken) {
			return entity.Account{}, errUsernameTaken
		}
		return entity.Account{}, storeError(err)
	}
	s.Logger.Info("account registered", slog.String("user_id", a.ID.String()), slog.Any("roles", roles))
	return a, nil
}

var errUsernameTaken = errs.New(errs.AlreadyExists, "username already taken")
