package http_test

import (
	"testing"
)

func TestRosterMemberAndMemberships200ForServices(t *testing.T) {
	e := newEnv(t)
	u := e.users(3)
	g := e.create(u[0], u[1])
	r := e.must(200, as{}, "GET", "/internal/v1/rosters/"+g.String(), nil)
	ms := r["members"].([]any)
	if r["group"] != g.String() || r["version"] != 1.0 || len(ms) != 2 || ms[0].(map[string]any)["role"] != "owner" ||
		ms[1].(map[string]any)["joined_at_ms"].(float64) <= 0 {
		t.Fatalf("roster = %v", r)
	}
	m := e.must(200, as{}, "GET", "/internal/v1/rosters/"+g.String()+"/members/"+u[1].String(), nil)
	if m["user"] != u[1].String() || m["role"] != "member" {
		t.Fatalf("member = %v", m)
	}
	if code, _ := e.call(as{}, "GET", "/internal/v1/rosters/"+g.String()+"/members/"+u[2].String(), nil); code != 404 {
		t.Fatalf("non-member = %d", code)
	}
	if code, _ := e.call(as{}, "GET", "/internal/v1/rosters/12345", nil); code != 404 {
		t.Fatalf("unknown roster = %d", code)
	}
	out := e.must(200, as{}, "GET", "/internal/v1/memberships/"+u[1].String(), nil)
	if gs := out["groups"].([]any); len(gs) != 1 || gs[0].(map[string]any)["group"] != g.String() {
		t.Fatalf("memberships = %v", out)
	}
	if out := e.must(200, as{}, "GET", "/internal/v1/memberships/"+u[2].String(), nil); len(out["groups"].([]any)) != 0 {
		t.Fatalf("memberships of a non-member = %v", out)
	}
	e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[2])})
	if r := e.must(200, as{}, "GET", "/internal/v1/rosters/"+g.String(), nil); r["version"] != 2.0 || len(r["members"].([]any)) != 3 {
		t.Fatalf("roster after add = %v", r)
	}
	if code, _ := e.do(as{}, "GET", "/internal/v1/rosters/"+g.String(), nil, false); code != 401 {
		t.Fatalf("roster without a service token = %d", code)
	}
}

func TestEventsWaitOutAMessagesOutageAndArriveInOrderOnce(t *testing.T) {
	e := newEnv(t)
	u := e.users(3)
	e.messages.setDown(true)
	g := e.create(u[0])
	e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[1])})
	e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[2])})
	if err := e.uc.DispatchPending(t.Context()); err == nil {
		t.Fatal("dispatch succeeded while messagesvc was down")
	}
	if got := e.messages.kinds(g); len(got) != 0 {
		t.Fatalf("delivered while down: %v", got)
	}
	// The change itself is done and readable while its event waits.
	if r := e.must(200, as{}, "GET", "/internal/v1/rosters/"+g.String(), nil); len(r["members"].([]any)) != 3 {
		t.Fatalf("roster = %v", r)
	}
	e.messages.setDown(false)
	e.dispatch()
	e.dispatch() // nothing left: nothing posted twice
	want := []string{"group_created", "member_added", "member_added"}
	if got := e.messages.kinds(g); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("events %v, want %v", got, want)
	}
	if ev := e.messages.last(g); ev.RosterVersion != 3 || ev.Users[0] != u[2] {
		t.Fatalf("last event = %+v", ev)
	}
}

func TestEventMessagesvcRejectsIsDroppedAndLaterEventsFlow(t *testing.T) {
	e := newEnv(t)
	u := e.users(2)
	e.messages.mu.Lock()
	e.messages.reject = "group_renamed"
	e.messages.mu.Unlock()
	g := e.create(u[0])
	e.must(200, as{user: u[0]}, "PATCH", gpath(g, ""), map[string]any{"name": "other"})
	e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[1])})
	e.dispatch()
	if got := e.messages.kinds(g); len(got) != 2 || got[0] != "group_created" || got[1] != "member_added" {
		t.Fatalf("events %v, want the rejected rename skipped", got)
	}
	if evs, _ := e.store.Outbox(t.Context(), g); len(evs) != 0 {
		t.Fatalf("outbox = %v", evs)
	}
}
