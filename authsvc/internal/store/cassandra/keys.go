package cassandra

import (
	"context"
	"crypto/ed25519"
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/authsvc/internal/entity"
)

// SigningKeys implements keyring.Store.
func (s *Store) SigningKeys(ctx context.Context) (string, []entity.SigningKey, error) {
	sc := s.session.Read(ctx, cqlSelectKeys, s.keyScope).Iter().Scanner()
	var head string
	var keys []entity.SigningKey
	for sc.Next() {
		var k entity.SigningKey
		var priv []byte
		var rowHead *string
		if err := sc.Scan(&rowHead, &k.ID, &priv, &k.CreatedAt, &k.ActivatesAt); err != nil {
			return "", nil, fmt.Errorf("cassandra: read signing keys: %w", err)
		}
		if rowHead != nil {
			head = *rowHead
		}
		if k.ID == "" {
			continue // a partition with only the static head has one row without a key
		}
		if len(priv) != ed25519.PrivateKeySize {
			return "", nil, fmt.Errorf("cassandra: signing key %s is corrupt", k.ID)
		}
		k.Private = ed25519.PrivateKey(priv)
		k.CreatedAt, k.ActivatesAt = k.CreatedAt.UTC(), k.ActivatesAt.UTC()
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return "", nil, fmt.Errorf("cassandra: read signing keys: %w", err)
	}
	return head, keys, nil
}

// AddSigningKey implements keyring.Store as one conditional batch on the
// scope's partition: "set head IF head = expected" plus the key insert apply
// together or not at all.
func (s *Store) AddSigningKey(ctx context.Context, expectedHead string, k entity.SigningKey) error {
	var expected any // "" means no head yet: IF head = null
	if expectedHead != "" {
		expected = expectedHead
	}
	b := s.session.Batch(gocql.LoggedBatch).WithContext(ctx).SerialConsistency(gocql.LocalSerial)
	b.Entries = append(b.Entries,
		gocql.BatchEntry{Stmt: cqlSetHead, Args: []any{k.ID, s.keyScope, expected}},
		gocql.BatchEntry{Stmt: cqlInsertKey, Args: []any{s.keyScope, k.ID, []byte(k.Private), k.CreatedAt, k.ActivatesAt}},
	)
	applied, iter, err := b.MapExecCASContext(ctx, map[string]any{})
	if iter != nil {
		_ = iter.Close()
	}
	if err != nil {
		return fmt.Errorf("cassandra: add signing key: %w", err)
	}
	if !applied {
		return entity.ErrConflict
	}
	return nil
}

// DeleteSigningKey implements keyring.Store.
func (s *Store) DeleteSigningKey(ctx context.Context, kid string) error {
	if err := s.session.Write(ctx, cqlDeleteKey, s.keyScope, kid); err != nil {
		return fmt.Errorf("cassandra: delete signing key: %w", err)
	}
	return nil
}
