package authtoken

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type testKey struct {
	kid  string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newKey(t testing.TB, kid string) testKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid, pub, priv}
}

func grant(at time.Time) Grant {
	return Grant{UserID: 42, DeviceID: "7", Roles: []string{"admin"}, Issuer: DefaultIssuer,
		Audience: DefaultAudience, IssuedAt: at, TTL: 15 * time.Minute}
}

func mint(t testing.TB, k testKey, g Grant) string {
	t.Helper()
	tok, _, err := Sign(k.kid, k.priv, g)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signRaw signs arbitrary claims and header with any method, for attacks.
func signRaw(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims(now time.Time) wireClaims {
	return wireClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: DefaultIssuer, Audience: jwt.ClaimStrings{DefaultAudience}, Subject: "42",
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
	}, DeviceID: "7"}
}

func TestVerifyAcceptsValidTokenAndReturnsTypedClaims(t *testing.T) {
	clk := newClock()
	k := newKey(t, "k1")
	v := NewStatic(map[string]ed25519.PublicKey{k.kid: k.pub}, Config{Now: clk.Now})
	c, err := v.Verify(context.Background(), mint(t, k, grant(clk.Now())))
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{UserID: ids.ID(42), DeviceID: "7", Roles: []string{"admin"}, IssuedAt: clk.Now(),
		ExpiresAt: clk.Now().Add(15 * time.Minute), KeyID: "k1"}
	if c.UserID != want.UserID || c.DeviceID != want.DeviceID || !slices.Equal(c.Roles, want.Roles) ||
		!c.ExpiresAt.Equal(want.ExpiresAt) || !c.IssuedAt.Equal(want.IssuedAt) || c.KeyID != want.KeyID {
		t.Fatalf("claims = %+v, want %+v", c, want)
	}
	if !c.HasRole("admin") || c.HasRole("root") {
		t.Fatal("HasRole wrong")
	}
}

func TestVerifyRejectsBadTokensWithUnauthenticated(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	k := newKey(t, "k1")
	other := newKey(t, "k1") // same kid, different key: a forgery
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	v := NewStatic(map[string]ed25519.PublicKey{k.kid: k.pub}, Config{Now: clk.Now, Leeway: 5 * time.Second})

	with := func(f func(*wireClaims)) wireClaims { c := validClaims(now); f(&c); return c }
	expiredForged := grant(now.Add(-time.Hour))
	cases := map[string]string{
		"empty":             "",
		"garbage":           "abc.def.ghi",
		"forged signature":  mint(t, other, grant(now)),
		"expired + forged":  mint(t, other, expiredForged),
		"alg none":          signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", validClaims(now)),
		"HS256 with pubkey": signRaw(t, jwt.SigningMethodHS256, []byte(k.pub), "k1", validClaims(now)),
		"RS256":             signRaw(t, jwt.SigningMethodRS256, rsaKey, "k1", validClaims(now)),
		"no kid":            signRaw(t, jwt.SigningMethodEdDSA, k.priv, "", validClaims(now)),
		"unknown kid":       signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k9", validClaims(now)),
		"wrong issuer":      signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k1", with(func(c *wireClaims) { c.Issuer = "evil" })),
		"wrong audience":    signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k1", with(func(c *wireClaims) { c.Audience = jwt.ClaimStrings{"other"} })),
		"no expiry":         signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k1", with(func(c *wireClaims) { c.ExpiresAt = nil })),
		"not yet valid":     signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k1", with(func(c *wireClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })),
		"issued in future":  signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k1", with(func(c *wireClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) })),
		"no iat":            signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k1", with(func(c *wireClaims) { c.IssuedAt = nil })),
		"bad sub":           signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k1", with(func(c *wireClaims) { c.Subject = "alice" })),
		"no did":            signRaw(t, jwt.SigningMethodEdDSA, k.priv, "k1", with(func(c *wireClaims) { c.DeviceID = "" })),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tok)
			if errs.CodeOf(err) != errs.Unauthenticated {
				t.Fatalf("err = %v, want unauthenticated", err)
			}
		})
	}
}

func TestVerifyExpiredTokenIsTokenExpired(t *testing.T) {
	clk := newClock()
	k := newKey(t, "k1")
	v := NewStatic(map[string]ed25519.PublicKey{k.kid: k.pub}, Config{Now: clk.Now, Leeway: 5 * time.Second})
	tok := mint(t, k, grant(clk.Now()))
	clk.Add(15*time.Minute + 4*time.Second) // inside the leeway
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clk.Add(2 * time.Second)
	if _, err := v.Verify(context.Background(), tok); errs.CodeOf(err) != errs.TokenExpired {
		t.Fatalf("err = %v, want token_expired", err)
	}
}

// jwksServer publishes a mutable key set and counts requests.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	keys     []testKey
	requests atomic.Int32
	down     atomic.Bool
	header   atomic.Value // last Authorization header seen
}

func newJWKSServer(t *testing.T, keys ...testKey) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.header.Store(r.Header.Get("Authorization"))
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		var set JWKSet
		for _, k := range s.keys {
			set.Keys = append(set.Keys, PublicJWK(k.kid, k.pub))
		}
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(keys ...testKey) { s.mu.Lock(); s.keys = keys; s.mu.Unlock() }

func TestVerifierFetchesJWKSAndRefetchesUnknownKidAtMostOncePerInterval(t *testing.T) {
	clk := newClock()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newJWKSServer(t, k1)
	v, err := New(Config{JWKSURL: srv.URL, Now: clk.Now, MinRefetchInterval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, mint(t, k1, grant(clk.Now()))); err != nil {
		t.Fatalf("first token: %v", err)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("requests after first token = %d, want 1", n)
	}
	// A flood of tokens with an unknown kid right after a fetch costs nothing.
	for range 50 {
		if _, err := v.Verify(ctx, mint(t, k2, grant(clk.Now()))); errs.CodeOf(err) != errs.Unauthenticated {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("requests during the flood = %d, want 1 (rate limited)", n)
	}
	// Rotation: k2 is published; after the interval one refetch picks it up.
	srv.publish(k1, k2)
	clk.Add(11 * time.Second)
	if _, err := v.Verify(ctx, mint(t, k2, grant(clk.Now()))); err != nil {
		t.Fatalf("new kid after interval: %v", err)
	}
	if _, err := v.Verify(ctx, mint(t, k1, grant(clk.Now()))); err != nil {
		t.Fatalf("old kid still published: %v", err)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("requests = %d, want 2", n)
	}
	if got := v.KeyIDs(); !slices.Equal(got, []string{"k1", "k2"}) {
		t.Fatalf("KeyIDs = %v", got)
	}
}

func TestVerifierDropsRetiredKeysAfterMaxKeyAge(t *testing.T) {
	clk := newClock()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newJWKSServer(t, k1, k2)
	v, _ := New(Config{JWKSURL: srv.URL, Now: clk.Now, MaxKeyAge: time.Minute})
	ctx := context.Background()
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv.publish(k2) // k1 retired
	clk.Add(2 * time.Minute)
	// A verification with a stale set still succeeds and triggers a background refresh.
	if _, err := v.Verify(ctx, mint(t, k2, grant(clk.Now()))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(v.KeyIDs(), []string{"k2"}) {
		if time.Now().After(deadline) {
			t.Fatalf("retired key still trusted: %v", v.KeyIDs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestVerifierUnknownKidWhileJWKSDownIsUnavailableKnownKidStillWorks(t *testing.T) {
	clk := newClock()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newJWKSServer(t, k1)
	v, _ := New(Config{JWKSURL: srv.URL, Now: clk.Now})
	ctx := context.Background()
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv.down.Store(true)
	clk.Add(time.Minute)
	if _, err := v.Verify(ctx, mint(t, k2, grant(clk.Now()))); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("unknown kid with JWKS down: %v, want unavailable", err)
	}
	if _, err := v.Verify(ctx, mint(t, k1, grant(clk.Now()))); err != nil {
		t.Fatalf("known kid with JWKS down: %v", err)
	}
}

type headerTransport struct{ value string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", h.value)
	return http.DefaultTransport.RoundTrip(r)
}

func TestVerifierFetchesThroughGivenTransport(t *testing.T) {
	k1 := newKey(t, "k1")
	srv := newJWKSServer(t, k1)
	v, _ := New(Config{JWKSURL: srv.URL, Transport: headerTransport{"Bearer svc"}})
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := srv.header.Load(); got != "Bearer svc" {
		t.Fatalf("Authorization seen by JWKS server = %v", got)
	}
}

func TestPublicKeysSkipsForeignKeysAndRejectsMalformedEd25519(t *testing.T) {
	k := newKey(t, "k1")
	set := JWKSet{Keys: []JWK{PublicJWK("k1", k.pub), {Kty: "RSA", Kid: "r1"}}}
	keys, err := set.PublicKeys()
	if err != nil || len(keys) != 1 || !keys["k1"].Equal(k.pub) {
		t.Fatalf("keys = %v, %v", keys, err)
	}
	bad := JWKSet{Keys: []JWK{{Kty: "OKP", Crv: "Ed25519", Kid: "x", X: "AAAA"}}}
	if _, err := bad.PublicKeys(); err == nil {
		t.Fatal("short x accepted")
	}
}

func TestCachedTokenStillExpiresAndDiesWithItsKey(t *testing.T) {
	clk := newClock()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newJWKSServer(t, k1, k2)
	v, _ := New(Config{JWKSURL: srv.URL, Now: clk.Now, Leeway: time.Second})
	ctx := context.Background()
	tok1, tok2 := mint(t, k1, grant(clk.Now())), mint(t, k2, grant(clk.Now()))
	for range 2 { // the second round is served from the cache
		for _, tok := range []string{tok1, tok2} {
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, _ := v.Verify(ctx, tok1)
	c.Roles[0] = "changed"
	if again, _ := v.Verify(ctx, tok1); again.Roles[0] != "admin" {
		t.Fatal("a caller's change to Roles leaked into the cache")
	}
	// k1 is withdrawn: once the verifier knows, its cached token stops working.
	srv.publish(k2)
	clk.Add(time.Minute)
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok1); errs.CodeOf(err) != errs.Unauthenticated {
		t.Fatalf("cached token of a withdrawn key: %v", err)
	}
	clk.Add(15 * time.Minute)
	if _, err := v.Verify(ctx, tok2); errs.CodeOf(err) != errs.TokenExpired {
		t.Fatalf("cached token after expiry: %v", err)
	}
}

func TestTokenCacheStaysBounded(t *testing.T) {
	clk := newClock()
	k := newKey(t, "k1")
	v := NewStatic(map[string]ed25519.PublicKey{k.kid: k.pub}, Config{Now: clk.Now, CacheSize: 100})
	for i := range 1000 {
		g := grant(clk.Now())
		g.UserID = ids.ID(i + 1)
		if _, err := v.Verify(context.Background(), mint(t, k, g)); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.cache.size.Load(); n > 100 {
		t.Fatalf("cache holds %d tokens, max 100", n)
	}
}

func TestCacheHitsAloneStillRefreshAStaleKeySet(t *testing.T) {
	clk := newClock()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newJWKSServer(t, k1, k2)
	v, _ := New(Config{JWKSURL: srv.URL, Now: clk.Now, MaxKeyAge: time.Minute})
	ctx := context.Background()
	tok := mint(t, k1, grant(clk.Now()))
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	srv.publish(k2) // k1 withdrawn
	clk.Add(2 * time.Minute)
	_, _ = v.Verify(ctx, tok) // a cache hit on a stale set starts a refresh
	deadline := time.Now().Add(5 * time.Second)
	for slices.Contains(v.KeyIDs(), "k1") {
		if time.Now().After(deadline) {
			t.Fatal("stale key set never refreshed while every token hit the cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := v.Verify(ctx, tok); errs.CodeOf(err) != errs.Unauthenticated {
		t.Fatalf("cached token of the withdrawn key: %v", err)
	}
}
