package cassandra_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/messagesvc/internal/store/cassandra"
	"github.com/parleychat/parley/messagesvc/internal/store/storetest"
	"github.com/parleychat/parley/shared/stackenv"
)

type stack struct {
	hosts []string
	dc    string
}

func requireStack(t testing.TB) stack {
	t.Helper()
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	return stack{stackenv.Split(env[stackenv.CassandraHosts]), env[stackenv.CassandraDC]}
}

func randomKeyspace() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "messagesvc_test_" + hex.EncodeToString(b[:])
}

// connect opens a session not bound to any keyspace.
func connect(t testing.TB, st stack) *gocql.Session {
	t.Helper()
	session, err := cassandra.Connect(cassandra.NewCluster(st.hosts, st.dc, "", 10*time.Second))
	if err != nil {
		t.Fatalf("connect to %v: %v", st.hosts, err)
	}
	return session
}

// freshKeyspace creates and migrates (twice) a keyspace for this test and
// drops it at the end.
func freshKeyspace(t testing.TB) (stack, string) {
	t.Helper()
	st := requireStack(t)
	admin := connect(t, st)
	ks := randomKeyspace()
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cassandra.DropKeyspace(ctx, admin, ks); err != nil {
			t.Logf("drop keyspace %s: %v", ks, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for run := 1; run <= 2; run++ {
		if err := cassandra.Migrate(ctx, admin, ks, cassandra.DefaultReplication(st.dc)); err != nil {
			t.Fatalf("migrate (run %d): %v", run, err)
		}
	}
	return st, ks
}

// newStore opens a store with its own session on keyspace ks.
func newStore(t testing.TB, st stack, ks string) *cassandra.Store {
	t.Helper()
	s, err := cassandra.New(connect(t, st), ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestCassandraContract(t *testing.T) {
	st, ks := freshKeyspace(t)
	s := newStore(t, st, ks)
	// One keyspace and session for the run; cases isolate by fresh ids.
	storetest.Run(t, func(*testing.T) store.Store { return s })
}
