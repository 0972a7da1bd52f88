package cassandra

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// migrations are the versioned schema files, NNNN_name.cql, applied in order.
//
//go:embed migrations/*.cql
var migrations embed.FS

// Migration is one schema version.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns the embedded migrations, oldest first.
func Migrations() ([]Migration, error) {
	files, err := fs.Glob(migrations, "migrations/*.cql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimPrefix(f, "migrations/"), ".cql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.cql", f)
		}
		text, err := migrations.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, Statements: splitStatements(string(text))})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// splitStatements drops "--" comment lines and splits on ';'.
func splitStatements(text string) []string {
	var kept []string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			kept = append(kept, line)
		}
	}
	var out []string
	for _, st := range strings.Split(strings.Join(kept, "\n"), ";") {
		if st = strings.TrimSpace(st); st != "" {
			out = append(out, st)
		}
	}
	return out
}

const (
	cqlCreateMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text, applied_at timestamp)`
	cqlSelectMigrations      = `SELECT version FROM schema_migrations`
	cqlRecordMigration       = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
)

// Migrate creates the keyspace if it is missing (with cfg.Replication) and
// applies every migration not yet recorded in schema_migrations. Running it
// again, or after a run that died half-way, is safe: applied versions are
// skipped and every statement is IF NOT EXISTS. Run it from one process at a
// time (the `mediasvc migrate` command, or startup with -media.cassandra.migrate).
func Migrate(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := createKeyspace(ctx, cfg); err != nil {
		return err
	}
	session, err := newCluster(cfg, cfg.Keyspace).CreateSession()
	if err != nil {
		return fmt.Errorf("cassandra: connect: %w", err)
	}
	defer session.Close()
	if err := ddl(ctx, session, cqlCreateMigrationsTable); err != nil {
		return err
	}
	applied := map[int]bool{}
	sc := session.Query(cqlSelectMigrations).WithContext(ctx).Idempotent(true).Iter().Scanner()
	for sc.Next() {
		var v int
		if err := sc.Scan(&v); err != nil {
			return err
		}
		applied[v] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cassandra: read schema_migrations: %w", err)
	}
	all, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		for _, st := range m.Statements {
			if err := ddl(ctx, session, st); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if err := session.Query(cqlRecordMigration, m.Version, m.Name, time.Now()).WithContext(ctx).Idempotent(true).Exec(); err != nil {
			return fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		logger.Info("cassandra migration applied", slog.String("keyspace", cfg.Keyspace), slog.Int("version", m.Version), slog.String("name", m.Name))
	}
	return nil
}

func createKeyspace(ctx context.Context, cfg Config) error {
	repl := cfg.Replication
	if repl == "" {
		repl = DefaultReplication(cfg.DC)
	}
	if !strings.HasPrefix(repl, "{") || !strings.HasSuffix(repl, "}") || strings.Contains(repl, ";") {
		return fmt.Errorf("cassandra replication %q is not a CQL map", repl)
	}
	session, err := newCluster(cfg, "").CreateSession()
	if err != nil {
		return fmt.Errorf("cassandra: connect to %v: %w", cfg.Hosts, err)
	}
	defer session.Close()
	// The keyspace name passed Validate (a plain identifier); DDL cannot take
	// bind markers, so it is the one piece of CQL built from configuration.
	return ddl(ctx, session, "CREATE KEYSPACE IF NOT EXISTS "+cfg.Keyspace+" WITH replication = "+repl)
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
	return ddl(ctx, session, "DROP KEYSPACE IF EXISTS "+cfg.Keyspace)
}

// ddl runs a schema statement and waits until every node agrees on the
// schema, so the next statement (or the service) sees it.
func ddl(ctx context.Context, session *gocql.Session, stmt string) error {
	if err := session.Query(stmt).WithContext(ctx).Idempotent(true).Exec(); err != nil {
		return fmt.Errorf("cassandra: %s: %w", firstLine(stmt), err)
	}
	return session.AwaitSchemaAgreement(ctx)
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
