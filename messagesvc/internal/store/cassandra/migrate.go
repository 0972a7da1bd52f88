package cassandra

import (
	"context"
	"embed"
	"errors"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/shared/kit/cqlkit"
)

// migrations are the versioned schema files, NNNN_name.cql, applied in
// order. They name tables as {keyspace}.table.
//
//go:embed migrations/*.cql
var migrations embed.FS

// Migration is one schema version.
type Migration = cqlkit.Migration

// Migrations returns the embedded migrations, oldest first.
func Migrations() ([]Migration, error) { return cqlkit.Parse(migrations, "migrations") }

// Migrate applies every embedded migration not yet recorded in the
// keyspace's schema_migrations table (see cqlkit.Apply). With a
// non-empty replication (a CQL map such as DefaultReplication's) it first
// creates the keyspace if it is missing; with "" the keyspace must exist.
// session need not be bound to the keyspace. Safe to run again and
// concurrently.
func Migrate(ctx context.Context, session *gocql.Session, keyspace, replication string) error {
	return cqlkit.Apply(ctx, session, keyspace, replication, migrations, "migrations", nil)
}

// DropKeyspace deletes the keyspace and everything in it: for tests.
func DropKeyspace(ctx context.Context, session *gocql.Session, keyspace string) error {
	if !validKeyspace(keyspace) {
		return errors.New("cassandra: invalid keyspace")
	}
	return cqlkit.DDL(ctx, session, "DROP KEYSPACE IF EXISTS "+keyspace)
}
