package http_test

import (
	"testing"
)

func TestPlatformLimits_ReadByAnyoneChangedByAdminsOnly(t *testing.T) {
	e := newEnv(t, withLimits(50, 200))
	root, user := e.user(), e.user()
	out := e.must(200, as{user: user}, "GET", "/internal/v1/groups/limits", nil)
	if out["default_limit"] != 50.0 || out["ceiling"] != 200.0 || out["min_limit"] != 2.0 || out["max_ceiling"] != nil {
		t.Fatalf("limits = %v", out)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/internal/v1/groups/admin/limits"}, {"PUT", "/internal/v1/groups/admin/limits"}, {"GET", "/internal/v1/groups/admin/audit"},
	} {
		if code, out := e.call(as{user: user}, c.method, c.path, map[string]any{"ceiling": 5}); code != 403 || errCode(out) != "permission_denied" {
			t.Errorf("non-admin %s %s = %d %v", c.method, c.path, code, out)
		}
	}
	out = e.must(200, admin(root), "GET", "/internal/v1/groups/admin/limits", nil)
	if out["max_ceiling"] != 1000.0 {
		t.Fatalf("admin limits = %v", out)
	}
	for _, body := range []map[string]any{{"ceiling": 1001}, {"ceiling": 1}, {"default_limit": 201}, {"default_limit": 1}, {}} {
		if code, out := e.call(admin(root), "PUT", "/internal/v1/groups/admin/limits", body); code != 400 || errCode(out) != "invalid_argument" {
			t.Errorf("set %v = %d %v", body, code, out)
		}
	}
	out = e.must(200, admin(root), "PUT", "/internal/v1/groups/admin/limits", map[string]any{"ceiling": 500})
	if out["ceiling"] != 500.0 || out["default_limit"] != 50.0 {
		t.Fatalf("after set = %v", out)
	}
	e.must(200, admin(root), "PUT", "/internal/v1/groups/admin/limits", map[string]any{"default_limit": 20, "ceiling": 400})
	e.must(200, admin(root), "PUT", "/internal/v1/groups/admin/limits", map[string]any{"ceiling": 400}) // no change: no entry

	audit := e.must(200, admin(root), "GET", "/internal/v1/groups/admin/audit?limit=2", nil)
	es := audit["entries"].([]any)
	first, second := es[0].(map[string]any), es[1].(map[string]any)
	if len(es) != 2 || first["field"] != "ceiling" || first["old"] != 500.0 || first["new"] != 400.0 || first["actor"] != root.String() ||
		second["field"] != "default_limit" || second["old"] != 50.0 || second["new"] != 20.0 || first["at"] == nil {
		t.Fatalf("audit page = %v", audit)
	}
	rest := e.must(200, admin(root), "GET", "/internal/v1/groups/admin/audit?before="+audit["next"].(string), nil)
	es = rest["entries"].([]any)
	if len(es) != 1 || es[0].(map[string]any)["old"] != 200.0 || es[0].(map[string]any)["new"] != 500.0 || rest["next"] != nil {
		t.Fatalf("audit rest = %v", rest)
	}
}

func TestLoweredCeilingCapsGroupLimits422Platform(t *testing.T) {
	e := newEnv(t, withLimits(50, 200))
	root := e.user()
	u := e.users(5)
	g := e.create(u[0], u[1], u[2])
	e.must(200, as{user: u[0]}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": 10})
	e.must(200, admin(root), "PUT", "/internal/v1/groups/admin/limits", map[string]any{"default_limit": 2, "ceiling": 3})
	out := group(e.must(200, as{user: u[0]}, "GET", gpath(g, ""), nil))
	if out["effective_limit"] != 3.0 || out["limit_kind"] != "platform" || out["size_limit"] != 10.0 {
		t.Fatalf("group under a lowered ceiling = %v", out)
	}
	code, body := e.call(as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[3])})
	if code != 422 || detail(body, "limit") != "platform" || detail(body, "max") != "3" {
		t.Fatalf("join above the ceiling = %d %v", code, body)
	}
	if code, body := e.call(as{user: u[0]}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": 4}); code != 400 || detail(body, "max") != "3" {
		t.Fatalf("group limit above the ceiling = %d %v", code, body)
	}
}
