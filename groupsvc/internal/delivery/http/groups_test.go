package http_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

func TestCreate201MakesCallerOwnerAndPostsGroupCreated(t *testing.T) {
	e := newEnv(t)
	u := e.users(3)
	out := e.must(201, as{user: u[0]}, "POST", "/internal/v1/groups", map[string]any{
		"name": "  Climbing  ", "topic": "Saturdays", "avatar": "12345", "members": []string{u[1].String(), u[2].String()}})
	g := group(out)
	if g["name"] != "Climbing" || g["topic"] != "Saturdays" || g["avatar"] != "12345" || g["member_count"] != 3.0 ||
		g["role"] != "owner" || g["effective_limit"] != 50.0 || g["limit_kind"] != "platform" || g["roster_version"] != 1.0 {
		t.Fatalf("created group = %v", g)
	}
	id, _ := ids.Parse(g["id"].(string))
	got := group(e.must(200, as{user: u[2]}, "GET", gpath(id, ""), nil))
	if got["role"] != "member" || got["name"] != "Climbing" {
		t.Fatalf("as a member = %v", got)
	}
	e.dispatch()
	ev := e.messages.last(id)
	if ev.Kind != groupapi.EventGroupCreated || ev.Actor != u[0] || ev.Name != "Climbing" || !slices.Equal(ev.Users, u) || ev.RosterVersion != 1 {
		t.Fatalf("event = %+v", ev)
	}
}

func TestCreateWithUnknownUser404WritesNothing(t *testing.T) {
	e := newEnv(t)
	owner, ghost := e.user(), e.ids.Next()
	code, out := e.call(as{user: owner}, "POST", "/internal/v1/groups", map[string]any{"name": "x", "members": []string{ghost.String()}})
	if code != 404 || errCode(out) != "not_found" || detail(out, "user") != ghost.String() {
		t.Fatalf("create with a ghost = %d %v", code, out)
	}
	if out := e.must(200, as{user: owner}, "GET", "/internal/v1/groups", nil); len(out["groups"].([]any)) != 0 {
		t.Fatalf("a group was half-created: %v", out)
	}
}

func TestCreateBadInput400NamesTheField(t *testing.T) {
	e := newEnv(t)
	owner, other := e.user(), e.user()
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"name": "  "}, "name"},
		{map[string]any{"name": strings.Repeat("n", 101)}, "name"},
		{map[string]any{"name": "a\x00b"}, "name"},
		{map[string]any{"name": "x", "topic": strings.Repeat("t", 501)}, "topic"},
		{map[string]any{"name": "x", "avatar": "not-an-id"}, "avatar"},
		{map[string]any{"name": "x", "size_limit": 1}, "size_limit"},
		{map[string]any{"name": "x", "size_limit": 201}, "size_limit"},
		{map[string]any{"name": "x", "members": []string{other.String(), other.String()}}, ""},
		{map[string]any{"name": "x", "bogus": 1}, ""},
		{`{"name":"x"} trailing`, ""},
	} {
		code, out := e.call(as{user: owner}, "POST", "/internal/v1/groups", c.body)
		if code != 400 || errCode(out) != "invalid_argument" || (c.field != "" && detail(out, "field") != c.field) {
			t.Errorf("%v = %d %v, want 400 on %q", c.body, code, out, c.field)
		}
	}
}

func TestCreateAboveDefaultLimit422SaysPlatform(t *testing.T) {
	e := newEnv(t, withLimits(3, 10))
	u := e.users(4)
	code, out := e.call(as{user: u[0]}, "POST", "/internal/v1/groups", map[string]any{"name": "x", "members": u[1:]})
	if code != 422 || errCode(out) != "limit_exceeded" || detail(out, "limit") != "platform" || detail(out, "max") != "3" {
		t.Fatalf("create of 4 with a default of 3 = %d %v", code, out)
	}
}

func TestGroupOfOthersIs404AndWithoutIdentity401(t *testing.T) {
	e := newEnv(t)
	owner, stranger := e.user(), e.user()
	g := e.create(owner)
	for _, p := range []string{gpath(g, ""), gpath(g, "/members"), gpath(ids.ID(999), ""), "/internal/v1/groups/abc"} {
		if code, out := e.call(as{user: stranger}, "GET", p, nil); code != 404 || errCode(out) != "not_found" {
			t.Errorf("stranger GET %s = %d %v", p, code, out)
		}
	}
	if code, _ := e.call(as{}, "GET", gpath(g, ""), nil); code != 401 {
		t.Fatalf("no identity = %d", code)
	}
	if code, _ := e.do(as{user: owner}, "GET", gpath(g, ""), nil, false); code != 401 {
		t.Fatalf("no service token = %d", code)
	}
}

func TestUpdate200RenamesAndSetsTopicWithOneEventEach(t *testing.T) {
	e := newEnv(t)
	owner, adm := e.user(), e.user()
	g := e.create(owner, adm)
	e.must(200, as{user: owner}, "PUT", gpath(g, "/members/"+adm.String()+"/role"), map[string]any{"role": "admin"})
	out := group(e.must(200, as{user: adm}, "PATCH", gpath(g, ""), map[string]any{"name": "Renamed", "topic": "new", "avatar": "77"}))
	if out["name"] != "Renamed" || out["topic"] != "new" || out["avatar"] != "77" || out["role"] != "admin" {
		t.Fatalf("updated = %v", out)
	}
	out = group(e.must(200, as{user: owner}, "PATCH", gpath(g, ""), map[string]any{"avatar": ""}))
	if _, has := out["avatar"]; has {
		t.Fatalf("avatar not cleared: %v", out)
	}
	before := out["roster_version"]
	out = group(e.must(200, as{user: owner}, "PATCH", gpath(g, ""), map[string]any{"name": "Renamed"}))
	if out["roster_version"] != before {
		t.Fatalf("an unchanged name wrote a change: %v -> %v", before, out["roster_version"])
	}
	e.dispatch()
	want := []string{"group_created", "role_changed", "group_renamed", "group_updated", "group_updated"}
	if got := e.messages.kinds(g); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestUpdateByPlainMember403AndEmptyPatch400(t *testing.T) {
	e := newEnv(t)
	owner, member := e.user(), e.user()
	g := e.create(owner, member)
	if code, out := e.call(as{user: member}, "PATCH", gpath(g, ""), map[string]any{"name": "mine"}); code != 403 || errCode(out) != "permission_denied" {
		t.Fatalf("member rename = %d %v", code, out)
	}
	if code, _ := e.call(as{user: owner}, "PATCH", gpath(g, ""), map[string]any{}); code != 400 {
		t.Fatalf("empty patch = %d", code)
	}
	if code, _ := e.call(as{user: owner}, "PATCH", gpath(g, ""), map[string]any{"topic": strings.Repeat("t", 501)}); code != 400 {
		t.Fatalf("long topic = %d", code)
	}
}

func TestDelete204ByOwnerOnly_MembersLoseAccessAndEventNamesThemAll(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { deleteFlow(t, newEnv(t)) })
	t.Run("cassandra", func(t *testing.T) { deleteFlow(t, newEnv(t, withCassandra())) })
}

func deleteFlow(t *testing.T, e *env) {
	owner, adm, member := e.user(), e.user(), e.user()
	g := e.create(owner, adm, member)
	e.must(200, as{user: owner}, "PUT", gpath(g, "/members/"+adm.String()+"/role"), map[string]any{"role": "admin"})
	if code, _ := e.call(as{user: adm}, "DELETE", gpath(g, ""), nil); code != 403 {
		t.Fatalf("admin delete = %d, want 403", code)
	}
	e.must(204, as{user: owner}, "DELETE", gpath(g, ""), nil)
	if code, _ := e.call(as{user: member}, "GET", gpath(g, ""), nil); code != 404 {
		t.Fatalf("deleted group = %d", code)
	}
	if code, _ := e.call(as{}, "GET", "/internal/v1/rosters/"+g.String(), nil); code != 404 {
		t.Fatalf("roster of a deleted group = %d", code)
	}
	e.dispatch()
	ev := e.messages.last(g)
	slices.Sort(ev.Removed)
	if ev.Kind != groupapi.EventGroupDeleted || !slices.Equal(ev.Removed, []ids.ID{owner, adm, member}) {
		t.Fatalf("delete event = %+v", ev)
	}
	if out := e.must(200, as{}, "GET", "/internal/v1/memberships/"+member.String(), nil); len(out["groups"].([]any)) != 0 {
		t.Fatalf("memberships after delete = %v", out)
	}
}

func TestMyGroups200PagesByGroupID(t *testing.T) {
	e := newEnv(t)
	me := e.user()
	var made []string
	for range 5 {
		made = append(made, e.create(e.user(), me).String())
	}
	var seen []string
	path := "/internal/v1/groups?limit=2"
	for {
		out := e.must(200, as{user: me}, "GET", path, nil)
		for _, g := range out["groups"].([]any) {
			seen = append(seen, g.(map[string]any)["id"].(string))
		}
		next, _ := out["next"].(string)
		if next == "" {
			break
		}
		path = "/internal/v1/groups?limit=2&after=" + next
	}
	if !slices.Equal(seen, made) {
		t.Fatalf("paged %v, want %v", seen, made)
	}
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?after=x"} {
		if code, _ := e.call(as{user: me}, "GET", "/internal/v1/groups"+q, nil); code != 400 {
			t.Errorf("%s = %d, want 400", q, code)
		}
	}
}

func TestMembers200PagesByUserID(t *testing.T) {
	e := newEnv(t)
	u := e.users(5)
	g := e.create(u[0], u[1:]...)
	out := e.must(200, as{user: u[3]}, "GET", gpath(g, "/members?limit=3"), nil)
	first := out["members"].([]any)
	next := out["next"].(string)
	out = e.must(200, as{user: u[3]}, "GET", gpath(g, "/members?limit=3&after="+next), nil)
	var got []string
	for _, m := range append(first, out["members"].([]any)...) {
		got = append(got, m.(map[string]any)["user_id"].(string))
	}
	var want []string
	for _, x := range u {
		want = append(want, x.String())
	}
	if !slices.Equal(got, want) || out["next"] != nil {
		t.Fatalf("members %v next %v, want %v", got, out["next"], want)
	}
	if first[0].(map[string]any)["role"] != "owner" {
		t.Fatalf("first member = %v", first[0])
	}
}

func TestStoreFailure503IsRetryable(t *testing.T) {
	e := newEnv(t)
	owner := e.user()
	g := e.create(owner)
	_ = e.store.Close()
	code, out := e.call(as{user: owner}, "GET", gpath(g, ""), nil)
	if code != 503 || errCode(out) != "unavailable" || out["error"].(map[string]any)["retryable"] != true {
		t.Fatalf("store down = %d %v", code, out)
	}
}

func TestUnknownRoute404(t *testing.T) {
	e := newEnv(t)
	if code, _ := e.call(as{user: e.user()}, "GET", fmt.Sprintf("/internal/v1/groups/%d/nothing", 5), nil); code != 404 {
		t.Fatalf("unknown route = %d", code)
	}
}
