package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	gohttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/delivery/http"
	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/authsvc/internal/keyring"
	"github.com/parleychat/parley/authsvc/internal/password"
	"github.com/parleychat/parley/authsvc/internal/store/embedded"
	"github.com/parleychat/parley/authsvc/internal/usecase"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/ratelimit"
	"github.com/parleychat/parley/shared/svcauth"
)

const (
	testSecret = "component-test-secret-0123456789abcdef"
	goodPass   = "correct horse battery"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is the harness's settable time; the use cases, the key ring and the
// test verifier all read it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// env is authsvc wired as in production, over a real embedded store in a
// temp dir, served by httptest.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	store  *embedded.Store
	clock  *clock
	svc    *kit.Service
	ring   *keyring.Ring
	client *gohttp.Client
}

type options struct {
	dir     string
	params  password.Params
	ucCfg   usecase.Config
	ringCfg keyring.Config
}

type option func(*options)

func withDir(dir string) option           { return func(o *options) { o.dir = dir } }
func withParams(p password.Params) option { return func(o *options) { o.params = p } }
func withLimits(account, addr int) option {
	return func(o *options) {
		o.ucCfg.SignInPerAccount.Max, o.ucCfg.SignInPerAddr.Max = account, addr
	}
}

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	o := options{
		dir:    t.TempDir(),
		params: password.Params{MemoryKiB: 64, Time: 1, Threads: 1}, // fast; the defaults are benchmarked
		ucCfg: usecase.Config{Issuer: authtoken.DefaultIssuer, Audience: authtoken.DefaultAudience,
			AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour,
			SignInPerAccount: ratelimit.Limit{Max: 100, Window: time.Minute},
			SignInPerAddr:    ratelimit.Limit{Max: 100, Window: time.Minute}},
		// No activation delay: one replica, so a rotated key may sign at once.
		ringCfg: keyring.Config{Rotation: 24 * time.Hour, Reload: time.Hour, AccessTTL: 15 * time.Minute},
	}
	for _, opt := range opts {
		opt(&o)
	}
	clk := &clock{now: time.Now().UTC().Truncate(time.Millisecond)}
	store, err := embedded.Open(embedded.Config{Dir: o.dir, SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	svc, err := kit.NewService("authsvc", kit.BaseConfig{InternalSecret: config.NewSecret(testSecret)}, discard)
	if err != nil {
		t.Fatal(err)
	}
	metrics := usecase.NewMetrics(svc.Ops.Registry)
	hasher, err := password.NewHasher(o.params, 4, metrics.ObserveArgon2)
	if err != nil {
		t.Fatal(err)
	}
	ring := keyring.New(o.ringCfg, store, discard, clk.Now)
	if err := ring.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	gen, _ := ids.NewGenerator(1)
	uc := usecase.New(o.ucCfg, usecase.Deps{Accounts: store, Sessions: store, Passwords: hasher, Tokens: ring,
		Limiter: ratelimit.NewMemory(clk.Now), IDs: gen, Now: clk.Now, Logger: discard, Metrics: metrics})
	engine, api := svc.InternalEngine()
	http.NewHandler(uc, clk.Now).Register(api)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, store: store, clock: clk, svc: svc, ring: ring,
		client: &gohttp.Client{Transport: &svcauth.Transport{Signer: svc.Signer}}}
}

// reply is a decoded response.
type reply struct {
	status int
	header gohttp.Header
	raw    []byte
	body   map[string]any
}

// code is the error code of an error reply.
func (r reply) code() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r reply) message() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func (r reply) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

type request struct {
	header      gohttp.Header
	raw         *string
	noService   bool
	outsideAuth bool
}

type reqOpt func(*request)

// as sends the identity headers the gateway would send for sess.
func as(s session) reqOpt {
	return func(r *request) {
		r.header.Set(kit.HeaderUserID, s.UserID)
		r.header.Set(kit.HeaderDeviceID, s.DeviceID)
		r.header.Set(kit.HeaderRoles, strings.Join(s.Roles, ","))
	}
}

func header(k, v string) reqOpt     { return func(r *request) { r.header.Set(k, v) } }
func rawBody(s string) reqOpt       { return func(r *request) { r.raw = &s } }
func withoutServiceToken() reqOpt   { return func(r *request) { r.noService = true } }
func outsideAuth() reqOpt           { return func(r *request) { r.outsideAuth = true } }
func clientAddr(addr string) reqOpt { return header(kit.HeaderClientAddr, addr) }

// call sends one request to /internal/v1/auth+path with a service token.
func (e *env) call(method, path string, body any, opts ...reqOpt) reply {
	e.t.Helper()
	req := request{header: gohttp.Header{}}
	for _, o := range opts {
		o(&req)
	}
	var rd io.Reader
	switch {
	case req.raw != nil:
		rd = strings.NewReader(*req.raw)
	case body != nil:
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	prefix := "/internal/v1/auth"
	if req.outsideAuth {
		prefix = "/internal/v1"
	}
	r, err := gohttp.NewRequest(method, e.srv.URL+prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	r.Header = req.header
	client := e.client
	if req.noService {
		client = e.srv.Client()
	}
	resp, err := client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := reply{status: resp.StatusCode, header: resp.Header}
	out.raw, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(out.raw, &out.body)
	return out
}

// expect fails the test unless the reply has the status (and, for errors, the code).
func (e *env) expect(r reply, status int, code string) {
	e.t.Helper()
	check(e.t, r, status, code)
}

// check is expect for subtests, which must fail their own t.
func check(t testing.TB, r reply, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
}

// session is a signed-in device as the tests use it.
type session struct {
	UserID, DeviceID, Access, Refresh string
	Roles                             []string
}

func (e *env) register(username string) string {
	e.t.Helper()
	r := e.call("POST", "/register", map[string]string{"username": username, "password": goodPass, "display_name": "User " + username})
	e.expect(r, 201, "")
	return r.str("user", "id")
}

func (e *env) signIn(username, pw string, extra map[string]string) (session, reply) {
	e.t.Helper()
	body := map[string]string{"username": username, "password": pw}
	for k, v := range extra {
		body[k] = v
	}
	r := e.call("POST", "/sign-in", body)
	return toSession(r), r
}

func (e *env) mustSignIn(username string) session {
	e.t.Helper()
	s, r := e.signIn(username, goodPass, nil)
	e.expect(r, 200, "")
	return s
}

func toSession(r reply) session {
	s := session{UserID: r.str("user", "id"), DeviceID: r.str("device_id"),
		Access: r.str("access_token"), Refresh: r.str("refresh_token")}
	if u, ok := r.body["user"].(map[string]any); ok {
		roles, _ := u["roles"].([]any)
		for _, x := range roles {
			s.Roles = append(s.Roles, x.(string))
		}
	}
	return s
}

func (e *env) refresh(token string) reply {
	e.t.Helper()
	return e.call("POST", "/refresh", map[string]string{"refresh_token": token})
}

// verifier checks access tokens the way the gateway will: JWKS fetched from
// this server through a service-token transport, at the harness's time.
func (e *env) verifier() *authtoken.Verifier {
	v, err := authtoken.New(authtoken.Config{JWKSURL: e.srv.URL + "/internal/v1/auth/jwks",
		Transport: &svcauth.Transport{Signer: e.svc.Signer}, Now: e.clock.Now, MinRefetchInterval: time.Nanosecond})
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// account reads an account straight from the store.
func (e *env) account(username string) (entity.Account, error) {
	return e.store.AccountByUsername(context.Background(), username)
}

// metric returns the value of one Prometheus sample line, or "" if absent.
func (e *env) metric(sample string) string {
	e.t.Helper()
	r, _ := gohttp.Get(e.srv.URL + "/metrics")
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}

func strconvID(s string) (ids.ID, error) { return ids.Parse(s) }
