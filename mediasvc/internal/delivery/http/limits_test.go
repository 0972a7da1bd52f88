package http_test

import (
	"testing"
)

func TestSetLimitsWithoutAdmin403(t *testing.T) {
	e := newEnv(t)
	r := e.call("PUT", "/admin/limits", as(newUser()), jsonBody(map[string]any{"limits": map[string]int64{"text/plain": 1}}))
	check(t, r, 403, "permission_denied")
	check(t, e.call("POST", "/admin/cleanup", as(newUser())), 403, "permission_denied")
}

func TestSetLimits200AppliesToUploadsAndPersists(t *testing.T) {
	e := newEnv(t)
	admin, alice := newUser("admin"), newUser()
	check(t, e.call("POST", "", as(alice), raw(textOf(20))), 201, "")
	r := e.call("PUT", "/admin/limits", as(admin), jsonBody(map[string]any{"limits": map[string]int64{"text/plain": 10, "application/zip": 0}}))
	check(t, r, 200, "")
	if r.str("limits", "text/plain") != "10" {
		t.Fatalf("limits = %s", r.raw)
	}
	up := e.call("POST", "", as(alice), raw(textOf(20)))
	check(t, up, 413, "payload_too_large")
	if up.detail("limit_bytes") != "10" {
		t.Fatalf("details = %s", up.raw)
	}
	check(t, e.call("POST", "", as(alice), raw(zipLike(100))), 400, "invalid_argument") // 0 refuses the type
	if stored, _ := e.meta.Limits(t.Context()); stored["text/plain"] != 10 {
		t.Fatalf("stored = %v", stored)
	}
	g := e.call("GET", "/limits", as(alice))
	check(t, g, 200, "")
	if g.str("limits", "text/plain") != "10" {
		t.Fatalf("GET limits = %s", g.raw)
	}
	// {} drops the overrides: the configuration applies again.
	check(t, e.call("PUT", "/admin/limits", as(admin), jsonBody(map[string]any{"limits": map[string]int64{}})), 200, "")
	check(t, e.call("POST", "", as(alice), raw(textOf(20))), 201, "")
}

func TestSetLimitsBadInput400(t *testing.T) {
	e := newEnv(t)
	admin := newUser("admin")
	for _, body := range []map[string]any{
		{"limits": map[string]int64{"text/html": 10}},
		{"limits": map[string]int64{"image/png": -1}},
		{"limits": map[string]int64{"image/png": 6 << 30}},
		{},
	} {
		check(t, e.call("PUT", "/admin/limits", as(admin), jsonBody(body)), 400, "invalid_argument")
	}
}
