package keyring_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/keyring"
	"github.com/parleychat/parley/authsvc/internal/store/embedded"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

var cfg = keyring.Config{Rotation: 24 * time.Hour, Reload: 10 * time.Second, ActivationDelay: time.Minute, AccessTTL: 15 * time.Minute}

func setup(t *testing.T) (*embedded.Store, *clock) {
	st, err := embedded.Open(embedded.Config{Dir: t.TempDir(), SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func kids(set authtoken.JWKSet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	slices.Sort(out)
	return out
}

func sign(t *testing.T, r *keyring.Ring, at time.Time) (string, authtoken.Claims) {
	t.Helper()
	tok, c, err := r.Sign(authtoken.Grant{UserID: 1, DeviceID: "2", Issuer: authtoken.DefaultIssuer,
		Audience: authtoken.DefaultAudience, IssuedAt: at, TTL: cfg.AccessTTL})
	if err != nil {
		t.Fatal(err)
	}
	return tok, c
}

// verifierFor trusts exactly the ring's current JWKS, at the clock's time.
func verifierFor(t *testing.T, r *keyring.Ring, clk *clock) *authtoken.Verifier {
	keys, err := r.JWKS().PublicKeys()
	if err != nil {
		t.Fatal(err)
	}
	return authtoken.NewStatic(keys, authtoken.Config{Now: clk.Now, Leeway: time.Second})
}

func TestRingNotReadyBeforeFirstSync(t *testing.T) {
	st, clk := setup(t)
	r := keyring.New(cfg, st, discard, clk.Now)
	if err := r.Ready(context.Background()); err == nil {
		t.Fatal("ready without keys")
	}
	if _, _, err := r.Sign(authtoken.Grant{}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("sign without keys: %v", err)
	}
}

func TestFirstSyncCreatesAKeyThatSignsAtOnceAndSurvivesRestart(t *testing.T) {
	st, clk := setup(t)
	r := keyring.New(cfg, st, discard, clk.Now)
	if err := r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	k, ok := r.Current()
	if !ok || len(r.JWKS().Keys) != 1 || r.Ready(context.Background()) != nil {
		t.Fatalf("after first sync: current=%v ok=%v jwks=%v", k.ID, ok, kids(r.JWKS()))
	}
	// A restarted replica loads the same key instead of making a new one.
	r2 := keyring.New(cfg, st, discard, clk.Now)
	if err := r2.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if k2, _ := r2.Current(); k2.ID != k.ID {
		t.Fatalf("restart made a new key %s, want %s", k2.ID, k.ID)
	}
}

func TestScheduledRotationPublishesFirstSignsLaterAndRetiresAfterTokensExpire(t *testing.T) {
	st, clk := setup(t)
	ctx := context.Background()
	r := keyring.New(cfg, st, discard, clk.Now)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	k1, _ := r.Current()

	clk.Add(cfg.Rotation)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := r.Current(); cur.ID != k1.ID || len(r.JWKS().Keys) != 2 {
		t.Fatalf("new key must be published (%v) but not signing yet (current %s)", kids(r.JWKS()), cur.ID)
	}
	oldTok, _ := sign(t, r, clk.Now()) // the last token of the old key

	clk.Add(cfg.ActivationDelay)
	newTok, claims := sign(t, r, clk.Now())
	if claims.KeyID == k1.ID {
		t.Fatal("new tokens still use the old kid after activation")
	}
	v := verifierFor(t, r, clk)
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("%s token after rotation: %v", name, err)
		}
	}

	// The old key stays published until its last token has expired.
	clk.Add(cfg.AccessTTL + cfg.Reload + time.Minute - time.Second)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(kids(r.JWKS()), k1.ID) {
		t.Fatal("old key retired while its tokens could still be valid")
	}
	clk.Add(2 * time.Second)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kids(r.JWKS()); len(got) != 1 || got[0] == k1.ID {
		t.Fatalf("after retirement JWKS = %v", got)
	}
}

func TestConcurrentReplicasRotateOnceAndAgree(t *testing.T) {
	st, clk := setup(t)
	ctx := context.Background()
	replicas := make([]*keyring.Ring, 5)
	for i := range replicas {
		replicas[i] = keyring.New(cfg, st, discard, clk.Now)
	}
	if err := replicas[0].Sync(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Add(cfg.Rotation)
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Sync(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, keys, _ := st.SigningKeys(ctx); len(keys) != 2 {
		t.Fatalf("%d keys after concurrent rotation, want 2", len(keys))
	}
	clk.Add(cfg.ActivationDelay)
	want, _ := replicas[0].Current()
	for i, r := range replicas {
		if got, _ := r.Current(); got.ID != want.ID {
			t.Fatalf("replica %d signs with %s, replica 0 with %s", i, got.ID, want.ID)
		}
	}
}

func TestRotateOnDemandAddsAPendingKey(t *testing.T) {
	st, clk := setup(t)
	ctx := context.Background()
	r := keyring.New(cfg, st, discard, clk.Now)
	_ = r.Sync(ctx)
	old, _ := r.Current()
	k, err := r.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !k.ActivatesAt.Equal(clk.Now().Add(cfg.ActivationDelay)) || !slices.Contains(kids(r.JWKS()), k.ID) {
		t.Fatalf("rotated key %+v not published/pending", k)
	}
	if cur, _ := r.Current(); cur.ID != old.ID {
		t.Fatal("pending key signs before its activation")
	}
}
