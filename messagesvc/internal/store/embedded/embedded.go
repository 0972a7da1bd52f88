// Package embedded is messagesvc's single-machine store: one bbolt file in
// the data directory, so a one-machine install keeps its messages across
// restarts.
//
// Keys are laid out so every listing is one range scan: big-endian ids sort
// numerically, and conversation ids (printable ASCII) end with a 0x00 byte
// so one conversation's keys never run into another's. Every
// read-modify-write method is one transaction, which makes the monotonic
// and first-wins rules plain comparisons. Writes go through db.Batch, so
// concurrent callers (a busy send path) share one commit and its fsync.
// Expired inbox entries and dedup keys are invisible at once and deleted by
// a periodic sweep.
package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/kit/boltkit"
)

var _ store.Store = (*Store)(nil)

// FileName is the database file inside the data directory.
const FileName = "messagesvc.db"

var (
	bucketDedup       = []byte("dedup")            // sender | client msg id → owner | expires (unix ms)
	bucketDedupExpiry = []byte("dedup_expiry")     // expires (unix ms) | dedup key → nil, for the sweeper
	bucketMessages    = []byte("messages")         // conv 0x00 | message id → messageRecord
	bucketInbox       = []byte("inbox")            // user | seq → inboxRecord
	bucketCursors     = []byte("cursors")          // user | device → seq
	bucketReceipts    = []byte("receipts")         // conv 0x00 | message id | user → received (unix ms)
	bucketWatermarks  = []byte("watermarks")       // user | conv → up to | at (unix ms)
	bucketConvs       = []byte("conversations")    // user | conv → last message id
	bucketConvsByLast = []byte("conversations_by") // user | last message id | conv → nil, most recent last
	allBuckets        = [][]byte{bucketDedup, bucketDedupExpiry, bucketMessages, bucketInbox, bucketCursors,
		bucketReceipts, bucketWatermarks, bucketConvs, bucketConvsByLast}
)

// Config configures the store.
type Config struct {
	// Dir holds the database file; it is created if missing.
	Dir string
	// SweepInterval is how often expired inbox entries and dedup keys are
	// deleted (default 10m; negative disables the sweeper, for tests).
	SweepInterval time.Duration
	// OpenTimeout bounds the wait for the file lock, which another process
	// using the same directory holds (default 2s).
	OpenTimeout time.Duration
	// BatchDelay is how long a write waits for others to share its commit
	// (bbolt's MaxBatchDelay; default 1ms). Longer batches more under load
	// and adds latency to a lone writer.
	BatchDelay time.Duration
}

// Store is the embedded adapter. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	logger *slog.Logger
	now    func() time.Time
	stop   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

// Open opens (creating if needed) the database in cfg.Dir.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = 10 * time.Minute
	}
	if cfg.BatchDelay <= 0 {
		cfg.BatchDelay = time.Millisecond
	}
	db, err := boltkit.Open(boltkit.Options{Dir: cfg.Dir, File: FileName, Service: "messagesvc", Buckets: allBuckets,
		OpenTimeout: cfg.OpenTimeout,
		Bolt:        &bolt.Options{FreelistType: bolt.FreelistMapType},
	})
	if err != nil {
		return nil, err
	}
	db.MaxBatchDelay = cfg.BatchDelay
	s := &Store{db: db, logger: logger, now: time.Now, stop: make(chan struct{})}
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
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(*bolt.Tx) error { return nil })
}

// write runs fn in a shared batch commit. bbolt may run fn more than once
// (when another call in the batch fails, the rest are retried one by one),
// so fn must set its results afresh on every run. A transaction cannot be
// interrupted, so ctx is checked before it starts; they are short.
func (s *Store) write(ctx context.Context, what string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return storeErr(what, err)
	}
	return storeErr(what, s.db.Batch(fn))
}

func (s *Store) view(ctx context.Context, what string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return storeErr(what, err)
	}
	return storeErr(what, s.db.View(fn))
}

// storeErr gives failures the contract's codes: a caller's expired context
// is DeadlineExceeded, anything from the file (closed, disk full, I/O) is
// Unavailable, a record that does not decode is Internal.
func storeErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	code := errs.Unavailable
	var corrupt *corruptError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = errs.DeadlineExceeded
	case errors.As(err, &corrupt):
		code = errs.Internal
	}
	return errs.Wrap(err, code, "message store: "+what+" failed")
}

type corruptError struct{ err error }

func (e *corruptError) Error() string { return "corrupt record: " + e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

func be64(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

func get64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }

// key concatenates parts into a new slice.
func key(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// convPrefix is a conversation's key prefix: its id and a 0x00 byte, which
// no id contains, so "g:1" never prefixes "g:12".
func convPrefix(conv string) []byte { return append([]byte(conv), 0) }

// copyBytes copies a value out of a transaction (bbolt's slices die with it).
func copyBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
