package cassandra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/stackenv"
)

func TestUnknownCASOutcomeIsSettledBySerialRead(t *testing.T) {
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	cfg := Config{Hosts: stackenv.Split(env[stackenv.CassandraHosts]), DC: env[stackenv.CassandraDC],
		Keyspace: fmt.Sprintf("groupsvc_outcome_%d", rand.Uint32()), Timeout: 10 * time.Second, ConnectTimeout: 10 * time.Second}
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Cleanup(func() { _ = DropKeyspace(context.Background(), cfg) })
	if err := Migrate(ctx, cfg, logger); err != nil {
		t.Fatal(err)
	}
	s, err := Open(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	gen, _ := ids.NewGenerator(5)
	g := entity.Group{ID: gen.Next(), Name: "n", Version: 1, MemberCount: 1, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	event := func(version int64) entity.Event {
		return entity.Event{GroupEvent: groupapi.GroupEvent{Group: g.ID, EventID: gen.Next(), Kind: groupapi.EventGroupUpdated, RosterVersion: version}}
	}
	create := usecase.Change{Group: g, Events: []entity.Event{event(1)}}
	if err := s.Apply(ctx, create); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("paxos timed out")
	if applied, err := s.outcome(ctx, create, cause); !applied || err != nil {
		t.Fatalf("applied change: %v, %v", applied, err)
	}
	next := g
	next.Version = 2
	if applied, err := s.outcome(ctx, usecase.Change{Group: next, Expect: 1, Events: []entity.Event{event(2)}}, cause); applied || err != nil {
		t.Fatalf("change that did not apply: %v, %v (want a conflict to retry)", applied, err)
	}
	next.Version = 6
	if applied, err := s.outcome(ctx, usecase.Change{Group: next, Expect: 5, Events: []entity.Event{event(6)}}, cause); applied || err != cause {
		t.Fatalf("unknowable outcome: %v, %v (want the cause)", applied, err)
	}
	if !casUnknown(&gocql.RequestErrWriteTimeout{WriteType: "CAS"}) || casUnknown(&gocql.RequestErrWriteTimeout{WriteType: "SIMPLE"}) ||
		!casUnknown(fmt.Errorf("wrapped: %w", &gocql.RequestErrCASWriteUnknown{})) || casUnknown(cause) {
		t.Fatal("casUnknown classification")
	}
}
