package authtoken

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// Config configures a Verifier. Zero durations take the defaults below.
type Config struct {
	// JWKSURL is authsvc's JWKS endpoint (GET /internal/v1/auth/jwks on its
	// internal listener).
	JWKSURL string
	// Transport carries the JWKS requests; authsvc serves the JWKS behind
	// service authentication, so production passes a *svcauth.Transport.
	// Nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Issuer and Audience must match the token's iss and aud
	// (default DefaultIssuer and DefaultAudience).
	Issuer   string
	Audience string
	// Leeway tolerates clock skew on exp, nbf and iat (default 10s).
	Leeway time.Duration
	// MinRefetchInterval rate-limits refetches triggered by an unknown kid,
	// so a flood of tokens with made-up kids costs at most one JWKS request
	// per interval (default 10s).
	MinRefetchInterval time.Duration
	// MaxKeyAge is how long a fetched key set is used before it is refreshed
	// in the background, so retired keys eventually disappear (default 5m).
	MaxKeyAge time.Duration
	// FetchTimeout bounds one JWKS request (default 5s).
	FetchTimeout time.Duration
	// CacheSize is how many verified tokens are remembered, so the same
	// token presented again skips the signature check (default 10000;
	// negative disables the cache).
	CacheSize int
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

func (c *Config) applyDefaults() {
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.Leeway == 0 {
		c.Leeway = 10 * time.Second
	}
	if c.MinRefetchInterval == 0 {
		c.MinRefetchInterval = 10 * time.Second
	}
	if c.MaxKeyAge == 0 {
		c.MaxKeyAge = 5 * time.Minute
	}
	if c.FetchTimeout == 0 {
		c.FetchTimeout = 5 * time.Second
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport
	}
}

// Verifier checks access tokens against authsvc's published keys. It is safe
// for concurrent use; a verification with a known kid takes no lock and makes
// no network call.
type Verifier struct {
	cfg    Config
	client *http.Client
	parser *jwt.Parser
	static bool
	cache  *tokenCache // nil when disabled

	keys atomic.Pointer[keySet]
	// fetchMu serialises JWKS fetches; lastAttempt is guarded by it.
	fetchMu     sync.Mutex
	lastAttempt time.Time
	refreshing  atomic.Bool
}

type keySet struct {
	keys    map[string]ed25519.PublicKey
	fetched time.Time
}

// New returns a Verifier that fetches keys from cfg.JWKSURL. It fetches
// lazily, on the first token; call Refresh to warm it up at startup.
func New(cfg Config) (*Verifier, error) {
	if cfg.JWKSURL == "" {
		return nil, errors.New("authtoken: JWKSURL required")
	}
	cfg.applyDefaults()
	v := newVerifier(cfg)
	v.client = &http.Client{Transport: cfg.Transport, Timeout: cfg.FetchTimeout}
	v.keys.Store(&keySet{keys: map[string]ed25519.PublicKey{}})
	return v, nil
}

// NewStatic returns a Verifier that trusts exactly keys (kid → public key)
// and never fetches: for tests, and for tools that hold the keys.
func NewStatic(keys map[string]ed25519.PublicKey, cfg Config) *Verifier {
	cfg.applyDefaults()
	v := newVerifier(cfg)
	v.static = true
	v.keys.Store(&keySet{keys: maps.Clone(keys), fetched: cfg.Now()})
	return v
}

func newVerifier(cfg Config) *Verifier {
	return &Verifier{cfg: cfg, cache: newTokenCache(cfg.CacheSize), parser: jwt.NewParser(
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
	)}
}

// Verify checks token and returns its claims. Errors are *errs.Error:
// TokenExpired for an expired token (the client should refresh),
// Unauthenticated for anything else wrong with the token, and Unavailable
// when the token names a key the verifier does not know and the JWKS could
// not be fetched (retryable; a token with a known key never needs the network).
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if v.cache != nil {
		if c, ok := v.cache.get(token, v.cfg.Now(), v.cfg.Leeway, v.trusts); ok {
			return c, nil
		}
	}
	c, err := v.verify(ctx, token)
	if err == nil && v.cache != nil {
		v.cache.put(token, c, v.cfg.Now())
	}
	return c, err
}

// trusts reports whether kid is in the current key set. Cache hits come
// through here, so it also starts the refresh of a stale set: a withdrawn
// key stops being trusted even when every token is served from the cache.
func (v *Verifier) trusts(kid string) bool {
	ks := v.keys.Load()
	if !v.static && v.cfg.Now().Sub(ks.fetched) > v.cfg.MaxKeyAge {
		v.refreshInBackground()
	}
	_, ok := ks.keys[kid]
	return ok
}

// verify is the full check: parse, signature, claims.
func (v *Verifier) verify(ctx context.Context, token string) (Claims, error) {
	var wc wireClaims
	var kid string
	var lookupErr error
	_, err := v.parser.ParseWithClaims(token, &wc, func(t *jwt.Token) (any, error) {
		// WithValidMethods already rejected every other alg; this check keeps
		// the key type and method tied together even if that option changes.
		if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
			return nil, errors.New("unexpected signing method")
		}
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		key, err := v.key(ctx, kid)
		lookupErr = err
		return key, err
	})
	if err != nil {
		switch {
		case lookupErr != nil && errs.Is(lookupErr, errs.Unavailable):
			return Claims{}, lookupErr
		case errors.Is(err, jwt.ErrTokenExpired):
			return Claims{}, errs.New(errs.TokenExpired, "access token expired")
		}
		return Claims{}, errs.Wrap(err, errs.Unauthenticated, "invalid access token")
	}
	userID, err := ids.Parse(wc.Subject)
	if err != nil || wc.DeviceID == "" || wc.IssuedAt == nil {
		return Claims{}, errs.New(errs.Unauthenticated, "invalid access token: missing sub, did or iat")
	}
	return Claims{UserID: userID, DeviceID: wc.DeviceID, Roles: wc.Roles,
		IssuedAt: wc.IssuedAt.Time, ExpiresAt: wc.ExpiresAt.Time, KeyID: kid}, nil
}

// key returns the public key for kid, fetching the JWKS when kid is unknown
// (at most once per MinRefetchInterval) and refreshing a stale set in the
// background.
func (v *Verifier) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	ks := v.keys.Load()
	if k, ok := ks.keys[kid]; ok {
		if !v.static && v.cfg.Now().Sub(ks.fetched) > v.cfg.MaxKeyAge {
			v.refreshInBackground()
		}
		return k, nil
	}
	if v.static {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	// Another caller may have fetched while this one waited for the lock.
	if k, ok := v.keys.Load().keys[kid]; ok {
		return k, nil
	}
	if v.cfg.Now().Sub(v.lastAttempt) < v.cfg.MinRefetchInterval {
		return nil, fmt.Errorf("unknown kid %q (refetch rate limited)", kid)
	}
	if err := v.fetchLocked(ctx); err != nil {
		return nil, errs.Wrap(err, errs.Unavailable, "signing keys unavailable, try again")
	}
	if k, ok := v.keys.Load().keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown kid %q", kid)
}

// Refresh fetches the JWKS now, regardless of the rate limit. Call it at
// startup (and from a readiness probe, if the service wants one).
func (v *Verifier) Refresh(ctx context.Context) error {
	if v.static {
		return nil
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	return v.fetchLocked(ctx)
}

func (v *Verifier) refreshInBackground() {
	if !v.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer v.refreshing.Store(false)
		v.fetchMu.Lock()
		defer v.fetchMu.Unlock()
		if v.cfg.Now().Sub(v.lastAttempt) < v.cfg.MinRefetchInterval {
			return
		}
		// A failed refresh keeps the old keys: they are still the best answer.
		_ = v.fetchLocked(context.Background())
	}()
}

// KeyIDs lists the kids the verifier currently trusts, for diagnostics.
func (v *Verifier) KeyIDs() []string {
	return sortedKeys(v.keys.Load().keys)
}

// fetchLocked replaces the key set with the JWKS; v.fetchMu must be held.
func (v *Verifier) fetchLocked(ctx context.Context) error {
	v.lastAttempt = v.cfg.Now()
	ctx, cancel := context.WithTimeout(ctx, v.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("authtoken: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("authtoken: fetch JWKS: status %d", resp.StatusCode)
	}
	var set JWKSet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("authtoken: decode JWKS: %w", err)
	}
	keys, err := set.PublicKeys()
	if err != nil {
		return err
	}
	v.keys.Store(&keySet{keys: keys, fetched: v.cfg.Now()})
	return nil
}
