// Package cassandra is authsvc's production store on Apache Cassandra.
//
// Reads and writes use LOCAL_QUORUM; lightweight transactions (LWT) use
// LOCAL_SERIAL and appear exactly where correctness needs them: claiming a
// username, marking a refresh token used, and rotating the signing key.
// Statements are constant CQL (prepared once by the driver); the idempotent
// ones are marked so, and only those are retried. Host selection is
// token-aware over DC-aware round robin, so a request goes straight to a
// replica in the local data center.
package cassandra

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/shared/kit/cqlkit"
)

// Config selects the cluster and keyspace.
type Config = cqlkit.Config

// DefaultReplication is NetworkTopologyStrategy with one replica in dc: right
// for the local test stack; production sets three per data center.
func DefaultReplication(dc string) string { return cqlkit.DefaultReplication(dc) }

// DefaultKeyScope is the signing-key scope authsvc uses.
const DefaultKeyScope = "access-tokens"

// Store is the Cassandra adapter. It is safe for concurrent use.
type Store struct {
	session  *gocql.Session
	keyScope string
	logger   *slog.Logger
}

func newCluster(cfg Config, keyspace string) *gocql.ClusterConfig {
	return cqlkit.NewCluster(cfg, keyspace)
}

// Open connects to the keyspace, which Migrate must have created.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	session, err := newCluster(cfg, cfg.Keyspace).CreateSession()
	if err != nil {
		return nil, fmt.Errorf("cassandra: connect to %v: %w", cfg.Hosts, err)
	}
	return &Store{session: session, keyScope: DefaultKeyScope, logger: logger}, nil
}

// WithKeyScope returns a store sharing s's connections whose signing keys
// live under scope, so several deployments (or test cases) can share one
// keyspace with separate keys.
func (s *Store) WithKeyScope(scope string) *Store {
	c := *s
	c.keyScope = scope
	return &c
}

// Close closes the connections.
func (s *Store) Close() error {
	s.session.Close()
	return nil
}

// Ping checks that the cluster answers, for the readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	var v string
	return s.session.Query(cqlPing).WithContext(ctx).Idempotent(true).Consistency(gocql.LocalOne).Scan(&v)
}

// read and write build queries; idempotent ones may be retried by the driver.
func (s *Store) read(ctx context.Context, stmt string, args ...any) *gocql.Query {
	return s.session.Query(stmt, args...).WithContext(ctx).Idempotent(true)
}

func (s *Store) write(ctx context.Context, stmt string, args ...any) error {
	return s.session.Query(stmt, args...).WithContext(ctx).Idempotent(true).Exec()
}

// lwt builds a lightweight transaction: never idempotent (a retried CAS that
// had applied reports "not applied"), serial consistency LOCAL_SERIAL.
func (s *Store) lwt(ctx context.Context, stmt string, args ...any) *gocql.Query {
	return s.session.Query(stmt, args...).WithContext(ctx).Idempotent(false).SerialConsistency(gocql.LocalSerial)
}

// ttlSeconds is the TTL that makes a row expire at exp (at least 1s: 0 would mean never).
func ttlSeconds(exp, now time.Time) int {
	return max(1, int(exp.Sub(now).Round(time.Second)/time.Second)+1)
}
