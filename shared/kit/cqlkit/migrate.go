package cqlkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Migration is one schema version.
type Migration struct {
	Version    int
	Name       string
	Statements []string // "{keyspace}" not yet replaced
}

// Parse reads dir/NNNN_name.cql from files, oldest first. "--" comment lines
// are dropped and statements are split on ';'.
func Parse(files fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(files, path.Join(dir, "*.cql"))
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, f := range names {
		base := strings.TrimSuffix(path.Base(f), ".cql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.cql", f)
		}
		text, err := fs.ReadFile(files, f)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, Statements: splitStatements(string(text))})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations numbered %d", out[i].Version)
		}
	}
	return out, nil
}

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

// Bookkeeping statements; they name the keyspace, so they work whether or
// not the session is bound to it.
const (
	cqlCreateMigrations = `CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations (version int PRIMARY KEY, name text, applied_at timestamp)`
	cqlCreateLock       = `CREATE TABLE IF NOT EXISTS {keyspace}.schema_lock (id text PRIMARY KEY, owner text)`
	cqlSelectApplied    = `SELECT version FROM {keyspace}.schema_migrations`
	cqlRecordMigration  = `INSERT INTO {keyspace}.schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
	cqlTakeLock         = `INSERT INTO {keyspace}.schema_lock (id, owner) VALUES ('migrate', ?) IF NOT EXISTS USING TTL ?`
	cqlReleaseLock      = `DELETE FROM {keyspace}.schema_lock WHERE id = 'migrate' IF owner = ?`
)

// lockLease bounds how long a migrator that died keeps others waiting.
const lockLease = 2 * time.Minute

// CreateKeyspace creates keyspace with replication (a CQL map such as
// "{'class': 'NetworkTopologyStrategy', 'dc1': 3}") if it is missing.
func CreateKeyspace(ctx context.Context, session *gocql.Session, keyspace, replication string) error {
	if !ValidKeyspace(keyspace) {
		return fmt.Errorf("cassandra: keyspace %q is not a lower-case identifier", keyspace)
	}
	if !strings.HasPrefix(replication, "{") || !strings.HasSuffix(replication, "}") || strings.Contains(replication, ";") {
		return fmt.Errorf("cassandra: replication %q is not a CQL map", replication)
	}
	// DDL takes no bind markers: the validated keyspace and replication
	// map are the one piece of CQL built from configuration.
	return DDL(ctx, session, "CREATE KEYSPACE IF NOT EXISTS "+keyspace+" WITH replication = "+replication)
}

// Apply applies every migration in files/dir not yet recorded in the
// keyspace's schema_migrations table, replacing "{keyspace}" in each
// statement. With a non-empty replication it first creates the keyspace if
// it is missing. Statements that name tables without a keyspace need a
// session bound to it. logger may be nil.
//
// It is safe to run again (applied versions are skipped and statements are
// IF NOT EXISTS, so a run that died half-way continues) and concurrently:
// migrators take turns through a lease row claimed with a lightweight
// transaction (schema_lock, TTL lockLease). Only creating the two
// bookkeeping tables is unguarded, which IF NOT EXISTS makes harmless.
func Apply(ctx context.Context, session *gocql.Session, keyspace, replication string, files fs.FS, dir string, logger *slog.Logger) error {
	if !ValidKeyspace(keyspace) {
		return fmt.Errorf("cassandra: keyspace %q is not a lower-case identifier", keyspace)
	}
	all, err := Parse(files, dir)
	if err != nil {
		return err
	}
	if replication != "" {
		if err := CreateKeyspace(ctx, session, keyspace, replication); err != nil {
			return err
		}
	}
	in := func(stmt string) string { return strings.ReplaceAll(stmt, "{keyspace}", keyspace) }
	for _, st := range []string{cqlCreateMigrations, cqlCreateLock} {
		if err := DDL(ctx, session, in(st)); err != nil {
			return err
		}
	}
	release, err := takeLock(ctx, session, in)
	if err != nil {
		return err
	}
	defer release()
	applied, err := appliedVersions(ctx, session, in)
	if err != nil {
		return err
	}
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		for _, st := range m.Statements {
			if err := DDL(ctx, session, in(st)); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if err := session.Query(in(cqlRecordMigration), m.Version, m.Name, time.Now()).WithContext(ctx).Idempotent(true).Exec(); err != nil {
			return fmt.Errorf("cassandra: record migration %d: %w", m.Version, err)
		}
		if logger != nil {
			logger.Info("cassandra migration applied", slog.String("keyspace", keyspace),
				slog.Int("version", m.Version), slog.String("name", m.Name))
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, session *gocql.Session, in func(string) string) (map[int]bool, error) {
	applied := map[int]bool{}
	sc := session.Query(in(cqlSelectApplied)).WithContext(ctx).Idempotent(true).Iter().Scanner()
	for sc.Next() {
		var v int
		if err := sc.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cassandra: read schema_migrations: %w", err)
	}
	return applied, nil
}

// takeLock waits for the migration lease and returns its release.
func takeLock(ctx context.Context, session *gocql.Session, in func(string) string) (func(), error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	owner := hex.EncodeToString(b[:])
	for {
		existing := map[string]any{}
		applied, err := session.Query(in(cqlTakeLock), owner, int(lockLease/time.Second)).WithContext(ctx).
			SerialConsistency(gocql.LocalSerial).MapScanCAS(existing)
		if err != nil {
			return nil, fmt.Errorf("cassandra: take migration lock: %w", err)
		}
		if applied {
			return func() {
				c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				// Best effort: a lease left behind expires by its TTL.
				_, _ = session.Query(in(cqlReleaseLock), owner).WithContext(c).
					SerialConsistency(gocql.LocalSerial).MapScanCAS(map[string]any{})
			}, nil
		}
		holder, _ := existing["owner"].(string)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cassandra: waiting for migration lock held by %s: %w", holder, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ddlAttempts bounds the tries of one schema statement. A schema change on a
// busy node can outlast the request timeout while it still completes; the
// statements are written to be re-runnable (IF NOT EXISTS), so a timed-out
// one is simply tried again.
const ddlAttempts = 6

// DDL runs a schema statement and waits until every node agrees on the
// schema, so the next statement (or the service) sees it.
func DDL(ctx context.Context, session *gocql.Session, stmt string) error {
	var err error
	for attempt := 1; attempt <= ddlAttempts; attempt++ {
		if err = session.Query(stmt).WithContext(ctx).Idempotent(true).Exec(); err == nil {
			err = session.AwaitSchemaAgreement(ctx)
		}
		if err == nil || !transientDDLError(err) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("cassandra: %s: %w", firstLine(stmt), err)
	}
	return nil
}

// transientDDLError tells a timeout or an unavailable node, worth another
// try, from a statement Cassandra refuses, which would fail again.
func transientDDLError(err error) bool {
	var (
		invalid      *gocql.RequestErrInvalid
		syntax       *gocql.RequestErrSyntax
		unauthorized *gocql.RequestErrUnauthorized
		config       *gocql.RequestErrConfig
		exists       *gocql.RequestErrAlreadyExists
	)
	return !errors.As(err, &invalid) && !errors.As(err, &syntax) && !errors.As(err, &unauthorized) &&
		!errors.As(err, &config) && !errors.As(err, &exists)
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
