package http_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parleychat/parley/authsvc/internal/entity"
)

// promote makes a user admin directly in the store (what bootstrap-admin does).
func promote(e *env, userID string) error {
	id, err := strconvID(userID)
	if err != nil {
		return err
	}
	return e.store.SetRoles(context.Background(), id, []string{entity.RoleAdmin})
}

func TestMe200(t *testing.T) {
	e := newEnv(t)
	id := e.register("alice")
	s := e.mustSignIn("alice")
	r := e.call("GET", "/me", nil, as(s))
	e.expect(r, 200, "")
	if r.str("user", "id") != id || r.str("user", "username") != "alice" || strings.Contains(string(r.raw), "password") {
		t.Fatalf("me = %s", r.raw)
	}
}

func TestMeWithoutIdentity401(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/me", nil)
	e.expect(r, 401, "unauthenticated")
}

func TestMalformedIdentityHeaders401(t *testing.T) {
	e := newEnv(t)
	for name, opts := range map[string][]reqOpt{
		"bad user id":        {header("X-Parley-User-Id", "alice"), header("X-Parley-Device-Id", "1")},
		"missing device":     {header("X-Parley-User-Id", "12345")},
		"non-numeric device": {header("X-Parley-User-Id", "12345"), header("X-Parley-Device-Id", "ios-1")},
		"identity w/o svc":   {header("X-Parley-User-Id", "12345"), header("X-Parley-Device-Id", "1"), withoutServiceToken()},
	} {
		t.Run(name, func(t *testing.T) { check(t, e.call("GET", "/me", nil, opts...), 401, "unauthenticated") })
	}
}

func TestMeForUnknownAccount404(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/me", nil, header("X-Parley-User-Id", "12345"), header("X-Parley-Device-Id", "1"))
	e.expect(r, 404, "not_found")
}

func TestLookupUser200ReturnsIDAndDisplayNameOnly(t *testing.T) {
	e := newEnv(t)
	e.register("alice")
	bobID := e.register("bob")
	s := e.mustSignIn("alice")
	r := e.call("GET", "/users/by-username/BOB", nil, as(s))
	e.expect(r, 200, "")
	if len(r.body) != 2 || r.str("id") != bobID || r.str("display_name") != "User bob" {
		t.Fatalf("lookup = %s, want exactly id and display_name", r.raw)
	}
}

func TestLookupUserUnknown404AndInvalid400(t *testing.T) {
	e := newEnv(t)
	e.register("alice")
	s := e.mustSignIn("alice")
	e.expect(e.call("GET", "/users/by-username/nobody", nil, as(s)), 404, "not_found")
	e.expect(e.call("GET", "/users/by-username/x", nil, as(s)), 400, "invalid_argument")
	e.expect(e.call("GET", "/users/by-username/bob", nil), 401, "unauthenticated")
}

func TestChangePassword204SignsOutOtherDevices(t *testing.T) {
	e := newEnv(t)
	e.register("carol")
	phone := e.mustSignIn("carol")
	laptop := e.mustSignIn("carol")
	r := e.call("POST", "/password", map[string]string{"current_password": goodPass, "new_password": "a brand new secret"}, as(phone))
	e.expect(r, 204, "")
	e.expect(e.refresh(laptop.Refresh), 401, "unauthenticated")
	e.expect(e.refresh(phone.Refresh), 200, "")
	_, old := e.signIn("carol", goodPass, nil)
	e.expect(old, 401, "unauthenticated")
	_, fresh := e.signIn("carol", "a brand new secret", nil)
	e.expect(fresh, 200, "")
}

func TestChangePasswordWrongCurrent403(t *testing.T) {
	e := newEnv(t)
	e.register("dave")
	s := e.mustSignIn("dave")
	before, _ := e.account("dave")
	r := e.call("POST", "/password", map[string]string{"current_password": "not my password", "new_password": "a brand new secret"}, as(s))
	e.expect(r, 403, "permission_denied")
	if after, _ := e.account("dave"); after.PasswordHash != before.PasswordHash {
		t.Fatal("password changed despite the wrong current password")
	}
}

func TestChangePasswordBadNewPassword400(t *testing.T) {
	e := newEnv(t)
	e.register("erin")
	s := e.mustSignIn("erin")
	before, _ := e.account("erin")
	for name, body := range map[string]string{
		"weak":       `{"current_password":"` + goodPass + `","new_password":"short"}`,
		"same":       `{"current_password":"` + goodPass + `","new_password":"` + goodPass + `"}`,
		"4 KiB":      `{"current_password":"` + goodPass + `","new_password":"` + strings.Repeat("n", 4096) + `"}`,
		"missing":    `{"current_password":"` + goodPass + `"}`,
		"malformed":  `{"current_password":`,
		"no current": `{"new_password":"a brand new secret"}`,
	} {
		t.Run(name, func(t *testing.T) {
			check(t, e.call("POST", "/password", nil, rawBody(body), as(s)), 400, "invalid_argument")
		})
	}
	if after, _ := e.account("erin"); after.PasswordHash != before.PasswordHash {
		t.Fatal("a rejected change altered the hash")
	}
}

func TestUserByID200ForSignedInUsersAndServices(t *testing.T) {
	e := newEnv(t)
	e.register("alice")
	bobID := e.register("bob")
	s := e.mustSignIn("alice")
	r := e.call("GET", "/users/"+bobID, nil, as(s))
	e.expect(r, 200, "")
	if r.str("id") != bobID || r.str("display_name") != "User bob" {
		t.Fatalf("user by id = %s", r.raw)
	}
	e.expect(e.call("GET", "/users/"+bobID, nil), 401, "unauthenticated")
	// Services (messagesvc checking a recipient) use the route outside /auth,
	// which the gateway's public relay does not forward.
	e.expect(e.call("GET", "/accounts/"+bobID, nil, outsideAuth()), 200, "")
	e.expect(e.call("GET", "/accounts/999999", nil, outsideAuth()), 404, "not_found")
	e.expect(e.call("GET", "/accounts/x", nil, outsideAuth()), 400, "invalid_argument")
	e.expect(e.call("GET", "/accounts/"+bobID, nil, outsideAuth(), withoutServiceToken()), 401, "unauthenticated")
}
