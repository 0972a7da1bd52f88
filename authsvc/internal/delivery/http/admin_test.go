package http_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
)

func adminSession(e *env) session {
	e.t.Helper()
	id := e.register("root")
	if err := promote(e, id); err != nil {
		e.t.Fatal(err)
	}
	return e.mustSignIn("root")
}

func TestSetRoles200GrantsAndRevokes(t *testing.T) {
	e := newEnv(t)
	admin := adminSession(e)
	uid := e.register("alice")
	r := e.call("PUT", "/admin/users/"+uid+"/roles", map[string]any{"roles": []string{"admin", "admin"}}, as(admin))
	e.expect(r, 200, "")
	if a, _ := e.account("alice"); !slices.Equal(a.Roles, []string{"admin"}) {
		t.Fatalf("stored roles = %v", a.Roles)
	}
	e.expect(e.call("PUT", "/admin/users/"+uid+"/roles", map[string]any{"roles": []string{}}, as(admin)), 200, "")
	if a, _ := e.account("alice"); len(a.Roles) != 0 {
		t.Fatalf("roles after revoke = %v", a.Roles)
	}
}

func TestSetRolesWithoutAdmin403(t *testing.T) {
	e := newEnv(t)
	uid := e.register("alice")
	s := e.mustSignIn("alice")
	// Claiming the role in the header is what the gateway does from the token;
	// without it, no admin API.
	r := e.call("PUT", "/admin/users/"+uid+"/roles", map[string]any{"roles": []string{"admin"}}, as(s))
	e.expect(r, 403, "permission_denied")
	if a, _ := e.account("alice"); len(a.Roles) != 0 {
		t.Fatal("non-admin granted a role")
	}
}

func TestSetRolesBadInput(t *testing.T) {
	e := newEnv(t)
	admin := adminSession(e)
	uid := e.register("bob")
	for name, c := range map[string]struct {
		path, body string
		status     int
		code       string
	}{
		"unknown role":   {"/admin/users/" + uid + "/roles", `{"roles":["superuser"]}`, 400, "invalid_argument"},
		"missing roles":  {"/admin/users/" + uid + "/roles", `{}`, 400, "invalid_argument"},
		"bad user id":    {"/admin/users/bob/roles", `{"roles":[]}`, 400, "invalid_argument"},
		"unknown user":   {"/admin/users/12345/roles", `{"roles":[]}`, 404, "not_found"},
		"drop own admin": {"/admin/users/" + admin.UserID + "/roles", `{"roles":[]}`, 412, "failed_precondition"},
		"malformed JSON": {"/admin/users/" + uid + "/roles", `{"roles":`, 400, "invalid_argument"},
	} {
		t.Run(name, func(t *testing.T) {
			check(t, e.call("PUT", c.path, nil, rawBody(c.body), as(admin)), c.status, c.code)
		})
	}
}

func TestJWKS200PublishesEd25519Keys(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/jwks", nil)
	e.expect(r, 200, "")
	keys := r.body["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks = %s", r.raw)
	}
	k := keys[0].(map[string]any)
	if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["kid"] == "" || k["d"] != nil {
		t.Fatalf("key = %v", k)
	}
}

func TestJWKSWithoutServiceToken401(t *testing.T) {
	e := newEnv(t)
	e.expect(e.call("GET", "/jwks", nil, withoutServiceToken()), 401, "unauthenticated")
}

func TestRotateKeysWithoutAdmin403(t *testing.T) {
	e := newEnv(t)
	e.register("alice")
	e.expect(e.call("POST", "/admin/keys/rotate", nil, as(e.mustSignIn("alice"))), 403, "permission_denied")
	if n := len(e.ring.JWKS().Keys); n != 1 {
		t.Fatalf("%d keys after a refused rotation", n)
	}
}

// TestRotateKeys200OldTokensVerifyUntilExpiryNewTokensUseNewKid is the key
// rotation test, seen from a verifier that fetches the JWKS like the gateway.
func TestRotateKeys200OldTokensVerifyUntilExpiryNewTokensUseNewKid(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.verifier()
	admin := adminSession(e)
	oldClaims, err := v.Verify(ctx, admin.Access)
	if err != nil {
		t.Fatal(err)
	}

	r := e.call("POST", "/admin/keys/rotate", nil, as(admin))
	e.expect(r, 200, "")
	newKid := r.str("kid")
	if newKid == "" || newKid == oldClaims.KeyID {
		t.Fatalf("rotate = %s", r.raw)
	}

	e.clock.Add(time.Second)
	fresh := e.mustSignIn("root")
	freshClaims, err := v.Verify(ctx, fresh.Access) // an unknown kid: the verifier refetches
	if err != nil || freshClaims.KeyID != newKid {
		t.Fatalf("new token: kid %q, %v; want %q", freshClaims.KeyID, err, newKid)
	}
	if _, err := v.Verify(ctx, admin.Access); err != nil {
		t.Fatalf("old token after rotation: %v", err)
	}
	if !slices.Contains(v.KeyIDs(), oldClaims.KeyID) {
		t.Fatal("old key no longer published")
	}

	// The old token expires on its own schedule (plus the verifier's leeway)…
	e.clock.Add(15*time.Minute + 15*time.Second)
	if _, err := v.Verify(ctx, admin.Access); !errs.Is(err, errs.TokenExpired) {
		t.Fatalf("old token after its expiry: %v", err)
	}
	// …and its key is retired once no token it signed can be valid.
	e.clock.Add(time.Hour + 2*time.Minute)
	if err := e.ring.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	r = e.call("GET", "/jwks", nil)
	if keys := r.body["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["kid"] != newKid {
		t.Fatalf("jwks after retirement = %s", r.raw)
	}
}

// TestVerifierRejectsAttacksOnLiveKeys forges tokens against the keys this
// service really publishes.
func TestVerifierRejectsAttacksOnLiveKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.register("alice")
	s := e.mustSignIn("alice")
	v := e.verifier()
	good, err := v.Verify(ctx, s.Access)
	if err != nil {
		t.Fatal(err)
	}
	set := e.ring.JWKS()
	pubs, _ := set.PublicKeys()
	pub := pubs[good.KeyID]
	claims := jwt.MapClaims{"iss": authtoken.DefaultIssuer, "aud": authtoken.DefaultAudience, "sub": s.UserID,
		"did": s.DeviceID, "roles": []string{"admin"}, "iat": e.clock.Now().Unix(), "exp": e.clock.Now().Add(time.Hour).Unix()}
	signed := func(m jwt.SigningMethod, key any) string {
		tok := jwt.NewWithClaims(m, claims)
		tok.Header["kid"] = good.KeyID
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	for name, tok := range map[string]string{
		"alg none":          signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType),
		"HS256 with pubkey": signed(jwt.SigningMethodHS256, []byte(pub)),
		"forged EdDSA":      signed(jwt.SigningMethodEdDSA, attacker),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(ctx, tok); !errs.Is(err, errs.Unauthenticated) {
				t.Fatalf("err = %v, want unauthenticated", err)
			}
		})
	}
	e.clock.Add(16 * time.Minute)
	if _, err := v.Verify(ctx, s.Access); !errs.Is(err, errs.TokenExpired) {
		t.Fatalf("expired real token: %v", err)
	}
}
