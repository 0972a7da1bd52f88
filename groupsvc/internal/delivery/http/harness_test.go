package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	gohttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/groupsvc/internal/clients"
	grouphttp "github.com/parleychat/parley/groupsvc/internal/delivery/http"
	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/store/cassandra"
	"github.com/parleychat/parley/groupsvc/internal/store/embedded"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/stackenv"
	"github.com/parleychat/parley/shared/svcauth"
)

const testSecret = "component-test-secret-0123456789abcdef"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeAuth is authsvc's accounts endpoint: the users that exist.
type fakeAuth struct {
	mu    sync.Mutex
	users map[ids.ID]bool
}

func (f *fakeAuth) ServeHTTP(w gohttp.ResponseWriter, r *gohttp.Request) {
	id, err := ids.Parse(strings.TrimPrefix(r.URL.Path, "/internal/v1/accounts/"))
	f.mu.Lock()
	ok := err == nil && f.users[id]
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(gohttp.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such user"}}`))
		return
	}
	_, _ = w.Write([]byte(`{"user":{}}`))
}

// fakeMessages is messagesvc's group-events endpoint.
type fakeMessages struct {
	mu     sync.Mutex
	down   bool
	reject string // a kind answered 400 invalid_argument
	events []groupapi.GroupEvent
	seen   map[ids.ID]bool
}

func (f *fakeMessages) ServeHTTP(w gohttp.ResponseWriter, r *gohttp.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down || r.URL.Path != groupapi.PathGroupEvents {
		w.WriteHeader(gohttp.StatusServiceUnavailable)
		return
	}
	var ev groupapi.GroupEvent
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		w.WriteHeader(gohttp.StatusBadRequest)
		return
	}
	if ev.Kind == f.reject {
		w.WriteHeader(gohttp.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid_argument","message":"bad event"}}`))
		return
	}
	if !f.seen[ev.EventID] { // EventID is the idempotency key
		f.seen[ev.EventID] = true
		f.events = append(f.events, ev)
	}
	_ = json.NewEncoder(w).Encode(groupapi.GroupEventResult{MessageID: ev.EventID})
}

func (f *fakeMessages) setDown(v bool) { f.mu.Lock(); f.down = v; f.mu.Unlock() }

func (f *fakeMessages) kinds(group ids.ID) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, ev := range f.events {
		if ev.Group == group {
			out = append(out, ev.Kind)
		}
	}
	return out
}

func (f *fakeMessages) last(group ids.ID) groupapi.GroupEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.events) - 1; i >= 0; i-- {
		if f.events[i].Group == group {
			return f.events[i]
		}
	}
	return groupapi.GroupEvent{}
}

type options struct {
	limits    entity.PlatformLimits
	cassandra bool
}

// withCassandra runs the env on the stack's Cassandra (fresh keyspace).
func withCassandra() option { return func(o *options) { o.cassandra = true } }

// store is what a backend provides.
type store interface {
	usecase.GroupStore
	usecase.LimitStore
	Close() error
}

type option func(*options)

func withLimits(def, ceiling int) option {
	return func(o *options) { o.limits = entity.PlatformLimits{Default: def, Ceiling: ceiling} }
}

// env is groupsvc wired as in production over the embedded store, served
// by httptest, with a fake authsvc and messagesvc.
type env struct {
	t        testing.TB
	srv      *httptest.Server
	uc       *usecase.Service
	store    store
	auth     *fakeAuth
	messages *fakeMessages
	signer   *svcauth.Signer
	ids      *ids.Generator
}

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	o := options{limits: entity.PlatformLimits{Default: 50, Ceiling: 200}}
	for _, opt := range opts {
		opt(&o)
	}
	var st store
	var err error
	if o.cassandra {
		st, err = cassandra.Open(freshKeyspace(t), discard)
	} else {
		st, err = embedded.Open(embedded.Config{Dir: t.TempDir()}, discard)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := kit.NewService("groupsvc", kit.BaseConfig{InternalSecret: config.NewSecret(testSecret)}, discard)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, auth: &fakeAuth{users: map[ids.ID]bool{}}, messages: &fakeMessages{seen: map[ids.ID]bool{}}}
	authSrv := httptest.NewServer(e.auth)
	msgSrv := httptest.NewServer(e.messages)
	t.Cleanup(authSrv.Close)
	t.Cleanup(msgSrv.Close)
	e.signer = svc.Signer
	rt := &svcauth.Transport{Signer: svc.Signer}
	e.ids, _ = ids.NewGenerator(3)
	e.uc = usecase.New(usecase.Config{Limits: o.limits, HardMax: 1000, MaxBatch: 100},
		usecase.Deps{Groups: st, Limits: st, Users: clients.NewUsers(kit.NewClient(authSrv.URL, rt, time.Second)),
			Messages: clients.NewMessages(kit.NewClient(msgSrv.URL, rt, time.Second)),
			IDs:      e.ids, Now: time.Now, Logger: discard, Metrics: usecase.NewMetrics(svc.Ops.Registry)})
	engine, api := svc.InternalEngine()
	grouphttp.NewHandler(e.uc).Register(api)
	e.srv = httptest.NewServer(engine)
	t.Cleanup(e.srv.Close)
	return e
}

// user registers an account with authsvc and returns its id.
func (e *env) user() ids.ID {
	id := e.ids.Next()
	e.auth.mu.Lock()
	e.auth.users[id] = true
	e.auth.mu.Unlock()
	return id
}

func (e *env) users(n int) []ids.ID {
	out := make([]ids.ID, n)
	for i := range out {
		out[i] = e.user()
	}
	return out
}

// as is a caller: a signed-in user as the gateway's relay vouches for them.
type as struct {
	user  ids.ID
	roles string
}

func admin(u ids.ID) as { return as{user: u, roles: "admin"} }

// call sends a request as the gateway would (service token, identity
// headers) and returns the status and the decoded body.
func (e *env) call(who as, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.do(who, method, path, body, true)
}

func (e *env) do(who as, method, path string, body any, token bool) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := gohttp.NewRequestWithContext(context.Background(), method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token {
		tok, _ := e.signer.Token()
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if who.user != 0 {
		req.Header.Set(kit.HeaderUserID, who.user.String())
		req.Header.Set(kit.HeaderDeviceID, "1")
		req.Header.Set(kit.HeaderRoles, who.roles)
	}
	resp, err := gohttp.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// must fails the test unless the call answers want.
func (e *env) must(want int, who as, method, path string, body any) map[string]any {
	e.t.Helper()
	code, out := e.call(who, method, path, body)
	if code != want {
		e.t.Fatalf("%s %s = %d %v, want %d", method, path, code, out, want)
	}
	return out
}

// create makes a group owned by owner with members and returns its id.
func (e *env) create(owner ids.ID, members ...ids.ID) ids.ID {
	e.t.Helper()
	out := e.must(201, as{user: owner}, "POST", "/internal/v1/groups", map[string]any{"name": "team", "members": members})
	id, err := ids.Parse(out["group"].(map[string]any)["id"].(string))
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) dispatch() {
	e.t.Helper()
	if err := e.uc.DispatchPending(context.Background()); err != nil {
		e.t.Fatalf("dispatch: %v", err)
	}
}

func group(out map[string]any) map[string]any { return out["group"].(map[string]any) }

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func detail(out map[string]any, key string) string {
	e, _ := out["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	v, _ := d[key].(string)
	return v
}

func gpath(g ids.ID, rest string) string { return "/internal/v1/groups/" + g.String() + rest }

// freshKeyspace migrates a new keyspace and drops it at the end.
func freshKeyspace(t testing.TB) cassandra.Config {
	t.Helper()
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	cfg := cassandra.Config{Hosts: stackenv.Split(env[stackenv.CassandraHosts]), DC: env[stackenv.CassandraDC],
		Keyspace: fmt.Sprintf("groupsvc_http_%d", rand.Uint32()), Timeout: 10 * time.Second, ConnectTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = cassandra.DropKeyspace(ctx, cfg)
	})
	if err := cassandra.Migrate(ctx, cfg, discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return cfg
}
