package cassandra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// CreateAccount implements usecase.Accounts. It writes the account row under
// its new id first, then claims the username with an LWT. A lost claim
// deletes the row again; nothing ever pointed to it, so no reader can see a
// half-made account, and a visible account always owns its name.
func (s *Store) CreateAccount(ctx context.Context, a entity.Account) error {
	if err := s.session.Write(ctx, cqlInsertAccount, int64(a.ID), a.Username, a.DisplayName, a.PasswordHash,
		a.Roles, a.CreatedAt, a.PasswordChangedAt); err != nil {
		return fmt.Errorf("cassandra: insert account: %w", err)
	}
	won, err := s.claimUsername(ctx, a.Username, a.ID)
	if err != nil {
		// The account row stays, unreachable: no username points to it.
		return err
	}
	if !won {
		if err := s.session.Write(ctx, cqlDeleteAccount, int64(a.ID)); err != nil {
			s.logger.Warn("deleting the account row of a lost username claim failed; it is unreachable",
				slog.String("user_id", a.ID.String()), slog.Any("err", err))
		}
		return entity.ErrUsernameTaken
	}
	return nil
}

// claimUsername runs the LWT. When its outcome is unknown (a timeout), a
// serial read of the claim says who owns the name.
func (s *Store) claimUsername(ctx context.Context, username string, id ids.ID) (bool, error) {
	existing := map[string]any{}
	applied, err := s.session.LWT(ctx, cqlClaimUsername, username, int64(id)).MapScanCAS(existing)
	if err == nil {
		return applied, nil
	}
	var owner int64
	if rerr := s.session.Read(ctx, cqlSelectOwner, username).Consistency(gocql.LocalSerial).Scan(&owner); rerr != nil {
		return false, fmt.Errorf("cassandra: claim username: %w (outcome unknown: %v)", err, rerr)
	}
	return owner == int64(id), nil
}

// AccountByID implements usecase.Accounts.
func (s *Store) AccountByID(ctx context.Context, id ids.ID) (entity.Account, error) {
	var a entity.Account
	var uid int64
	err := s.session.Read(ctx, cqlSelectAccount, int64(id)).Scan(&uid, &a.Username, &a.DisplayName, &a.PasswordHash,
		&a.Roles, &a.CreatedAt, &a.PasswordChangedAt)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && a.Username == "") {
		// A row without a username is a partial leftover, never an account.
		return entity.Account{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.Account{}, fmt.Errorf("cassandra: read account: %w", err)
	}
	a.ID = ids.ID(uid)
	a.CreatedAt, a.PasswordChangedAt = a.CreatedAt.UTC(), a.PasswordChangedAt.UTC()
	if len(a.Roles) == 0 {
		a.Roles = nil
	}
	return a, nil
}

// AccountByUsername implements usecase.Accounts.
func (s *Store) AccountByUsername(ctx context.Context, username string) (entity.Account, error) {
	var owner int64
	err := s.session.Read(ctx, cqlSelectOwner, username).Scan(&owner)
	if errors.Is(err, gocql.ErrNotFound) {
		return entity.Account{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.Account{}, fmt.Errorf("cassandra: read username: %w", err)
	}
	return s.AccountByID(ctx, ids.ID(owner))
}

// SetPasswordHash implements usecase.Accounts. The existence check keeps an
// update from creating a partial row (a Cassandra UPDATE is an upsert).
func (s *Store) SetPasswordHash(ctx context.Context, id ids.ID, hash string, changedAt time.Time) error {
	if _, err := s.AccountByID(ctx, id); err != nil {
		return err
	}
	return s.session.Write(ctx, cqlSetPassword, hash, changedAt, int64(id))
}

// SetRoles implements usecase.Accounts.
func (s *Store) SetRoles(ctx context.Context, id ids.ID, roles []string) error {
	if _, err := s.AccountByID(ctx, id); err != nil {
		return err
	}
	return s.session.Write(ctx, cqlSetRoles, roles, int64(id))
}
