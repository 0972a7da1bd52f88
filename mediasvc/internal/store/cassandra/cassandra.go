// Package cassandra is mediasvc's production metadata store on Apache
// Cassandra.
//
// Reads and plain writes use LOCAL_QUORUM and are marked idempotent (only
// those are retried by the driver). Lightweight transactions (LWT, serial
// consistency LOCAL_SERIAL) appear exactly where correctness needs them:
//   - every write to a media row: creating it (an id is claimed once),
//     finalizing it (a pending upload is finalized once, by one content),
//     attaching and detaching (an attach must not land on media the cleanup
//     is deleting) and marking it deleted (only while it has no attachment);
//   - every write to a blob row: creating it (one content, one object),
//     adding and removing references (never while it is being deleted) and
//     starting and finishing its deletion (only without references).
//
// These are upload-time and cleanup-time operations, not the message hot
// path. The cleanup schedule, its checkpoint and the limits are plain
// writes. Host selection is token-aware over DC-aware round robin, so a
// request goes straight to a replica in the local data center.
package cassandra

import (
	"context"
	"log/slog"

	"github.com/parleychat/parley/shared/kit/cqlkit"
)

// Config selects the cluster and keyspace.
type Config = cqlkit.Config

// DefaultReplication is NetworkTopologyStrategy with one replica in dc: right
// for the local test stack; production sets three per data center.
func DefaultReplication(dc string) string { return cqlkit.DefaultReplication(dc) }

// DefaultScope is the scope of the cleanup schedule, checkpoint and limits.
const DefaultScope = "default"

// Store is the Cassandra adapter. It is safe for concurrent use.
type Store struct {
	session cqlkit.Session
	scope   string
	logger  *slog.Logger
}

// Open connects to the keyspace, which Migrate must have created.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	session, err := cqlkit.Connect(cfg)
	if err != nil {
		return nil, err
	}
	return &Store{session: session, scope: DefaultScope, logger: logger}, nil
}

// WithScope returns a store sharing s's connections whose cleanup
// schedule, checkpoint and limits live under scope, so several deployments
// (or test cases) can share one keyspace.
func (s *Store) WithScope(scope string) *Store {
	c := *s
	c.scope = scope
	return &c
}

// Close closes the connections.
func (s *Store) Close() error {
	s.session.Close()
	return nil
}

// Ping checks that the cluster answers, for the readiness probe.
func (s *Store) Ping(ctx context.Context) error { return s.session.Ping(ctx) }

// lwt runs a lightweight transaction and reports whether it applied, with
// the current values of the row when it did not. Never idempotent for the
// driver (a retried CAS that had applied reports "not applied"); callers
// re-read with a serial read when the outcome matters.
func (s *Store) lwt(ctx context.Context, stmt string, args ...any) (bool, map[string]any, error) {
	prev := map[string]any{}
	applied, err := s.session.LWT(ctx, stmt, args...).MapScanCAS(prev)
	return applied, prev, err
}
