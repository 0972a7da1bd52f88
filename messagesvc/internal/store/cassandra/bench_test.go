package cassandra_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/store/storetest"
	"github.com/parleychat/parley/shared/stackenv"
)

// BenchmarkSend1to1 is the store write set of one persisted 1:1 send
// (storetest.BenchSend: 1 LWT + 5 writes) against the local stack's
// Cassandra, with 1 and 32 senders per CPU (GOMAXPROCS). When the stack's
// Cassandra runs on this machine it also reports Cassandra's CPU per send
// (anything else using that Cassandra meanwhile is counted too).
func BenchmarkSend1to1(b *testing.B) {
	st, ks := freshKeyspace(b)
	s := newStore(b, st, ks)
	for _, p := range []int{1, 32} {
		b.Run("p"+strconv.Itoa(p), func(b *testing.B) {
			storetest.BenchSend(b, s, storetest.BenchOptions{Parallelism: p, ServerCPU: cassandraCPU(b)})
		})
	}
}

// BenchmarkClaimSend is the send's one LWT alone.
func BenchmarkClaimSend(b *testing.B) {
	st, ks := freshKeyspace(b)
	s := newStore(b, st, ks)
	storetest.BenchClaimSend(b, s, storetest.BenchOptions{Parallelism: 32, ServerCPU: cassandraCPU(b)})
}

// cassandraCPU reads the stack's Cassandra process CPU time from /proc, via
// the pid file deploy/stack/up.sh writes next to its env file; nil if there
// is none (a remote Cassandra).
func cassandraCPU(b *testing.B) func() time.Duration {
	env, err := stackenv.FindEnvFile()
	if err != nil || env == "" {
		return nil
	}
	pid, err := os.ReadFile(filepath.Join(filepath.Dir(env), "pids", "cassandra.pid"))
	if err != nil {
		return nil
	}
	stat := filepath.Join("/proc", strings.TrimSpace(string(pid)), "stat")
	if _, err := os.Stat(stat); err != nil {
		return nil
	}
	return func() time.Duration {
		raw, err := os.ReadFile(stat)
		if err != nil {
			b.Fatalf("read %s: %v", stat, err)
		}
		// After "(comm)": state is field 3, utime and stime are 14 and 15,
		// in clock ticks of 1/100 s (USER_HZ on Linux).
		_, rest, _ := strings.Cut(string(raw), ") ")
		f := strings.Fields(rest)
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(utime+stime) * 10 * time.Millisecond
	}
}
