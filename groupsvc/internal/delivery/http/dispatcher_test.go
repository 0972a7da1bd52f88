package http_test

import (
	"context"
	"slices"
	"testing"
	"time"
)

// eventually polls cond until it holds or wait passes.
func eventually(t *testing.T, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDispatcherPostsAtOnceAndRetriesAfterAnOutage(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.uc.RunDispatcher(ctx, 50*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })

	u := e.users(3)
	g := e.create(u[0])
	eventually(t, 2*time.Second, "group_created posted", func() bool { return len(e.messages.kinds(g)) == 1 })

	e.messages.setDown(true)
	e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[1])})
	e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[2])})
	time.Sleep(300 * time.Millisecond)
	if got := e.messages.kinds(g); len(got) != 1 {
		t.Fatalf("posted while messagesvc was down: %v", got)
	}
	e.messages.setDown(false)
	want := []string{"group_created", "member_added", "member_added"}
	eventually(t, 5*time.Second, "events after the outage", func() bool { return slices.Equal(e.messages.kinds(g), want) })
	if ev := e.messages.last(g); ev.RosterVersion != 3 {
		t.Fatalf("last event = %+v, want version 3 (in order)", ev)
	}
	eventually(t, 2*time.Second, "outbox empty", func() bool {
		evs, err := e.store.Outbox(context.Background(), g)
		return err == nil && len(evs) == 0
	})
}
