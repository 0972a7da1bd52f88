package http_test

import "testing"

func TestSignOut204RevokesOnlyThisDevice(t *testing.T) {
	e := newEnv(t)
	e.register("alice")
	phone := e.mustSignIn("alice")
	laptop := e.mustSignIn("alice")
	e.expect(e.call("POST", "/sign-out", nil, as(phone)), 204, "")
	e.expect(e.refresh(phone.Refresh), 401, "unauthenticated")
	e.expect(e.refresh(laptop.Refresh), 200, "")
	// Signing out again is harmless.
	e.expect(e.call("POST", "/sign-out", nil, as(phone)), 204, "")
}

func TestSignOutAll204RevokesEveryDevice(t *testing.T) {
	e := newEnv(t)
	e.register("bob")
	e.register("carol")
	phone := e.mustSignIn("bob")
	laptop := e.mustSignIn("bob")
	carol := e.mustSignIn("carol")
	e.expect(e.call("POST", "/sign-out-all", nil, as(phone)), 204, "")
	e.expect(e.refresh(phone.Refresh), 401, "unauthenticated")
	e.expect(e.refresh(laptop.Refresh), 401, "unauthenticated")
	e.expect(e.refresh(carol.Refresh), 200, "")
}

func TestSignOutWithoutIdentity401(t *testing.T) {
	e := newEnv(t)
	e.expect(e.call("POST", "/sign-out", nil), 401, "unauthenticated")
	e.expect(e.call("POST", "/sign-out-all", nil), 401, "unauthenticated")
}
