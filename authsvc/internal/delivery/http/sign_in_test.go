package http_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/authsvc/internal/password"
)

func TestSignIn200IssuesTokensTheGatewayCanVerify(t *testing.T) {
	e := newEnv(t)
	id := e.register("alice")
	s, r := e.signIn("ALICE", goodPass, map[string]string{"device_name": "Alice's phone"})
	e.expect(r, 200, "")
	if r.header.Get("Cache-Control") != "no-store" || r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(900) {
		t.Fatalf("response = %v %s", r.header, r.raw)
	}
	if len(s.Refresh) != 43 || s.UserID != id || s.DeviceID == "" {
		t.Fatalf("session = %+v", s)
	}
	claims, err := e.verifier().Verify(context.Background(), s.Access)
	if err != nil {
		t.Fatal(err)
	}
	if claims.UserID.String() != id || claims.DeviceID != s.DeviceID || len(claims.Roles) != 0 ||
		!claims.ExpiresAt.Equal(e.clock.Now().Truncate(time.Second).Add(15*time.Minute)) {
		t.Fatalf("claims = %+v", claims)
	}
	devs := e.call("GET", "/devices", nil, as(s))
	e.expect(devs, 200, "")
	if !strings.Contains(string(devs.raw), `"name":"Alice's phone"`) || !strings.Contains(string(devs.raw), `"current":true`) {
		t.Fatalf("devices = %s", devs.raw)
	}
}

func TestSignInWrongPasswordAndUnknownUser401SameErrorSameWork(t *testing.T) {
	e := newEnv(t)
	e.register("bob")
	verifies := func() int {
		n, _ := strconv.Atoi(e.metric(`authsvc_argon2_duration_seconds_count{op="verify"}`))
		return n
	}
	before := verifies()
	_, wrong := e.signIn("bob", "not the password", nil)
	_, unknown := e.signIn("nobody", "not the password", nil)
	e.expect(wrong, 401, "unauthenticated")
	e.expect(unknown, 401, "unauthenticated")
	if string(wrong.raw) != string(unknown.raw) || wrong.message() != "invalid username or password" {
		t.Fatalf("answers differ: %s vs %s", wrong.raw, unknown.raw)
	}
	if got := verifies() - before; got != 2 {
		t.Fatalf("%d Argon2 verifications for two failed sign-ins, want 2 (unknown users hash a dummy)", got)
	}
	if v := e.metric(`authsvc_sign_ins_total{outcome="invalid_credentials"}`); v != "2" {
		t.Fatalf("invalid_credentials counter = %q", v)
	}
}

func TestSignInBadInput400(t *testing.T) {
	e := newEnv(t)
	e.register("carol")
	for name, c := range map[string]struct{ body, code string }{
		"malformed JSON":     {`{"username":`, "invalid_argument"},
		"missing username":   {`{"password":"` + goodPass + `"}`, "invalid_argument"},
		"missing password":   {`{"username":"carol"}`, "invalid_argument"},
		"4 KiB password":     {`{"username":"carol","password":"` + strings.Repeat("x", 4096) + `"}`, "invalid_argument"},
		"bad device id":      {`{"username":"carol","password":"` + goodPass + `","device_id":"phone-1"}`, "invalid_argument"},
		"long device name":   {`{"username":"carol","password":"` + goodPass + `","device_name":"` + strings.Repeat("d", 65) + `"}`, "invalid_argument"},
		"unknown field":      {`{"username":"carol","password":"` + goodPass + `","remember":true}`, "invalid_argument"},
		"oversized body":     {`{"username":"carol","password":"` + strings.Repeat("x", 9000) + `"}`, "payload_too_large"},
		"username bad chars": {`{"username":"car ol","password":"` + goodPass + `"}`, "invalid_argument"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.call("POST", "/sign-in", nil, rawBody(c.body))
			if r.code() != c.code {
				t.Fatalf("got %d %s, want %s", r.status, r.raw, c.code)
			}
		})
	}
	a, _ := e.account("carol")
	if devs, _ := e.store.Devices(context.Background(), a.ID); len(devs) != 0 {
		t.Fatalf("bad sign-ins created devices: %v", devs)
	}
}

func TestSignInPerAccountLimit429(t *testing.T) {
	e := newEnv(t, withLimits(3, 100))
	e.register("dave")
	for range 3 {
		_, r := e.signIn("dave", "wrong password!", nil)
		e.expect(r, 401, "unauthenticated")
	}
	_, r := e.signIn("dave", goodPass, nil) // even the right password waits
	e.expect(r, 429, "rate_limited")
	ms, _ := r.body["error"].(map[string]any)["retry_after_ms"].(float64)
	if ms <= 0 || ms > 60000 || r.header.Get("Retry-After") == "" {
		t.Fatalf("retry hints: retry_after_ms=%v Retry-After=%q", ms, r.header.Get("Retry-After"))
	}
	// Another account is not affected, and the limit ends with its window.
	e.register("erin")
	e.mustSignIn("erin")
	e.clock.Add(time.Minute)
	e.mustSignIn("dave")
}

func TestSignInPerClientAddressLimit429(t *testing.T) {
	e := newEnv(t, withLimits(100, 2))
	for _, u := range []string{"fay", "gus", "hal"} {
		e.register(u)
	}
	sign := func(u, addr string) reply {
		return e.call("POST", "/sign-in", map[string]string{"username": u, "password": goodPass}, clientAddr(addr))
	}
	e.expect(sign("fay", "198.51.100.7"), 200, "")
	e.expect(sign("gus", "198.51.100.7"), 200, "")
	e.expect(sign("hal", "198.51.100.7"), 429, "rate_limited")
	e.expect(sign("hal", "203.0.113.9"), 200, "")
}

func TestSignInWithOwnDeviceIDKeepsDeviceAndRevokesItsOldSession(t *testing.T) {
	e := newEnv(t)
	e.register("ivy")
	first := e.mustSignIn("ivy")
	again, r := e.signIn("ivy", goodPass, map[string]string{"device_id": first.DeviceID})
	e.expect(r, 200, "")
	if again.DeviceID != first.DeviceID {
		t.Fatalf("device id %s, want the presented %s", again.DeviceID, first.DeviceID)
	}
	e.expect(e.refresh(first.Refresh), 401, "unauthenticated")
	e.expect(e.refresh(again.Refresh), 200, "")
}

func TestSignInWithSomeoneElsesDeviceIDGetsANewDevice(t *testing.T) {
	e := newEnv(t)
	e.register("jack")
	e.register("kate")
	jack := e.mustSignIn("jack")
	kate, r := e.signIn("kate", goodPass, map[string]string{"device_id": jack.DeviceID})
	e.expect(r, 200, "")
	if kate.DeviceID == jack.DeviceID {
		t.Fatal("kate was given jack's device id")
	}
	e.expect(e.refresh(jack.Refresh), 200, "")
}

func TestSignInUpgradesHashesMadeWithOldParameters(t *testing.T) {
	dir := t.TempDir()
	old := newEnv(t, withDir(dir), withParams(password.Params{MemoryKiB: 32, Time: 1, Threads: 1}))
	old.register("liam")
	_ = old.store.Close()

	e := newEnv(t, withDir(dir), withParams(password.Params{MemoryKiB: 64, Time: 1, Threads: 1}))
	e.mustSignIn("liam")
	a, err := e.account("liam")
	if err != nil || !strings.Contains(a.PasswordHash, "$m=64,t=1,p=1$") {
		t.Fatalf("hash not upgraded: %q, %v", a.PasswordHash, err)
	}
	e.mustSignIn("liam")
}

func TestDevices200ListsOnlySignedInDevices(t *testing.T) {
	e := newEnv(t)
	e.register("mia")
	phone := e.mustSignIn("mia")
	laptop := e.mustSignIn("mia")
	e.expect(e.call("POST", "/sign-out", nil, as(laptop)), 204, "")
	r := e.call("GET", "/devices", nil, as(phone))
	e.expect(r, 200, "")
	devs := r.body["devices"].([]any)
	if len(devs) != 1 || devs[0].(map[string]any)["device_id"] != phone.DeviceID {
		t.Fatalf("devices = %s", r.raw)
	}
	uid, _ := strconvID(phone.UserID)
	all, _ := e.store.Devices(context.Background(), uid)
	if len(all) != 2 || !slices.ContainsFunc(all, func(d entity.Device) bool { return !d.SignedIn() }) {
		t.Fatalf("stored devices = %+v, want the laptop kept but signed out", all)
	}
}
