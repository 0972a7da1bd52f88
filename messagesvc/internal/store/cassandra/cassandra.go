// Package cassandra is messagesvc's production store on Apache Cassandra
// (schema in migrations/, applied by Migrate).
//
// Reads and writes use LOCAL_QUORUM. The one lightweight transaction is
// ClaimSend (LOCAL_SERIAL): exactly-one-fresh among concurrent retries needs
// consensus. Every other monotonic value (device cursors, read watermarks,
// conversation last ids, first received times, bucket bounds) is a blind
// write with USING TIMESTAMP derived from the value, so Cassandra's
// last-write-wins keeps the highest (or, inverted, the earliest) no matter
// in which order writes land. Statements are constant CQL per keyspace,
// prepared once by the driver; every query is idempotent and retried a
// bounded number of times. No multi-partition batch is ever used.
//
// Cassandra requests per operation (W write, R read, LWT lightweight
// transaction; "partitions" are (conversation, 10-day bucket) for messages
// and receipts, (user, day) for the inbox):
//
//	ClaimSend          1 LWT (Paxos: about 4 replica round trips)
//	PutMessage         1 W; +1 W (bounds) the first time this process writes
//	                   into a conversation's new oldest or newest bucket
//	GetMessages        1 R per bucket among the ids
//	History            1 R (bounds) + 1 R per bucket walked, never beyond
//	                   the conversation's first and last bucket
//	Append             1 W per entry, up to appendConcurrency at once
//	ReadAfter          1 R per day from the cursor (or retention start) to today
//	Cursor             1 R
//	AdvanceCursor      1 W
//	MarkReceived       per bucket among the ids: 1 R; if any id is new, 1 W
//	                   (a single-partition batch of the new rows) + 1 R
//	AdvanceRead        1 R; if upTo is higher, 1 W + 1 R
//	ReadWatermark      1 R
//	Deliveries         1 R per bucket among the ids + 1 R per recipient
//	TouchConversation  1 W
//	Conversations      1 R (the user's partition, paged)
//
// A persisted 1:1 send (ClaimSend, PutMessage, Append of two entries, two
// TouchConversation) is therefore 1 LWT + 5 writes.
package cassandra

import (
	"context"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/shared/kit/cqlkit"

	"github.com/parleychat/parley/messagesvc/internal/store"
)

var _ store.Store = (*Store)(nil)

// Defaults of NewCluster and New.
const (
	DefaultTimeout    = 5 * time.Second  // one request
	DefaultOpTimeout  = 10 * time.Second // one store call whose context has no deadline
	appendConcurrency = 16               // Append writes in flight per call
)

func validKeyspace(ks string) bool { return cqlkit.ValidKeyspace(ks) }

// DefaultReplication is NetworkTopologyStrategy with one replica in dc:
// right for the local test stack; production sets three per data center.
func DefaultReplication(dc string) string { return cqlkit.DefaultReplication(dc) }

// NewCluster returns the driver configuration messagesvc uses: token-aware
// routing over DC-aware round robin (a request goes straight to a replica in
// the local data center), LOCAL_QUORUM / LOCAL_SERIAL, request and connect
// timeouts of timeout (DefaultTimeout if zero), and the bounded retry policy
// (which the driver applies only to queries marked idempotent). keyspace may
// be empty: the store names its tables with their keyspace.
func NewCluster(hosts []string, dc, keyspace string, timeout time.Duration) *gocql.ClusterConfig {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return cqlkit.NewCluster(cqlkit.Config{Hosts: hosts, DC: dc, Timeout: timeout, ConnectTimeout: timeout}, keyspace)
}

// retryPolicy retries an idempotent request twice, 50-500 ms apart.
func retryPolicy() gocql.RetryPolicy {
	return &gocql.ExponentialBackoffRetryPolicy{NumRetries: 2, Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}
}

// Connect opens a session; a cluster that cannot be reached is a
// retryable errs.Unavailable.
func Connect(cluster *gocql.ClusterConfig) (*gocql.Session, error) {
	s, err := cluster.CreateSession()
	if err != nil {
		return nil, storeErr("connect", err)
	}
	return s, nil
}

// Store is the Cassandra adapter. It is safe for concurrent use.
type Store struct {
	session   *gocql.Session
	keyspace  string
	cql       statements
	bounds    *boundsCache
	retry     gocql.RetryPolicy
	opTimeout time.Duration
}

// New returns a store on session for keyspace, which Migrate must have
// prepared. The store owns session from now on: Close closes it.
func New(session *gocql.Session, keyspace string) (*Store, error) {
	if !validKeyspace(keyspace) {
		return nil, fmt.Errorf("cassandra: keyspace %q is not a lower-case identifier", keyspace)
	}
	return &Store{session: session, keyspace: keyspace, cql: newStatements(keyspace), bounds: newBoundsCache(),
		retry: retryPolicy(), opTimeout: DefaultOpTimeout}, nil
}

// Close closes the session.
func (s *Store) Close() error {
	s.session.Close()
	return nil
}

// Ping checks that a replica answers, for the readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var v string
	err := s.session.Query(cqlPing).WithContext(ctx).Idempotent(true).RetryPolicy(s.retry).
		Consistency(gocql.LocalOne).Scan(&v)
	return storeErr("ping", err)
}

// op bounds a store call whose caller set no deadline: the driver's own
// timeouts cover one request, not a call with several requests and retries.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opTimeout)
}

// query builds an idempotent LOCAL_QUORUM request; the session's own
// defaults are not relied upon, so any session works.
func (s *Store) query(ctx context.Context, stmt string, args ...any) *gocql.Query {
	return s.session.Query(stmt, args...).WithContext(ctx).Consistency(gocql.LocalQuorum).
		Idempotent(true).RetryPolicy(s.retry)
}

// batch builds an unlogged single-partition batch: one round trip, applied
// atomically on each replica. Never used across partitions.
func (s *Store) batch(ctx context.Context) *gocql.Batch {
	return s.session.Batch(gocql.UnloggedBatch).WithContext(ctx).Consistency(gocql.LocalQuorum).
		RetryPolicy(s.retry)
}

// unset leaves a column untouched instead of writing a null (a tombstone).
func unsetText(v string) any {
	if v == "" {
		return gocql.UnsetValue
	}
	return v
}

func unsetInt(v int64) any {
	if v == 0 {
		return gocql.UnsetValue
	}
	return v
}

func unsetBlob(v []byte) any {
	if len(v) == 0 {
		return gocql.UnsetValue
	}
	return v
}

func unsetList[T ~int64](v []T) any {
	if len(v) == 0 {
		return gocql.UnsetValue
	}
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
