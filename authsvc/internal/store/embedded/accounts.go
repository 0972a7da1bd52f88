package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// CreateAccount implements usecase.Accounts: the username check and both
// writes are one transaction.
func (s *Store) CreateAccount(ctx context.Context, a entity.Account) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		names, accounts := tx.Bucket(bucketUsernames), tx.Bucket(bucketAccounts)
		if names.Get([]byte(a.Username)) != nil {
			return entity.ErrUsernameTaken
		}
		id := be64(int64(a.ID))
		if accounts.Get(id) != nil {
			return fmt.Errorf("embedded store: account id %d already used", a.ID)
		}
		if err := accounts.Put(id, encode(toAccountRecord(a))); err != nil {
			return err
		}
		return names.Put([]byte(a.Username), id)
	})
}

// AccountByID implements usecase.Accounts.
func (s *Store) AccountByID(ctx context.Context, id ids.ID) (entity.Account, error) {
	var a entity.Account
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		a, err = getAccount(tx, be64(int64(id)))
		return err
	})
	return a, err
}

// AccountByUsername implements usecase.Accounts.
func (s *Store) AccountByUsername(ctx context.Context, username string) (entity.Account, error) {
	var a entity.Account
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketUsernames).Get([]byte(username))
		if id == nil {
			return entity.ErrNotFound
		}
		var err error
		a, err = getAccount(tx, id)
		return err
	})
	return a, err
}

// SetPasswordHash implements usecase.Accounts.
func (s *Store) SetPasswordHash(ctx context.Context, id ids.ID, hash string, changedAt time.Time) error {
	return s.modifyAccount(ctx, id, func(r *accountRecord) { r.PasswordHash, r.PasswordChangedAt = hash, changedAt })
}

// SetRoles implements usecase.Accounts.
func (s *Store) SetRoles(ctx context.Context, id ids.ID, roles []string) error {
	return s.modifyAccount(ctx, id, func(r *accountRecord) { r.Roles = roles })
}

func (s *Store) modifyAccount(ctx context.Context, id ids.ID, change func(*accountRecord)) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, key := tx.Bucket(bucketAccounts), be64(int64(id))
		raw := b.Get(key)
		if raw == nil {
			return entity.ErrNotFound
		}
		r, err := decode[accountRecord](raw)
		if err != nil {
			return err
		}
		change(&r)
		return b.Put(key, encode(r))
	})
}

func getAccount(tx *bolt.Tx, id []byte) (entity.Account, error) {
	raw := tx.Bucket(bucketAccounts).Get(id)
	if raw == nil {
		return entity.Account{}, entity.ErrNotFound
	}
	r, err := decode[accountRecord](raw)
	return r.entity(), err
}
