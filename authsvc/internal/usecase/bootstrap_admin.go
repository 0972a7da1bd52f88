package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/parleychat/parley/authsvc/internal/entity"
)

// BootstrapAdmin creates the first admin account (the `authsvc
// bootstrap-admin` command). Its display name is the username.
func (s *Service) BootstrapAdmin(ctx context.Context, username, password string) (entity.Account, error) {
	return s.createAccount(ctx, RegisterInput{Username: username, Password: password, DisplayName: username},
		[]string{entity.RoleAdmin})
}

// PromoteAdmin grants admin to an existing account (the -auth.bootstrap-admin
// flag, applied at startup). Promoting an admin again changes nothing.
func (s *Service) PromoteAdmin(ctx context.Context, username string) error {
	u, err := entity.NormalizeUsername(username)
	if err != nil {
		return err
	}
	a, err := s.Accounts.AccountByUsername(ctx, u)
	if errors.Is(err, entity.ErrNotFound) {
		return fmt.Errorf("cannot promote %q to admin: no such account (register it first, or use `authsvc bootstrap-admin`)", u)
	}
	if err != nil {
		return err
	}
	if a.HasRole(entity.RoleAdmin) {
		return nil
	}
	roles := append(slices.Clone(a.Roles), entity.RoleAdmin)
	if roles, err = entity.NormalizeRoles(roles); err != nil {
		return err
	}
	if err := s.Accounts.SetRoles(ctx, a.ID, roles); err != nil {
		return err
	}
	s.Logger.Info("account promoted to admin at startup", slog.String("user_id", a.ID.String()))
	return nil
}
