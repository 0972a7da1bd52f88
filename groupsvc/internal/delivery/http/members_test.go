package http_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

func ids2s(us ...ids.ID) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}

func TestAdd200SkipsExistingMembersAndPostsOnlyTheNewOnes(t *testing.T) {
	e := newEnv(t)
	u := e.users(4)
	g := e.create(u[0])
	out := e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[1], u[2])})
	if len(out["added"].([]any)) != 2 || group(out)["member_count"] != 3.0 {
		t.Fatalf("first add = %v", out)
	}
	out = e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[2], u[3])})
	added := out["added"].([]any)
	if len(added) != 1 || added[0].(map[string]any)["user_id"] != u[3].String() ||
		!slices.Equal(out["already_members"].([]any), []any{u[2].String()}) || group(out)["member_count"] != 4.0 {
		t.Fatalf("second add = %v", out)
	}
	before := group(out)["roster_version"]
	out = e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[3])})
	if len(out["added"].([]any)) != 0 || group(out)["roster_version"] != before {
		t.Fatalf("a retried add changed something: %v", out)
	}
	e.dispatch()
	ev := e.messages.last(g)
	if want := []string{"group_created", "member_added", "member_added"}; !slices.Equal(e.messages.kinds(g), want) ||
		!slices.Equal(ev.Users, []ids.ID{u[3]}) || ev.RosterVersion != 3 {
		t.Fatalf("events %v, last %+v", e.messages.kinds(g), ev)
	}
}

func TestAddBadInput(t *testing.T) {
	e := newEnv(t)
	owner, member, other := e.user(), e.user(), e.user()
	ghost := e.ids.Next()
	g := e.create(owner, member)
	for _, c := range []struct {
		who  ids.ID
		body any
		code int
		err  string
	}{
		{member, map[string]any{"users": ids2s(other)}, 403, "permission_denied"},
		{owner, map[string]any{"users": ids2s(other, ghost)}, 404, "not_found"},
		{owner, map[string]any{"users": ids2s(other, other)}, 400, "invalid_argument"},
		{owner, map[string]any{"users": []string{}}, 400, "invalid_argument"},
		{owner, map[string]any{"users": []string{"-5"}}, 400, "invalid_argument"},
		{owner, map[string]any{"users": make([]string, 101)}, 400, "invalid_argument"},
		{owner, map[string]any{"user": ids2s(other)}, 400, "invalid_argument"},
	} {
		if code, out := e.call(as{user: c.who}, "POST", gpath(g, "/members"), c.body); code != c.code || errCode(out) != c.err {
			t.Errorf("add %v = %d %v, want %d %s", c.body, code, out, c.code, c.err)
		}
	}
	// Nothing of the refused batches was written.
	if out := e.must(200, as{user: owner}, "GET", gpath(g, ""), nil); group(out)["member_count"] != 2.0 {
		t.Fatalf("after refused adds: %v", out)
	}
}

func TestAddBeyondGroupLimit422AndLoweringBlocksJoinsEvictsNobody(t *testing.T) {
	e := newEnv(t)
	u := e.users(6)
	g := e.create(u[0], u[1], u[2])
	e.must(200, as{user: u[0]}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": 4})
	code, out := e.call(as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[3], u[4])})
	if code != 422 || errCode(out) != "limit_exceeded" || detail(out, "limit") != "group" || detail(out, "max") != "4" {
		t.Fatalf("add past the group limit = %d %v", code, out)
	}
	e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[3])})
	out = group(e.must(200, as{user: u[0]}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": 2}))
	if out["member_count"] != 4.0 || out["size_limit"] != 2.0 || out["effective_limit"] != 2.0 || out["limit_kind"] != "group" {
		t.Fatalf("lowered limit = %v", out)
	}
	if code, out := e.call(as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[5])}); code != 422 || detail(out, "max") != "2" {
		t.Fatalf("join under a lowered limit = %d %v", code, out)
	}
	if out := e.must(200, as{user: u[3]}, "GET", gpath(g, "/members"), nil); len(out["members"].([]any)) != 4 {
		t.Fatalf("lowering evicted someone: %v", out)
	}
}

func TestSetLimitOutsideTwoAndCeiling400_ByMember403(t *testing.T) {
	e := newEnv(t, withLimits(5, 10))
	owner, member := e.user(), e.user()
	g := e.create(owner, member)
	for _, n := range []int{1, 0, -3, 11} {
		code, out := e.call(as{user: owner}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": n})
		if code != 400 || detail(out, "field") != "size_limit" || detail(out, "min") != "2" || detail(out, "max") != "10" {
			t.Errorf("limit %d = %d %v", n, code, out)
		}
	}
	if code, _ := e.call(as{user: member}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": 5}); code != 403 {
		t.Fatalf("member sets limit = %d", code)
	}
}

func TestConcurrentAddsNeverPassTheLimit(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { concurrentAdds(t, newEnv(t)) })
	t.Run("cassandra", func(t *testing.T) { concurrentAdds(t, newEnv(t, withCassandra())) })
}

func concurrentAdds(t *testing.T, e *env) {
	owner := e.user()
	g := e.create(owner)
	e.must(200, as{user: owner}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": 10})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for _, u := range e.users(20) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := e.call(as{user: owner}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u)})
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	out := e.must(200, as{user: owner}, "GET", gpath(g, "/members?limit=100"), nil)
	if codes[200] != 9 || codes[422] != 11 || len(out["members"].([]any)) != 10 {
		t.Fatalf("answers %v, members %d; want 9×200, 11×422, 10 members", codes, len(out["members"].([]any)))
	}
}

func TestRemoveFollowsTheRoleRules(t *testing.T) {
	e := newEnv(t)
	owner, owner2, adm, adm2, m1, m2 := e.user(), e.user(), e.user(), e.user(), e.user(), e.user()
	g := e.create(owner, owner2, adm, adm2, m1, m2)
	for u, role := range map[ids.ID]string{owner2: "owner", adm: "admin", adm2: "admin"} {
		e.must(200, as{user: owner}, "PUT", gpath(g, "/members/"+u.String()+"/role"), map[string]any{"role": role})
	}
	rm := func(by, who ids.ID) (int, map[string]any) {
		return e.call(as{user: by}, "DELETE", gpath(g, "/members/"+who.String()), nil)
	}
	if code, _ := rm(m1, m2); code != 403 {
		t.Errorf("member removes member = %d, want 403", code)
	}
	if code, _ := rm(adm, adm2); code != 403 {
		t.Errorf("admin removes admin = %d, want 403", code)
	}
	if code, _ := rm(adm, owner); code != 403 {
		t.Errorf("admin removes owner = %d, want 403", code)
	}
	if code, _ := rm(adm, m1); code != 204 {
		t.Errorf("admin removes member = %d, want 204", code)
	}
	if code, _ := rm(owner, adm2); code != 204 {
		t.Errorf("owner removes admin = %d, want 204", code)
	}
	if code, _ := rm(owner, owner2); code != 204 {
		t.Errorf("owner removes another owner = %d, want 204", code)
	}
	if code, out := rm(owner, m1); code != 404 || detail(out, "user") != m1.String() {
		t.Errorf("removing a non-member = %d %v", code, out)
	}
	if code, _ := e.call(as{user: m1}, "GET", gpath(g, ""), nil); code != 404 {
		t.Errorf("removed member still sees the group: %d", code)
	}
	e.dispatch()
	ev := e.messages.last(g)
	if ev.Kind != groupapi.EventMemberRemoved || !slices.Equal(ev.Removed, []ids.ID{owner2}) || ev.Actor != owner {
		t.Fatalf("last event = %+v", ev)
	}
}

func TestLeave204_LastOwner412UntilHandedOver(t *testing.T) {
	e := newEnv(t)
	owner, m := e.user(), e.user()
	g := e.create(owner, m)
	code, out := e.call(as{user: owner}, "POST", gpath(g, "/leave"), nil)
	if code != 412 || errCode(out) != "failed_precondition" || detail(out, "reason") != "last_owner" {
		t.Fatalf("last owner leaves = %d %v", code, out)
	}
	if code, _ := e.call(as{user: owner}, "DELETE", gpath(g, "/members/"+owner.String()), nil); code != 412 {
		t.Fatalf("last owner removes self = %d", code)
	}
	e.must(200, as{user: owner}, "PUT", gpath(g, "/members/"+m.String()+"/role"), map[string]any{"role": "owner"})
	e.must(204, as{user: owner}, "POST", gpath(g, "/leave"), nil)
	if code, _ := e.call(as{user: owner}, "GET", gpath(g, ""), nil); code != 404 {
		t.Fatalf("left member = %d", code)
	}
	if code, _ := e.call(as{user: owner}, "POST", gpath(g, "/leave"), nil); code != 404 {
		t.Fatalf("leaving twice = %d", code)
	}
	e.dispatch()
	if ev := e.messages.last(g); ev.Kind != groupapi.EventMemberLeft || !slices.Equal(ev.Removed, []ids.ID{owner}) {
		t.Fatalf("leave event = %+v", ev)
	}
}

func TestChangeRole200ByOwnerOnly(t *testing.T) {
	e := newEnv(t)
	owner, adm, m := e.user(), e.user(), e.user()
	g := e.create(owner, adm, m)
	out := e.must(200, as{user: owner}, "PUT", gpath(g, "/members/"+adm.String()+"/role"), map[string]any{"role": "admin"})
	if out["member"].(map[string]any)["role"] != "admin" {
		t.Fatalf("promote = %v", out)
	}
	if code, _ := e.call(as{user: adm}, "PUT", gpath(g, "/members/"+m.String()+"/role"), map[string]any{"role": "admin"}); code != 403 {
		t.Fatalf("admin promotes = %d, want 403", code)
	}
	if code, out := e.call(as{user: owner}, "PUT", gpath(g, "/members/"+m.String()+"/role"), map[string]any{"role": "king"}); code != 400 || detail(out, "field") != "role" {
		t.Fatalf("bad role = %d %v", code, out)
	}
	if code, out := e.call(as{user: owner}, "PUT", gpath(g, "/members/"+owner.String()+"/role"), map[string]any{"role": "member"}); code != 412 || detail(out, "reason") != "last_owner" {
		t.Fatalf("last owner demotes self = %d %v", code, out)
	}
	if code, _ := e.call(as{user: owner}, "PUT", gpath(g, "/members/"+e.user().String()+"/role"), map[string]any{"role": "admin"}); code != 404 {
		t.Fatalf("role of a non-member = %d", code)
	}
	e.dispatch()
	if ev := e.messages.last(g); ev.Kind != groupapi.EventRoleChanged || !slices.Equal(ev.Users, []ids.ID{adm}) {
		t.Fatalf("role event = %+v", ev)
	}
	r := e.must(200, as{}, "GET", "/internal/v1/memberships/"+adm.String(), nil)
	if r["groups"].([]any)[0].(map[string]any)["role"] != "admin" {
		t.Fatalf("index not updated: %v", r)
	}
}
