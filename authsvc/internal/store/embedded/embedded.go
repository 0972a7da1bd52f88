// Package embedded is authsvc's single-machine store: one bbolt file in the
// data directory. Every operation is one bbolt transaction, so username
// uniqueness, refresh-token rotation and key rotation are atomic without
// further care. bbolt allows one writer at a time, which is plenty for
// authentication traffic on one machine.
package embedded

import (
	"context"
	"encoding/binary"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/shared/kit/boltkit"
)

// FileName is the database file inside the data directory.
const FileName = "authsvc.db"

var (
	bucketAccounts      = []byte("accounts")       // user id → accountRecord
	bucketUsernames     = []byte("usernames")      // username → user id
	bucketDevices       = []byte("devices")        // user id | device id → deviceRecord
	bucketRefresh       = []byte("refresh_tokens") // token hash → refreshRecord
	bucketRefreshExpiry = []byte("refresh_expiry") // expiry unix ns | token hash → nil, for the sweeper
	bucketKeys          = []byte("signing_keys")   // kid → keyRecord
	bucketMeta          = []byte("meta")           // keyHead → kid of the newest signing key
	allBuckets          = [][]byte{bucketAccounts, bucketUsernames, bucketDevices, bucketRefresh,
		bucketRefreshExpiry, bucketKeys, bucketMeta}
	keyHead = []byte("signing_key_head")
)

// Config configures the store.
type Config struct {
	// Dir holds the database file; it is created if missing.
	Dir string
	// SweepInterval is how often expired refresh tokens are deleted
	// (default 10m; negative disables the sweeper, for tests).
	SweepInterval time.Duration
	// OpenTimeout bounds the wait for the file lock, which another process
	// using the same directory holds (default 2s).
	OpenTimeout time.Duration
}

// Store is the embedded adapter. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	logger *slog.Logger
	stop   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

// Open opens (creating if needed) the database in cfg.Dir.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = 10 * time.Minute
	}
	db, err := boltkit.Open(boltkit.Options{Dir: cfg.Dir, File: FileName, Service: "authsvc", Buckets: allBuckets,
		OpenTimeout: cfg.OpenTimeout,
	})
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, logger: logger, stop: make(chan struct{})}
	if cfg.SweepInterval > 0 {
		s.wg.Add(1)
		go s.sweepLoop(cfg.SweepInterval)
	}
	return s, nil
}

// Close stops the sweeper and closes the file; later calls do nothing.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() {
		close(s.stop)
		s.wg.Wait()
		err = s.db.Close()
	})
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

func pairKey(a, b int64) []byte { return append(be64(a), be64(b)...) }
