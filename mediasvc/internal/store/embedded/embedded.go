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
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/shared/kit/boltkit"
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
	db, err := boltkit.Open(boltkit.Options{Dir: cfg.Dir, File: FileName, Service: "mediasvc", Buckets: allBuckets,
		OpenTimeout: cfg.OpenTimeout,
	})
	if err != nil {
		return nil, err
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
