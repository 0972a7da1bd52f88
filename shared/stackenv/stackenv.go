// Package stackenv tells integration tests where the local test stack
// (Redis, Redis Cluster, Cassandra, MinIO) started by deploy/stack/up.sh listens.
//
// up.sh writes KEY=VALUE lines to <repo>/.run/stack/env. Load reads that file and
// lets real environment variables override it, so CI or a developer can point the
// tests at other servers without the file. The file is found, in order, from:
//
//   - CHAT_STACK_ENV: the path of the env file;
//   - CHAT_STACK_DIR (absolute): the run dir given to up.sh, plus "/env";
//   - walking up from the working directory to the first directory holding go.work
//     (the repo root), plus ".run/stack/env".
//
// Tests call Require, which fails the test (it does not skip it) when a value is
// missing or its server does not answer: a stack-dependent test that silently skips
// is a test that never runs. The one exception is the explicit embedded-only quick
// run, CHAT_TEST_QUICK=1, in which Require skips every stack-dependent test.
package stackenv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Keys written by deploy/stack/up.sh.
const (
	RedisAddr         = "CHAT_REDIS_ADDR"          // host:port of the standalone Redis
	RedisClusterAddrs = "CHAT_REDIS_CLUSTER_ADDRS" // comma-separated host:port of the cluster masters
	CassandraHosts    = "CHAT_CASSANDRA_HOSTS"     // comma-separated host:port (CQL)
	CassandraDC       = "CHAT_CASSANDRA_DC"        // local data center name
	S3Endpoint        = "CHAT_S3_ENDPOINT"         // host:port, plain HTTP
	S3AccessKey       = "CHAT_S3_ACCESS_KEY"
	S3SecretKey       = "CHAT_S3_SECRET_KEY"
	S3Region          = "CHAT_S3_REGION"
)

// Variables that steer this package.
const (
	EnvFileVar  = "CHAT_STACK_ENV"  // path of the env file
	StackDirVar = "CHAT_STACK_DIR"  // up.sh's run dir; its "env" file is used
	QuickVar    = "CHAT_TEST_QUICK" // "1": embedded-only quick run, skip stack tests
)

// DefaultRelPath is where up.sh writes the env file, relative to the repo root.
const DefaultRelPath = ".run/stack/env"

// addrKeys are values that name servers; Require checks that they answer.
var addrKeys = map[string]bool{RedisAddr: true, RedisClusterAddrs: true, CassandraHosts: true, S3Endpoint: true}

// DialTimeout bounds Require's reachability check of each address.
var DialTimeout = 2 * time.Second

// Quick reports whether the caller chose the embedded-only quick run
// (CHAT_TEST_QUICK set to 1, true or yes).
func Quick() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(QuickVar))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Env is the merged view of the env file and the process environment.
type Env struct {
	// Path is the env file that was read, or where it was looked for; "" if no
	// repo root was found.
	Path string
	// FileFound reports whether Path existed.
	FileFound bool
	file      map[string]string
	getenv    func(string) (string, bool)
}

// Get returns the value of key: the environment variable if set and non-empty,
// else the env file's value.
func (e *Env) Get(key string) (string, bool) {
	if e.getenv != nil {
		if v, ok := e.getenv(key); ok && v != "" {
			return v, true
		}
	}
	v, ok := e.file[key]
	return v, ok && v != ""
}

// Load finds and reads the env file (see the package doc). A missing file is not
// an error: values may all come from the environment. A malformed file is.
func Load() (*Env, error) {
	path, err := FindEnvFile()
	if err != nil {
		return nil, err
	}
	return LoadFile(path)
}

// LoadFile reads the env file at path (a missing file yields an Env with only the
// process environment) and overlays the process environment.
func LoadFile(path string) (*Env, error) {
	e := &Env{Path: path, file: map[string]string{}, getenv: os.LookupEnv}
	if path == "" {
		return e, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stackenv: %w", err)
	}
	defer f.Close()
	e.file, err = Parse(f)
	if err != nil {
		return nil, fmt.Errorf("stackenv: %s: %w", path, err)
	}
	e.FileFound = true
	return e, nil
}

// Parse reads KEY=VALUE lines as up.sh writes them (and as a shell could source
// them): blank lines and '#' comments are skipped, an "export " prefix is allowed,
// and a value may be wrapped in single or double quotes. Later lines win.
func Parse(r io.Reader) (map[string]string, error) {
	vals := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !validKey(key) {
			return nil, fmt.Errorf("line %d: want KEY=VALUE, got %q", n, line)
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		vals[key] = val
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return vals, nil
}

func validKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// FindEnvFile returns the env file path from CHAT_STACK_ENV, CHAT_STACK_DIR, or the
// repo root above the working directory. It returns "" (no error) when none applies.
func FindEnvFile() (string, error) {
	if p := os.Getenv(EnvFileVar); p != "" {
		return p, nil
	}
	if d := os.Getenv(StackDirVar); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "env"), nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("stackenv: %w", err)
	}
	root, ok := RepoRoot(wd)
	if !ok {
		return "", nil
	}
	return filepath.Join(root, filepath.FromSlash(DefaultRelPath)), nil
}

// RepoRoot walks up from dir to the first directory that holds a go.work file.
func RepoRoot(dir string) (string, bool) {
	dir = filepath.Clean(dir)
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.work")); err == nil && !st.IsDir() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Require returns the values of keys for a test that needs the local stack.
//
// With CHAT_TEST_QUICK=1 it skips the test (t.Skip). Otherwise it fails the test
// (t.Fatalf) when the env file cannot be read, a key has no value, or a server
// address among the keys does not accept a TCP connection within DialTimeout; the
// message says to run deploy/stack/up.sh (or make test).
func Require(t testing.TB, keys ...string) map[string]string {
	t.Helper()
	if Quick() {
		t.Skipf("%s=1 (embedded-only quick run): skipping a test that needs the local stack (%s)",
			QuickVar, strings.Join(keys, ", "))
	}
	env, err := Load()
	if err != nil {
		t.Fatalf("%v\n%s", err, hint)
	}
	vals, problems := resolve(env, keys)
	if len(problems) > 0 {
		t.Fatalf("this test needs the local stack: %s\n%s", strings.Join(problems, "; "), hint)
	}
	return vals
}

const hint = "Start it with `deploy/stack/up.sh` (or run `make test`, which does), " +
	"or set CHAT_TEST_QUICK=1 to skip the tests that need it."

// resolve looks keys up and checks the addresses; it returns the values and a list
// of human-readable problems (empty when all is well).
func resolve(env *Env, keys []string) (map[string]string, []string) {
	vals := make(map[string]string, len(keys))
	var missing, problems []string
	for _, k := range keys {
		v, ok := env.Get(k)
		if !ok {
			missing = append(missing, k)
			continue
		}
		vals[k] = v
	}
	if len(missing) > 0 {
		where := "no env file found (not inside the repo?)"
		switch {
		case env.Path != "" && env.FileFound:
			where = "not in " + env.Path + " nor in the environment"
		case env.Path != "":
			where = env.Path + " does not exist and the environment does not set them"
		}
		sort.Strings(missing)
		problems = append(problems, fmt.Sprintf("%s missing (%s)", strings.Join(missing, ", "), where))
	}
	for _, k := range keys {
		if v, ok := vals[k]; ok && addrKeys[k] {
			for _, addr := range Split(v) {
				if err := checkAddr(addr); err != nil {
					problems = append(problems, fmt.Sprintf("%s=%s: %v", k, v, err))
					break
				}
			}
		}
	}
	return vals, problems
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	if _, err := strconv.Atoi(port); err != nil || host == "" {
		return fmt.Errorf("want host:port, got %q", addr)
	}
	c, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return fmt.Errorf("not reachable (is the stack down?): %w", err)
	}
	return c.Close()
}

// Split splits a comma-separated list such as CHAT_REDIS_CLUSTER_ADDRS, dropping
// blanks.
func Split(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
