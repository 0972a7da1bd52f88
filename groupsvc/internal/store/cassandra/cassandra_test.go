package cassandra_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/groupsvc/internal/store/cassandra"
	"github.com/parleychat/parley/groupsvc/internal/store/storetest"
	"github.com/parleychat/parley/shared/stackenv"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freshKeyspace migrates a new keyspace for this test (twice: migrations
// must be re-runnable) and drops it at the end.
func freshKeyspace(t *testing.T) cassandra.Config {
	t.Helper()
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	cfg := cassandra.Config{
		Hosts: stackenv.Split(env[stackenv.CassandraHosts]), DC: env[stackenv.CassandraDC],
		Keyspace: "groupsvc_test_" + random(6), Timeout: 10 * time.Second, ConnectTimeout: 10 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cassandra.DropKeyspace(ctx, cfg); err != nil {
			t.Logf("drop keyspace %s: %v", cfg.Keyspace, err)
		}
	})
	for range 2 {
		if err := cassandra.Migrate(ctx, cfg, discard); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	return cfg
}

func TestCassandraContract(t *testing.T) {
	cfg := freshKeyspace(t)
	st, err := cassandra.Open(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// One keyspace for the run; each case gets its own limits scope.
	storetest.Run(t, func(*testing.T) storetest.Store { return st.WithScope("test-" + random(4)) })
}

func TestMigrateTwiceRecordsEachVersionOnce(t *testing.T) {
	cfg := freshKeyspace(t)
	all, err := cassandra.Migrations()
	if err != nil || len(all) == 0 {
		t.Fatalf("migrations: %v %v", all, err)
	}
	cluster := gocql.NewCluster(cfg.Hosts...)
	cluster.Keyspace = cfg.Keyspace
	s, err := cluster.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.Query(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(all) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(all))
	}
	for i, m := range all {
		if m.Version != i+1 || len(m.Statements) != 4 {
			t.Fatalf("migration %d: %d statements, want 4", m.Version, len(m.Statements))
		}
	}
}
