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
	"log/slog"
	"time"

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
	session  cqlkit.Session
	keyScope string
	logger   *slog.Logger
}

// Open connects to the keyspace, which Migrate must have created.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	session, err := cqlkit.Connect(cfg)
	if err != nil {
		return nil, err
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
func (s *Store) Ping(ctx context.Context) error { return s.session.Ping(ctx) }

// ttlSeconds is the TTL that makes a row expire at exp (at least 1s: 0 would mean never).
func ttlSeconds(exp, now time.Time) int {
	return max(1, int(exp.Sub(now).Round(time.Second)/time.Second)+1)
}
