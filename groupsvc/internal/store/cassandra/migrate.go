package cassandra

import (
	"context"
	"embed"
	"log/slog"

	"github.com/parleychat/parley/shared/kit/cqlkit"
)

// migrations are the versioned schema files, NNNN_name.cql, applied in order.
//
//go:embed migrations/*.cql
var migrations embed.FS

// Migration is one schema version.
type Migration = cqlkit.Migration

// Migrations returns the embedded migrations, oldest first.
func Migrations() ([]Migration, error) { return cqlkit.Parse(migrations, "migrations") }

// Migrate creates the keyspace if it is missing and applies every migration
// not yet recorded (the `groupsvc migrate` command, or startup with
// -groups.cassandra.migrate). Safe to run again and concurrently.
func Migrate(ctx context.Context, cfg Config, logger *slog.Logger) error {
	return cqlkit.MigrateKeyspace(ctx, cfg, migrations, "migrations", logger)
}

// DropKeyspace deletes the keyspace and everything in it: for tests.
func DropKeyspace(ctx context.Context, cfg Config) error { return cqlkit.DropKeyspace(ctx, cfg) }
