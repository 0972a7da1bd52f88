// Package kittest holds test helpers for service binaries.
package kittest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSecret is a valid internal secret for tests.
const TestSecret = "test-internal-secret-0123456789abcdef"

// Binary is a service binary built and started for a test.
type Binary struct {
	cmd *exec.Cmd
	// mu guards listeners: a process running several services keeps logging
	// "listening" lines after the wanted listeners were found.
	mu        sync.Mutex
	listeners map[string]string
	exited    chan error
}

// Build compiles the main package in the current directory into a temp dir.
func Build(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bin")
	build := exec.Command("go", "build", "-o", out, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return out
}

// BuildPackage compiles the main package pkg (an import path) from dir,
// which must be inside the workspace, into a temp dir.
func BuildPackage(t testing.TB, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Dir = dir
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build %s: %v", pkg, err)
	}
	return out
}

// Start runs binary with args and the test secret in its environment, and
// waits until it has logged a "listening" line for each of wantListeners.
func Start(t testing.TB, binary string, args []string, wantListeners ...string) *Binary {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "CHAT_INTERNAL_SECRET="+TestSecret)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &Binary{cmd: cmd, listeners: map[string]string{}, exited: make(chan error, 1)}
	found := make(chan struct{})
	logs := &tail{max: 64 << 10}
	go func() {
		sc := bufio.NewScanner(stderr)
		closed := false
		for sc.Scan() {
			line := sc.Text()
			logs.add(line)
			var rec struct {
				Msg, Listener, Addr string
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				b.mu.Lock()
				b.listeners[rec.Listener] = rec.Addr
				if !closed && hasAll(b.listeners, wantListeners) {
					closed = true
					close(found)
				}
				b.mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		b.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("last log lines of %s:\n%s", filepath.Base(binary), logs.String())
		}
	})
	select {
	case <-found:
	case err := <-b.exited:
		t.Fatalf("%s exited before listening: %v\n%s", binary, err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not report its listeners %v in time\n%s", binary, wantListeners, logs.String())
	}
	return b
}

func hasAll(m map[string]string, keys []string) bool {
	for _, k := range keys {
		if m[k] == "" {
			return false
		}
	}
	return true
}

// Pid returns the process id.
func (b *Binary) Pid() int { return b.cmd.Process.Pid }

// URL returns the base URL of the internal listener.
func (b *Binary) URL() string { return "http://" + b.Addr("internal") }

// Addr returns the bound address of listener.
func (b *Binary) Addr(listener string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listeners[listener]
}

// Get fetches path from listener and returns status and body.
func (b *Binary) Get(t testing.TB, listener, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+b.Addr(listener)+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (b *Binary) Kill(t testing.TB) {
	t.Helper()
	_ = b.cmd.Process.Kill()
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("process survived SIGKILL")
	}
}

// Exited yields the exit error once the process has exited.
func (b *Binary) Exited() <-chan error { return b.exited }

// Terminate sends SIGTERM and returns the exit error (nil for exit 0).
func (b *Binary) Terminate(t testing.TB, within time.Duration) error {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.exited:
		return err
	case <-time.After(within):
		t.Fatalf("no exit within %v of SIGTERM", within)
		return nil
	}
}

// CheckLifecycle is the common binary test: build, start on free ports,
// /healthz and /readyz answer 200 on every listener, /metrics serves
// Prometheus text, and SIGTERM ends the process with exit code 0.
func CheckLifecycle(t *testing.T, args []string, listeners ...string) {
	t.Helper()
	bin := Build(t)
	b := Start(t, bin, args, listeners...)
	for _, l := range listeners {
		if code, body := b.Get(t, l, "/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
			t.Fatalf("%s /healthz = %d %s", l, code, body)
		}
	}
	if code, body := b.Get(t, listeners[0], "/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	if code, body := b.Get(t, listeners[0], "/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics = %d", code)
	}
	if err := b.Terminate(t, 20*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// tail keeps the last max bytes of a process's log, for failure reports.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
	size  int
}

func (l *tail) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	l.size += len(line) + 1
	for l.size > l.max && len(l.lines) > 1 {
		l.size -= len(l.lines[0]) + 1
		l.lines = l.lines[1:]
	}
}

func (l *tail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
