package embedded

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/authsvc/internal/entity"
)

// SigningKeys implements keyring.Store.
func (s *Store) SigningKeys(ctx context.Context) (string, []entity.SigningKey, error) {
	var head string
	var keys []entity.SigningKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		head = string(tx.Bucket(bucketMeta).Get(keyHead))
		return tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
			r, err := decode[keyRecord](v)
			keys = append(keys, r.entity())
			return err
		})
	})
	return head, keys, err
}

// AddSigningKey implements keyring.Store: the head check and both writes are
// one transaction.
func (s *Store) AddSigningKey(ctx context.Context, expectedHead string, k entity.SigningKey) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if string(meta.Get(keyHead)) != expectedHead {
			return entity.ErrConflict
		}
		if err := tx.Bucket(bucketKeys).Put([]byte(k.ID), encode(toKeyRecord(k))); err != nil {
			return err
		}
		return meta.Put(keyHead, []byte(k.ID))
	})
}

// DeleteSigningKey implements keyring.Store.
func (s *Store) DeleteSigningKey(ctx context.Context, kid string) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Delete([]byte(kid)) })
}
