package stackenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakeTB records Fatalf/Skipf and ends the goroutine the way testing.T does.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// runRequire calls Require in its own goroutine (Fatalf/Skipf end it) and reports
// the outcome.
func runRequire(t *testing.T, keys ...string) (vals map[string]string, fatal, skipped string) {
	t.Helper()
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		vals = Require(f, keys...)
	}()
	<-done
	return vals, f.fatal, f.skipped
}

// isolate clears every variable this package reads, so the developer's own
// environment (or a running stack) cannot change the outcome.
func isolate(t *testing.T) {
	t.Helper()
	for _, k := range []string{EnvFileVar, StackDirVar, QuickVar, RedisAddr, RedisClusterAddrs,
		CassandraHosts, CassandraDC, S3Endpoint, S3AccessKey, S3SecretKey, S3Region} {
		t.Setenv(k, "")
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// listen returns the address of a TCP listener that lives for the test.
func listen(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

// closedAddr returns an address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestParse(t *testing.T) {
	in := `# written by up.sh
CHAT_REDIS_ADDR=127.0.0.1:17379

export CHAT_S3_REGION=us-east-1
  CHAT_S3_SECRET_KEY = "quoted value"
CHAT_S3_ACCESS_KEY='single'
CHAT_EMPTY=
CHAT_EQUALS=a=b
CHAT_REDIS_ADDR=127.0.0.1:1
`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CHAT_REDIS_ADDR":    "127.0.0.1:1", // later lines win
		"CHAT_S3_REGION":     "us-east-1",
		"CHAT_S3_SECRET_KEY": "quoted value",
		"CHAT_S3_ACCESS_KEY": "single",
		"CHAT_EMPTY":         "",
		"CHAT_EQUALS":        "a=b",
	}
	if len(got) != len(want) {
		t.Errorf("got %d keys %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"no equals sign", "=value", "1KEY=x", "BAD-KEY=x"} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q): want an error", in)
		} else if !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Parse(%q): error %q does not name the line", in, err)
		}
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	isolate(t)
	p := writeFile(t, t.TempDir(), "env", "CHAT_REDIS_ADDR=127.0.0.1:1\nCHAT_S3_REGION=us-east-1\n")
	t.Setenv(RedisAddr, "127.0.0.1:2")
	env, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !env.FileFound || env.Path != p {
		t.Errorf("FileFound=%v Path=%q, want true %q", env.FileFound, env.Path, p)
	}
	if v, _ := env.Get(RedisAddr); v != "127.0.0.1:2" {
		t.Errorf("%s = %q, want the environment's value", RedisAddr, v)
	}
	if v, _ := env.Get(S3Region); v != "us-east-1" {
		t.Errorf("%s = %q, want the file's value", S3Region, v)
	}
	if _, ok := env.Get(CassandraDC); ok {
		t.Errorf("%s: want missing", CassandraDC)
	}
}

func TestLoadFileMissingIsNotAnError(t *testing.T) {
	isolate(t)
	t.Setenv(CassandraDC, "dc9")
	env, err := LoadFile(filepath.Join(t.TempDir(), "nope"))
	if err != nil {
		t.Fatal(err)
	}
	if env.FileFound {
		t.Error("FileFound: want false")
	}
	if v, _ := env.Get(CassandraDC); v != "dc9" {
		t.Errorf("%s = %q, want the environment's value", CassandraDC, v)
	}
}

func TestFindEnvFile(t *testing.T) {
	isolate(t)
	root := t.TempDir()
	writeFile(t, root, "go.work", "go 1.26\n")
	sub := filepath.Join(root, "deploy", "stacktest")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	want := filepath.Join(root, ".run", "stack", "env")
	if got, err := FindEnvFile(); err != nil || got != want {
		t.Errorf("walk up: got %q, %v; want %q", got, err, want)
	}

	t.Setenv(StackDirVar, "relative/dir") // ignored: it would be relative to the test's cwd
	if got, _ := FindEnvFile(); got != want {
		t.Errorf("relative %s: got %q, want %q", StackDirVar, got, want)
	}
	t.Setenv(StackDirVar, "/tmp/stack")
	if got, _ := FindEnvFile(); got != filepath.Join("/tmp/stack", "env") {
		t.Errorf("%s: got %q", StackDirVar, got)
	}
	t.Setenv(EnvFileVar, "/somewhere/env")
	if got, _ := FindEnvFile(); got != "/somewhere/env" {
		t.Errorf("%s: got %q", EnvFileVar, got)
	}
}

func TestRepoRootWalksUpToTheNearestGoWork(t *testing.T) {
	top := t.TempDir()
	deep := filepath.Join(top, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	// Without a go.work in the tree, whatever is found lies above it.
	if root, ok := RepoRoot(deep); ok && (strings.HasPrefix(root+string(filepath.Separator), top+string(filepath.Separator))) {
		t.Fatalf("found %s inside a tree without go.work", root)
	}
	if err := os.WriteFile(filepath.Join(top, "a", "go.work"), []byte("go 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if root, ok := RepoRoot(deep); !ok || root != filepath.Join(top, "a") {
		t.Fatalf("RepoRoot = %q, %v; want %s", root, ok, filepath.Join(top, "a"))
	}
}

func TestQuick(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "no": false, "1": true, "true": true, "YES": true} {
		t.Setenv(QuickVar, v)
		if got := Quick(); got != want {
			t.Errorf("%s=%q: Quick() = %v, want %v", QuickVar, v, got, want)
		}
	}
}

func TestRequireReturnsValues(t *testing.T) {
	isolate(t)
	redis, s3 := listen(t), listen(t)
	p := writeFile(t, t.TempDir(), "env",
		"CHAT_REDIS_ADDR="+redis+"\nCHAT_S3_ENDPOINT="+s3+"\nCHAT_S3_REGION=us-east-1\n")
	t.Setenv(EnvFileVar, p)
	vals, fatal, skipped := runRequire(t, RedisAddr, S3Endpoint, S3Region)
	if fatal != "" || skipped != "" {
		t.Fatalf("fatal=%q skipped=%q", fatal, skipped)
	}
	if vals[RedisAddr] != redis || vals[S3Endpoint] != s3 || vals[S3Region] != "us-east-1" {
		t.Errorf("got %v", vals)
	}
}

func TestRequireFailsWhenMissing(t *testing.T) {
	isolate(t)
	t.Setenv(EnvFileVar, filepath.Join(t.TempDir(), "env")) // does not exist
	_, fatal, skipped := runRequire(t, CassandraHosts, CassandraDC)
	if skipped != "" {
		t.Fatalf("skipped (%q): a missing stack must fail the test", skipped)
	}
	for _, want := range []string{"CHAT_CASSANDRA_DC, CHAT_CASSANDRA_HOSTS missing", "does not exist", "deploy/stack/up.sh"} {
		if !strings.Contains(fatal, want) {
			t.Errorf("fatal message %q does not contain %q", fatal, want)
		}
	}
}

func TestRequireFailsWhenUnreachable(t *testing.T) {
	isolate(t)
	up, down := listen(t), closedAddr(t)
	p := writeFile(t, t.TempDir(), "env", "CHAT_REDIS_CLUSTER_ADDRS="+up+","+down+"\n")
	t.Setenv(EnvFileVar, p)
	_, fatal, skipped := runRequire(t, RedisClusterAddrs)
	if skipped != "" {
		t.Fatalf("skipped (%q): want a failure", skipped)
	}
	if !strings.Contains(fatal, "not reachable") || !strings.Contains(fatal, "deploy/stack/up.sh") {
		t.Errorf("fatal message %q: want it to say the server is not reachable and how to start it", fatal)
	}
}

func TestRequireFailsOnMalformedFile(t *testing.T) {
	isolate(t)
	t.Setenv(EnvFileVar, writeFile(t, t.TempDir(), "env", "garbage\n"))
	_, fatal, _ := runRequire(t, RedisAddr)
	if !strings.Contains(fatal, "line 1") {
		t.Errorf("fatal message %q: want the parse error", fatal)
	}
}

func TestRequireSkipsInQuickMode(t *testing.T) {
	isolate(t)
	t.Setenv(EnvFileVar, filepath.Join(t.TempDir(), "env"))
	t.Setenv(QuickVar, "1")
	_, fatal, skipped := runRequire(t, RedisAddr)
	if fatal != "" {
		t.Fatalf("fatal %q: quick mode must skip", fatal)
	}
	if !strings.Contains(skipped, QuickVar+"=1") {
		t.Errorf("skip reason %q does not mention %s=1", skipped, QuickVar)
	}
}

func TestSplit(t *testing.T) {
	got := Split(" a:1, b:2 ,,c:3,")
	if strings.Join(got, "|") != "a:1|b:2|c:3" {
		t.Errorf("Split = %q", got)
	}
	if Split("") != nil {
		t.Error("Split(\"\"): want nil")
	}
}
