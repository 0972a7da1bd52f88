package cqlkit

import (
	"context"
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Session is a connection to one keyspace with the query shapes every
// adapter uses. It embeds the driver's session for everything else
// (batches, iterators, Close).
type Session struct {
	*gocql.Session
}

// Connect validates cfg and connects to cfg.Keyspace, which must exist
// (MigrateKeyspace creates it).
func Connect(cfg Config) (Session, error) {
	if err := cfg.Validate(); err != nil {
		return Session{}, err
	}
	s, err := NewCluster(cfg, cfg.Keyspace).CreateSession()
	if err != nil {
		return Session{}, fmt.Errorf("cassandra: connect to %v: %w", cfg.Hosts, err)
	}
	return Session{s}, nil
}

// Ping checks that the cluster answers, for readiness probes: one local
// read at LOCAL_ONE, so it reports the connection, not the keyspace's
// replica health.
func (s Session) Ping(ctx context.Context) error {
	var v string
	return s.Query(`SELECT release_version FROM system.local`).WithContext(ctx).Idempotent(true).
		Consistency(gocql.LocalOne).Scan(&v)
}

// Read builds an idempotent query: the driver may retry it.
func (s Session) Read(ctx context.Context, stmt string, args ...any) *gocql.Query {
	return s.Query(stmt, args...).WithContext(ctx).Idempotent(true)
}

// Write runs a plain idempotent write.
func (s Session) Write(ctx context.Context, stmt string, args ...any) error {
	return s.Query(stmt, args...).WithContext(ctx).Idempotent(true).Exec()
}

// LWT builds a lightweight transaction at LOCAL_SERIAL. It is never
// idempotent for the driver: a retried compare-and-set that had applied
// reports "not applied", so callers settle unknown outcomes themselves.
func (s Session) LWT(ctx context.Context, stmt string, args ...any) *gocql.Query {
	return s.Query(stmt, args...).WithContext(ctx).Idempotent(false).SerialConsistency(gocql.LocalSerial)
}
