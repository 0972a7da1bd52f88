package http_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRefresh200RotatesBothTokens(t *testing.T) {
	e := newEnv(t)
	e.register("alice")
	s := e.mustSignIn("alice")
	e.clock.Add(time.Minute)
	r := e.refresh(s.Refresh)
	e.expect(r, 200, "")
	next := toSession(r)
	if next.Refresh == s.Refresh || next.Access == s.Access || next.DeviceID != s.DeviceID || next.UserID != s.UserID {
		t.Fatalf("refresh did not rotate: %+v → %+v", s, next)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatal("token response cacheable")
	}
	if _, err := e.verifier().Verify(context.Background(), next.Access); err != nil {
		t.Fatal(err)
	}
	e.expect(e.refresh(next.Refresh), 200, "")
}

// TestRefreshReuse401RevokesWholeSession is the refresh-token reuse test: a
// token presented a second time kills its session, including the successor
// the legitimate holder (or the thief) got.
func TestRefreshReuse401RevokesWholeSession(t *testing.T) {
	e := newEnv(t)
	e.register("bob")
	s := e.mustSignIn("bob")
	other := e.mustSignIn("bob") // another device: must survive
	rotated := toSession(e.refresh(s.Refresh))

	reuse := e.refresh(s.Refresh)
	e.expect(reuse, 401, "unauthenticated")
	if !strings.Contains(reuse.message(), "already used") {
		t.Fatalf("reuse message = %q", reuse.message())
	}
	successor := e.refresh(rotated.Refresh)
	e.expect(successor, 401, "unauthenticated")
	if !strings.Contains(successor.message(), "signed out") {
		t.Fatalf("successor message = %q", successor.message())
	}
	if v := e.metric("authsvc_refresh_reuse_detected_total"); v != "1" {
		t.Fatalf("reuse counter = %q", v)
	}
	r := e.call("GET", "/devices", nil, as(other))
	if strings.Contains(string(r.raw), s.DeviceID) || !strings.Contains(string(r.raw), other.DeviceID) {
		t.Fatalf("devices after reuse = %s", r.raw)
	}
	e.expect(e.refresh(other.Refresh), 200, "")
}

func TestRefreshAfterSignOut401(t *testing.T) {
	e := newEnv(t)
	e.register("carol")
	s := e.mustSignIn("carol")
	e.expect(e.call("POST", "/sign-out", nil, as(s)), 204, "")
	e.expect(e.refresh(s.Refresh), 401, "unauthenticated")
}

func TestRefreshExpired401(t *testing.T) {
	e := newEnv(t)
	e.register("dave")
	s := e.mustSignIn("dave")
	e.clock.Add(30 * 24 * time.Hour)
	r := e.refresh(s.Refresh)
	e.expect(r, 401, "unauthenticated")
	if !strings.Contains(r.message(), "expired") {
		t.Fatalf("message = %q", r.message())
	}
	if v := e.metric(`authsvc_refreshes_total{outcome="expired"}`); v != "1" {
		t.Fatalf("expired counter = %q", v)
	}
}

func TestRefreshBadInput(t *testing.T) {
	e := newEnv(t)
	for name, c := range map[string]struct {
		body   string
		status int
		code   string
	}{
		"malformed JSON":  {`{"refresh_token":`, 400, "invalid_argument"},
		"missing token":   {`{}`, 400, "invalid_argument"},
		"garbage token":   {`{"refresh_token":"not-a-token"}`, 401, "unauthenticated"},
		"unknown token":   {`{"refresh_token":"` + strings.Repeat("A", 43) + `"}`, 401, "unauthenticated"},
		"oversized token": {`{"refresh_token":"` + strings.Repeat("A", 10000) + `"}`, 413, "payload_too_large"},
	} {
		t.Run(name, func(t *testing.T) {
			check(t, e.call("POST", "/refresh", nil, rawBody(c.body)), c.status, c.code)
		})
	}
}

func TestRefreshCarriesRolesGrantedSinceSignIn(t *testing.T) {
	e := newEnv(t)
	adminID := e.register("root")
	if err := promote(e, adminID); err != nil {
		t.Fatal(err)
	}
	admin := e.mustSignIn("root")
	uid := e.register("erin")
	s := e.mustSignIn("erin")
	e.expect(e.call("PUT", "/admin/users/"+uid+"/roles", map[string]any{"roles": []string{"admin"}}, as(admin)), 200, "")
	r := e.refresh(s.Refresh)
	e.expect(r, 200, "")
	claims, err := e.verifier().Verify(context.Background(), toSession(r).Access)
	if err != nil || !slices.Equal(claims.Roles, []string{"admin"}) {
		t.Fatalf("claims after refresh = %+v, %v", claims, err)
	}
}
