// Package boltkit opens the embedded (bbolt) stores of the services the
// same way: a data directory created if missing, a file lock with a bounded
// wait and a message naming the likely holder, and the store's buckets
// created before first use.
package boltkit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultOpenTimeout bounds the wait for the file lock.
const DefaultOpenTimeout = 2 * time.Second

// Options says what to open.
type Options struct {
	// Dir holds the database file; it is created if missing.
	Dir string
	// File is the database file's name inside Dir.
	File string
	// Service names the program that would hold the lock, for the error
	// when another process does.
	Service string
	// Buckets are created if missing.
	Buckets [][]byte
	// OpenTimeout bounds the wait for the file lock (DefaultOpenTimeout
	// when zero).
	OpenTimeout time.Duration
	// Bolt, when set, is passed to bbolt (its Timeout is replaced by
	// OpenTimeout).
	Bolt *bolt.Options
}

// Open opens (creating if needed) the database described by o.
func Open(o Options) (*bolt.DB, error) {
	if o.Dir == "" {
		return nil, errors.New("embedded store: data directory required")
	}
	if o.OpenTimeout == 0 {
		o.OpenTimeout = DefaultOpenTimeout
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	opts := bolt.Options{}
	if o.Bolt != nil {
		opts = *o.Bolt
	}
	opts.Timeout = o.OpenTimeout
	path := filepath.Join(o.Dir, o.File)
	db, err := bolt.Open(path, 0o600, &opts)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("embedded store: %s is locked by another process (a running %s?)", path, o.Service)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range o.Buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded store: init: %w", err)
	}
	return db, nil
}
