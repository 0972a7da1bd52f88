package cassandra_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/parleychat/parley/groupsvc/internal/store/cassandra"
	"github.com/parleychat/parley/groupsvc/internal/store/storetest"
	"github.com/parleychat/parley/shared/kit/cqlkit/cqltest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// freshKeyspace migrates a new keyspace for this test (twice: migrations
// must be re-runnable) and drops it at the end.
func freshKeyspace(t *testing.T) cassandra.Config {
	return cqltest.Keyspace(t, "groupsvc_test_", func(ctx context.Context, cfg cassandra.Config) error {
		return cassandra.Migrate(ctx, cfg, discard)
	})
}

func TestCassandraContract(t *testing.T) {
	cfg := freshKeyspace(t)
	st, err := cassandra.Open(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// One keyspace for the run; each case gets its own limits scope.
	storetest.Run(t, func(*testing.T) storetest.Store { return st.WithScope("test-" + cqltest.Random(4)) })
}

func TestMigrateTwiceRecordsEachVersionOnce(t *testing.T) {
	cfg := freshKeyspace(t)
	all, err := cassandra.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	cqltest.CheckMigrations(t, cfg, all)
	for _, m := range all {
		if len(m.Statements) != 4 {
			t.Fatalf("migration %d: %d statements, want 4", m.Version, len(m.Statements))
		}
	}
}
