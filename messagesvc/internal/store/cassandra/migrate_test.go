package cassandra_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/store/cassandra"
)

func TestMigrateConcurrentlyAndAgainRecordsEachVersionOnce(t *testing.T) {
	st := requireStack(t)
	admin := connect(t, st)
	defer admin.Close()
	ks := randomKeyspace()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Cleanup(func() { _ = cassandra.DropKeyspace(context.Background(), admin, ks) })
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = cassandra.Migrate(ctx, admin, ks, cassandra.DefaultReplication(st.dc)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate %d: %v", i, err)
		}
	}
	if err := cassandra.Migrate(ctx, admin, ks, ""); err != nil { // the keyspace exists now
		t.Fatalf("migrate again: %v", err)
	}
	all, err := cassandra.Migrations()
	if err != nil || len(all) == 0 {
		t.Fatalf("migrations: %v %v", all, err)
	}
	var n int
	if err := admin.Query(`SELECT COUNT(*) FROM ` + ks + `.schema_migrations`).WithContext(ctx).Scan(&n); err != nil || n != len(all) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(all))
	}
	s := newStore(t, st, ks)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestMigrateRejectsBadNames(t *testing.T) {
	ctx := context.Background()
	for _, ks := range []string{"", "Bad", "a;drop", "x-y"} {
		if err := cassandra.Migrate(ctx, nil, ks, ""); err == nil || !strings.Contains(err.Error(), "keyspace") {
			t.Errorf("Migrate(%q) = %v", ks, err)
		}
	}
	if _, err := cassandra.New(nil, "a b"); err == nil {
		t.Error("New accepted a bad keyspace")
	}
}

func TestMigrationsAreNumberedAndSplit(t *testing.T) {
	all, err := cassandra.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range all {
		if m.Version != i+1 || len(m.Statements) == 0 {
			t.Fatalf("migration %d: %+v", i, m)
		}
		for _, st := range m.Statements {
			alter := strings.HasPrefix(st, "ALTER TABLE {keyspace}.") && strings.Contains(st, " ADD IF NOT EXISTS ")
			if !strings.Contains(st, "IF NOT EXISTS {keyspace}.") && !alter {
				t.Errorf("migration %d statement is not a re-runnable, keyspace-qualified create or column add: %s", m.Version, st)
			}
		}
	}
	if got := len(all[0].Statements); got != 8 {
		t.Fatalf("0001 has %d statements, want 8", got)
	}
}
