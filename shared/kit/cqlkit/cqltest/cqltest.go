// Package cqltest gives the Cassandra adapters' tests one way to get a
// fresh keyspace on the local test stack and to check its migrations.
package cqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/kit/cqlkit"
	"github.com/parleychat/parley/shared/stackenv"
)

// Random returns n random bytes in hex, for names unique to one test.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Keyspace returns the settings of a new keyspace, prefix plus a random
// suffix, on the stack's Cassandra, migrated twice by migrate (migrations
// must be re-runnable) and dropped when the test ends. Like every test
// that needs the stack, it fails when Cassandra is not configured, unless
// the quick run was asked for (stackenv.Require).
func Keyspace(t testing.TB, prefix string, migrate func(context.Context, cqlkit.Config) error) cqlkit.Config {
	t.Helper()
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	cfg := cqlkit.Config{
		Hosts: stackenv.Split(env[stackenv.CassandraHosts]), DC: env[stackenv.CassandraDC],
		Keyspace: prefix + Random(6), Timeout: 10 * time.Second, ConnectTimeout: 10 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cqlkit.DropKeyspace(ctx, cfg); err != nil {
			t.Logf("drop keyspace %s: %v", cfg.Keyspace, err)
		}
	})
	for range 2 {
		if err := migrate(ctx, cfg); err != nil {
			t.Fatalf("migrate %s: %v", cfg.Keyspace, err)
		}
	}
	return cfg
}

// CheckMigrations fails the test unless all is numbered 1, 2, … with
// statements in each, and cfg's keyspace recorded each of them exactly once.
func CheckMigrations(t testing.TB, cfg cqlkit.Config, all []cqlkit.Migration) {
	t.Helper()
	if len(all) == 0 {
		t.Fatal("no migrations")
	}
	for i, m := range all {
		if m.Version != i+1 || len(m.Statements) == 0 {
			t.Fatalf("migration %d: version %d with %d statements", i, m.Version, len(m.Statements))
		}
	}
	s, err := cqlkit.Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.Query(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(all) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(all))
	}
}
