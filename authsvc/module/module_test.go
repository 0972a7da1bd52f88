package module

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/store/cassandra"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/stackenv"
	"github.com/parleychat/parley/shared/svcauth"
)

const testSecret = "module-test-secret-0123456789abcdef"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// parse builds a Config from flags the way the binary does.
func parse(t *testing.T, args ...string) Config {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	args = append([]string{"-internal.addr=127.0.0.1:0", "-internal.secret=" + testSecret,
		"-auth.argon2.memory-kib=64", "-auth.argon2.iterations=1"}, args...)
	if err := config.Parse(fs, args, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// running is a started module and a client that speaks to it as a service.
type running struct {
	t      *testing.T
	base   string
	client *http.Client
	stop   func()
}

// start runs a module for the test; stop (also called at cleanup) shuts it down.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	svc, err := kit.NewService(Name, cfg.BaseConfig, discard)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	r := &running{t: t, base: "http://" + m.Addr(), client: &http.Client{Transport: &svcauth.Transport{Signer: svc.Signer}}}
	r.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(r.stop)
	return r
}

func (r *running) call(method, path string, body any, header map[string]string) (int, map[string]any) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (r *running) register(username, pw string) int {
	code, _ := r.call("POST", "/internal/v1/auth/register", map[string]string{"username": username, "password": pw, "display_name": username}, nil)
	return code
}

func (r *running) signIn(username, pw string) (int, map[string]any) {
	return r.call("POST", "/internal/v1/auth/sign-in", map[string]string{"username": username, "password": pw}, nil)
}

func (r *running) kids() []string {
	_, body := r.call("GET", "/internal/v1/auth/jwks", nil, nil)
	var out []string
	keys, _ := body["keys"].([]any)
	for _, k := range keys {
		out = append(out, k.(map[string]any)["kid"].(string))
	}
	return out
}

func TestConfigRejectsBadSettings(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown store":           {"-auth.store.backend=postgres"},
		"cassandra without hosts": {"-auth.store.backend=cassandra"},
		"redis without addrs":     {"-auth.ratelimit.backend=redis"},
		"unknown limiter":         {"-auth.ratelimit.backend=disk"},
		"refresh below access":    {"-auth.refresh-ttl=10m"},
		"tiny argon2 memory":      {"-auth.argon2.memory-kib=1"},
		"node id out of range":    {"-auth.node-id=5000"},
		"zero account limit":      {"-auth.ratelimit.account-limit=0"},
		"bad keyspace":            {"-auth.store.backend=cassandra", "-auth.cassandra.hosts=h", "-auth.cassandra.keyspace=drop table"},
	} {
		t.Run(name, func(t *testing.T) {
			var cfg Config
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			cfg.RegisterFlags(fs)
			args = append([]string{"-internal.secret=" + testSecret}, args...)
			if err := config.Parse(fs, args, func(string) (string, bool) { return "", false }); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestEmbeddedRestartKeepsAccountsAndSigningKeys(t *testing.T) {
	dir := t.TempDir()
	r := start(t, parse(t, "-auth.data-dir="+dir))
	if code := r.register("alice", "correct horse battery"); code != 201 {
		t.Fatalf("register = %d", code)
	}
	kids := r.kids()
	r.stop()

	r = start(t, parse(t, "-auth.data-dir="+dir))
	if code, _ := r.signIn("alice", "correct horse battery"); code != 200 {
		t.Fatalf("sign-in after restart = %d", code)
	}
	if got := r.kids(); strings.Join(got, ",") != strings.Join(kids, ",") || len(got) != 1 {
		t.Fatalf("keys after restart %v, before %v", got, kids)
	}
}

func TestBootstrapAdminCommandCreatesAdminFromStdinOrEnv(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	noEnv := func(string) (string, bool) { return "", false }
	err := bootstrapAdminCommand(ctx, []string{"-username", "Root", "-auth.data-dir=" + dir, "-log.level=error"},
		cmdIO{stdin: strings.NewReader("root password 1\n"), stdout: &out, lookupEnv: noEnv})
	if err != nil || !strings.Contains(out.String(), "created admin root") {
		t.Fatalf("bootstrap: %v, %q", err, out.String())
	}
	env := func(k string) (string, bool) { return "second admin pw", k == BootstrapPasswordEnv }
	if err := bootstrapAdminCommand(ctx, []string{"-username", "ops", "-auth.data-dir=" + dir, "-log.level=error"},
		cmdIO{stdin: strings.NewReader(""), stdout: &out, lookupEnv: env}); err != nil {
		t.Fatalf("bootstrap from env: %v", err)
	}
	for name, c := range map[string]struct {
		args  []string
		stdin string
	}{
		"no username":    {[]string{"-auth.data-dir=" + dir}, "whatever password\n"},
		"no password":    {[]string{"-username", "x1x", "-auth.data-dir=" + dir}, ""},
		"weak password":  {[]string{"-username", "x2x", "-auth.data-dir=" + dir}, "short\n"},
		"username taken": {[]string{"-username", "root", "-auth.data-dir=" + dir}, "root password 2\n"},
	} {
		if err := bootstrapAdminCommand(ctx, append(c.args, "-log.level=error"),
			cmdIO{stdin: strings.NewReader(c.stdin), stdout: io.Discard, lookupEnv: noEnv}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}

	r := start(t, parse(t, "-auth.data-dir="+dir))
	code, body := r.signIn("root", "root password 1")
	roles, _ := body["user"].(map[string]any)["roles"].([]any)
	if code != 200 || len(roles) != 1 || roles[0] != "admin" {
		t.Fatalf("admin sign-in = %d %v", code, body)
	}
}

func TestBootstrapAdminFlagPromotesExistingAccountAtStartup(t *testing.T) {
	dir := t.TempDir()
	r := start(t, parse(t, "-auth.data-dir="+dir))
	if code := r.register("carol", "correct horse battery"); code != 201 {
		t.Fatal(code)
	}
	r.stop()
	for range 2 { // promoting an admin again is a no-op
		r = start(t, parse(t, "-auth.data-dir="+dir, "-auth.bootstrap-admin=Carol"))
		code, body := r.signIn("carol", "correct horse battery")
		roles, _ := body["user"].(map[string]any)["roles"].([]any)
		if code != 200 || len(roles) != 1 || roles[0] != "admin" {
			t.Fatalf("after promotion: %d %v", code, body)
		}
		r.stop()
	}
}

func TestBootstrapAdminFlagForUnknownAccountFailsStartup(t *testing.T) {
	cfg := parse(t, "-auth.data-dir="+t.TempDir(), "-auth.bootstrap-admin=nobody")
	svc, _ := kit.NewService(Name, cfg.BaseConfig, discard)
	if _, err := New(cfg, svc); err == nil || !strings.Contains(err.Error(), "no such account") {
		t.Fatalf("New = %v, want a clear error", err)
	}
}

func TestMigrateCommandWithEmbeddedStoreIsANoop(t *testing.T) {
	if err := migrateCommand(context.Background(), []string{"-auth.data-dir=" + t.TempDir(), "-log.level=error"},
		cmdIO{stdout: io.Discard, lookupEnv: func(string) (string, bool) { return "", false }}); err != nil {
		t.Fatal(err)
	}
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestCassandraAndRedisBackendsEndToEnd runs the production backends of the
// real stack through the HTTP API: migrations at startup (twice), concurrent
// registration, sign-in, rotation, reuse detection and the shared rate limit.
func TestCassandraAndRedisBackendsEndToEnd(t *testing.T) {
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC, stackenv.RedisAddr)
	keyspace := "authsvc_e2e_" + randomName()
	args := []string{"-auth.store.backend=cassandra", "-auth.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-auth.cassandra.dc=" + env[stackenv.CassandraDC], "-auth.cassandra.keyspace=" + keyspace,
		"-auth.ratelimit.backend=redis", "-auth.redis.addrs=" + env[stackenv.RedisAddr],
		"-auth.redis.key-prefix=test:" + randomName() + ":", "-auth.ratelimit.account-limit=3"}
	cfg := parse(t, args...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = cassandra.DropKeyspace(ctx, cfg.Auth.cassandra())
	})
	if err := migrateCommand(context.Background(), append(args, "-log.level=error"),
		cmdIO{stdout: io.Discard, lookupEnv: func(string) (string, bool) { return "", false }}); err != nil {
		t.Fatalf("migrate command: %v", err)
	}
	a := start(t, cfg)
	b := start(t, parse(t, args...)) // a second replica: migrates again (a no-op), shares keys and limits

	if code, body := a.call("GET", "/readyz", nil, nil); code != 200 {
		t.Fatalf("readyz = %d %v", code, body)
	}
	if ka, kb := a.kids(), b.kids(); len(ka) != 1 || strings.Join(ka, ",") != strings.Join(kb, ",") {
		t.Fatalf("replicas publish different keys: %v vs %v", ka, kb)
	}

	const n = 20
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := a
			if i%2 == 1 {
				r = b
			}
			codes[i] = r.register("dave", "correct horse battery")
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		if c == 201 {
			created++
		} else if c != 409 {
			t.Fatalf("registration answered %d", c)
		}
	}
	if created != 1 {
		t.Fatalf("%d of %d concurrent registrations succeeded: %v", created, n, codes)
	}

	code, sess := a.signIn("dave", "correct horse battery")
	if code != 200 {
		t.Fatalf("sign-in = %d %v", code, sess)
	}
	refresh := sess["refresh_token"].(string)
	code, next := b.call("POST", "/internal/v1/auth/refresh", map[string]string{"refresh_token": refresh}, nil)
	if code != 200 {
		t.Fatalf("refresh on the other replica = %d %v", code, next)
	}
	if code, _ := a.call("POST", "/internal/v1/auth/refresh", map[string]string{"refresh_token": refresh}, nil); code != 401 {
		t.Fatalf("reused refresh token = %d, want 401", code)
	}
	if code, _ := b.call("POST", "/internal/v1/auth/refresh", map[string]string{"refresh_token": next["refresh_token"].(string)}, nil); code != 401 {
		t.Fatalf("successor after reuse = %d, want 401 (session revoked)", code)
	}

	// The per-account limit (3) is shared through Redis by both replicas.
	a.signIn("dave", "wrong password 1")
	b.signIn("dave", "wrong password 2")
	if code, body := a.signIn("dave", "correct horse battery"); code != 429 {
		t.Fatalf("4th attempt across replicas = %d %v, want 429", code, body)
	}
}
