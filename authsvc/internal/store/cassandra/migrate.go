package cassandra

import (
	"context"
	"embed"
	"fmt"
	"log/slog"

	"github.com/parleychat/parley/shared/kit/cqlmigrate"
)

// migrations are the versioned schema files, NNNN_name.cql, applied in order.
//
//go:embed migrations/*.cql
var migrations embed.FS

// Migration is one schema version.
type Migration = cqlmigrate.Migration

// Migrations returns the embedded migrations, oldest first.
func Migrations() ([]Migration, error) { return cqlmigrate.Parse(migrations, "migrations") }

// Migrate creates the keyspace if it is missing (with cfg.Replication) and
// applies every migration not yet recorded in schema_migrations (see
// cqlmigrate.Apply). Running it again, or after a run that died half-way,
// or from several processes at once, is safe (the `authsvc migrate` command,
// or startup with -auth.cassandra.migrate).
func Migrate(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	repl := cfg.Replication
	if repl == "" {
		repl = DefaultReplication(cfg.DC)
	}
	admin, err := newCluster(cfg, "").CreateSession()
	if err != nil {
		return fmt.Errorf("cassandra: connect to %v: %w", cfg.Hosts, err)
	}
	err = cqlmigrate.CreateKeyspace(ctx, admin, cfg.Keyspace, repl)
	admin.Close()
	if err != nil {
		return err
	}
	// The schema files name tables without a keyspace: bind the session.
	session, err := newCluster(cfg, cfg.Keyspace).CreateSession()
	if err != nil {
		return fmt.Errorf("cassandra: connect: %w", err)
	}
	defer session.Close()
	return cqlmigrate.Apply(ctx, session, cfg.Keyspace, "", migrations, "migrations", logger)
}

// DropKeyspace deletes the keyspace and everything in it: for tests.
func DropKeyspace(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	session, err := newCluster(cfg, "").CreateSession()
	if err != nil {
		return err
	}
	defer session.Close()
	return cqlmigrate.DDL(ctx, session, "DROP KEYSPACE IF EXISTS "+cfg.Keyspace)
}
