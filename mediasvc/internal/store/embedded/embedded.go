// Package embedded is mediasvc's single-machine metadata store: one bbolt
// file in the data directory. Every operation is one bbolt transaction, so
// the conditional state changes (finalize once, attach versus delete, blob
// references versus blob deletion) are atomic without further care. bbolt
// allows one writer at a time, plenty for the metadata of uploads on one
// machine (the bytes themselves go to the object store).
package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the database file inside the data directory.
const FileName = "mediasvc.db"

var (
	bucketMedia  = []byte("media")  // media id → mediaRecord
	bucketBlobs  = []byte("blobs")  // sha256 hex → blobRecord
	bucketChecks = []byte("checks") // due unix ms | kind | 0 | key → nil
	bucketMeta   = []byte("meta")   // keyCheckpoint, keyLimits
	allBuckets   = [][]byte{bucketMedia, bucketBlobs, bucketChecks, bucketMeta}

	keyCheckpoint = []byte("cleanup_checkpoint")
	keyLimits     = []byte("upload_limits")
)

// Config configures the store.
type Config struct {
	// Dir holds the database file; it is created if missing.
	Dir string
	// OpenTimeout bounds the wait for the file lock, which another process
	// using the same directory holds (default 2s).
	OpenTimeout time.Duration
}

// Store is the embedded adapter. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	logger *slog.Logger
	closed sync.Once
}

// Open opens (creating if needed) the database in cfg.Dir.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded store: data directory required")
	}
	if cfg.OpenTimeout == 0 {
		cfg.OpenTimeout = 2 * time.Second
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	path := filepath.Join(cfg.Dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.OpenTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("embedded store: %s is locked by another process (a running mediasvc?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
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
	return &Store{db: db, logger: logger}, nil
}

// Close closes the file; later calls do nothing.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() { err = s.db.Close() })
	return err
}

// Ping reports whether the database is usable, for the readiness probe.
func (s *Store) Ping(context.Context) error {
	return s.db.View(func(*bolt.Tx) error { return nil })
}

// update runs fn in a write transaction unless ctx already ended: bbolt
// itself cannot be interrupted, and its transactions are short.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func be64(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the record types always marshal
	}
	return b
}

func decode[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}
