// Package cqlkit is the service kit's Cassandra part: the one way every
// service connects (token-aware over DC-aware routing, LOCAL_QUORUM,
// LOCAL_SERIAL, bounded retries of idempotent queries) and the one runner
// of its versioned schema files. Each service keeps its own tables,
// statements and migrations; only the mechanics live here.
package cqlkit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Config selects the cluster and keyspace.
type Config struct {
	Hosts    []string // host or host:port of contact points
	DC       string   // the local data center
	Keyspace string
	// Replication is the keyspace's replication map, used only when a
	// migration creates the keyspace (default: DefaultReplication(DC)).
	Replication string
	// Timeout bounds each request; ConnectTimeout each connection attempt.
	Timeout        time.Duration
	ConnectTimeout time.Duration
}

var keyspaceName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// ValidKeyspace reports whether ks is a plain lower-case identifier, the
// only form this package builds into CQL.
func ValidKeyspace(ks string) bool { return keyspaceName.MatchString(ks) }

// Validate checks the settings.
func (c Config) Validate() error {
	var problems []error
	if len(c.Hosts) == 0 {
		problems = append(problems, errors.New("cassandra hosts required"))
	}
	if c.DC == "" {
		problems = append(problems, errors.New("cassandra local data center required"))
	}
	if !ValidKeyspace(c.Keyspace) {
		problems = append(problems, fmt.Errorf("cassandra keyspace %q is not a lower-case identifier", c.Keyspace))
	}
	if c.Timeout <= 0 || c.ConnectTimeout <= 0 {
		problems = append(problems, errors.New("cassandra timeouts must be positive"))
	}
	return errors.Join(problems...)
}

// DefaultReplication is NetworkTopologyStrategy with one replica in dc:
// right for the local test stack; production sets three per data center.
func DefaultReplication(dc string) string {
	return fmt.Sprintf("{'class': 'NetworkTopologyStrategy', '%s': 1}", dc)
}

// NewCluster returns the driver configuration every service uses, bound to
// keyspace ("" for none).
func NewCluster(cfg Config, keyspace string) *gocql.ClusterConfig {
	c := gocql.NewCluster(cfg.Hosts...)
	c.Keyspace = keyspace
	c.Consistency = gocql.LocalQuorum
	c.SerialConsistency = gocql.LocalSerial
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(cfg.DC))
	c.Timeout = cfg.Timeout
	c.ConnectTimeout = cfg.ConnectTimeout
	c.WriteTimeout = cfg.Timeout
	// The driver's default waits a minute before retrying a node it saw go
	// down; a restarted node should take traffic within seconds.
	c.ReconnectInterval = 2 * time.Second
	// Applies only to queries marked idempotent; the driver never retries others.
	c.RetryPolicy = &gocql.ExponentialBackoffRetryPolicy{NumRetries: 2, Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}
	return c
}

// MigrateKeyspace creates cfg.Keyspace if it is missing and applies the
// schema files in files/dir (see Apply) through a session bound to it, so
// the files may name tables without a keyspace. logger may be nil.
func MigrateKeyspace(ctx context.Context, cfg Config, files fs.FS, dir string, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	repl := cfg.Replication
	if repl == "" {
		repl = DefaultReplication(cfg.DC)
	}
	admin, err := NewCluster(cfg, "").CreateSession()
	if err != nil {
		return fmt.Errorf("cassandra: connect to %v: %w", cfg.Hosts, err)
	}
	err = CreateKeyspace(ctx, admin, cfg.Keyspace, repl)
	admin.Close()
	if err != nil {
		return err
	}
	session, err := NewCluster(cfg, cfg.Keyspace).CreateSession()
	if err != nil {
		return fmt.Errorf("cassandra: connect: %w", err)
	}
	defer session.Close()
	return Apply(ctx, session, cfg.Keyspace, "", files, dir, logger)
}

// DropKeyspace deletes cfg.Keyspace and everything in it: for tests.
func DropKeyspace(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	session, err := NewCluster(cfg, "").CreateSession()
	if err != nil {
		return err
	}
	defer session.Close()
	return DDL(ctx, session, "DROP KEYSPACE IF EXISTS "+cfg.Keyspace)
}
