//go:build unix

package wsapi_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/wsclient"
)

// The benchmarks keep their clients in a child process (this test binary,
// run again with helperEnv set), so the memory and CPU measured in this
// process are the gateway's alone.
const helperEnv = "PARLEY_WSAPI_BENCH_CLIENTS"

// goroutinesAtStart lets a benchmark wait until an earlier one's
// connections are gone before it takes its baseline.
var goroutinesAtStart int

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		runClientProcess(spec)
		os.Exit(0)
	}
	goroutinesAtStart = runtime.NumGoroutine()
	os.Exit(m.Run())
}

// productionConfig is the gateway's default configuration (module/config.go).
func productionConfig(c *wsapi.Config) {
	c.Limits = protocol.DefaultLimits()
	c.Queue = conn.Options{MaxQueue: 256, WriteTimeout: 10 * time.Second}
	c.Rates = map[string]protocol.RateLimit{
		protocol.RateFrames: {PerMinute: 600, Burst: 60}, protocol.RateSend: {PerMinute: 120, Burst: 20},
		protocol.RateTyping: {PerMinute: 30, Burst: 5}, protocol.RateHistory: {PerMinute: 60, Burst: 10}}
	c.MaxStrikes = 10
}

// clientProcess is the child holding n authenticated clients, users 1..n
// with device "d", counting every frame pushed to them.
type clientProcess struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startClients(b *testing.B, e *env, n int) *clientProcess {
	b.Helper()
	spec := strings.Join([]string{e.url(), strconv.Itoa(n), hex.EncodeToString(e.priv.Seed())}, "|")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+spec)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &clientProcess{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	b.Cleanup(p.stop)
	if line := p.line(b); line != "ready" {
		b.Fatalf("client process: %s", line)
	}
	return p
}

func (p *clientProcess) line(b *testing.B) string {
	if !p.out.Scan() {
		b.Fatalf("client process ended: %v", p.out.Err())
	}
	return p.out.Text()
}

// waitReceived returns once the clients have received n pushed frames in all.
func (p *clientProcess) waitReceived(b *testing.B, n int64) {
	fmt.Fprintf(p.in, "wait %d\n", n)
	if line := p.line(b); line != "ok" {
		b.Fatalf("client process: %s", line)
	}
}

func (p *clientProcess) stop() {
	if p.cmd.ProcessState == nil {
		_ = p.in.Close()
		_ = p.cmd.Wait()
	}
}

func runClientProcess(spec string) {
	parts := strings.Split(spec, "|")
	url := parts[0]
	n, _ := strconv.Atoi(parts[1])
	seed, _ := hex.DecodeString(parts[2])
	priv := ed25519.NewKeyFromSeed(seed)
	var received atomic.Int64
	clients := make([]*wsclient.Client, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				tok := signToken(nil, priv, ids.ID(i+1), "d", time.Now(), time.Hour)
				c, err := wsclient.Connect(context.Background(), url, wsclient.Options{Token: tok,
					Dialer: &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 256, HandshakeTimeout: 30 * time.Second},
					OnPush: func(wsclient.Push) { received.Add(1) }})
				if err != nil {
					failed.Store(fmt.Sprintf("client %d: %v", i, err))
					return
				}
				clients[i] = c
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		fmt.Println(f)
		return
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if want, ok := strings.CutPrefix(in.Text(), "wait "); ok {
			target, _ := strconv.ParseInt(want, 10, 64)
			deadline := time.Now().Add(2 * time.Minute)
			for received.Load() < target && time.Now().Before(deadline) {
				time.Sleep(200 * time.Microsecond)
			}
			if got := received.Load(); got < target {
				fmt.Printf("received %d of %d\n", got, target)
				continue
			}
			fmt.Println("ok")
		}
	}
}

func waitFor(b testing.TB, what string, wait time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type memSample struct{ heapAlloc, heapInuse, stackInuse uint64 }

// memNow collects garbage several times (each may halve the stacks that
// grew during the handshake and are idle now) and samples the heap.
func memNow() memSample {
	for range 4 {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{m.HeapAlloc, m.HeapInuse, m.StackInuse}
}

// BenchmarkIdleConnectionMemory measures Go heap and stack per idle,
// authenticated connection with the production configuration (N from
// PARLEY_BENCH_CONNS, default 2000; PARLEY_BENCH_HEAP_PROFILE=file saves
// a heap profile of the gateway holding them). Run it once per process:
// a later run reuses the goroutines (descriptor and stack) the earlier
// one's connections left on the runtime's free list, and reads about
// 1 KiB per connection low.
//
//	go test -run '^$' -bench IdleConnectionMemory -benchtime 1x -count 1 ./gateway/internal/wsapi/
func BenchmarkIdleConnectionMemory(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_CONNS")); err == nil && v > 0 {
		n = v
	}
	if os.Getenv("PARLEY_BENCH_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 64
	}
	for range b.N {
		waitFor(b, "earlier connections gone", time.Minute, func() bool { return runtime.NumGoroutine() <= goroutinesAtStart+10 })
		e := newEnv(b, withConfig(productionConfig))
		// Warm up every code path once so lazily built state (pools,
		// metric series, the sweeper's first run) is in the baseline.
		c, err := wsclient.Connect(context.Background(), e.url(), wsclient.Options{Token: e.token(999_999, "warm", time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		_, _ = c.Ping(context.Background())
		_ = c.Close()
		waitFor(b, "warm-up connection gone", 10*time.Second, func() bool { return e.hub.Count() == 0 })
		e.hub.Sweep(time.Now(), e.cfg.Sweep)

		before := memNow()
		p := startClients(b, e, n)
		waitFor(b, "every connection authenticated", time.Minute, func() bool { return e.metric("gateway_authenticated_connections") == float64(n) })
		e.hub.Sweep(time.Now(), e.cfg.Sweep)
		after := memNow()
		if path := os.Getenv("PARLEY_BENCH_HEAP_PROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			_ = f.Close()
		}
		per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
		b.ReportMetric(per(after.heapAlloc, before.heapAlloc), "heap-alloc-B/conn")
		b.ReportMetric(per(after.heapInuse, before.heapInuse), "heap-inuse-B/conn")
		b.ReportMetric(per(after.stackInuse, before.stackInuse), "stack-B/conn")
		b.ReportMetric(per(after.heapInuse+after.stackInuse, before.heapInuse+before.stackInuse), "heap+stack-B/conn")
		b.ReportMetric(float64(runtime.NumGoroutine())/float64(n), "goroutines/conn")
		p.stop()
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPushToThousandConnections pushes one 1:1 message frame to each
// of 1,000 local connections per op, as one router push batch, and reports
// the gateway's CPU (user+system of this process: the push, the writers,
// the GC) per delivered frame. "burst" pushes without waiting, so writers
// find several frames queued; "one-by-one" waits for every frame to arrive
// before the next push, so each frame is one write per connection.
//
//	go test -run '^$' -bench PushToThousand -benchtime 2000x ./gateway/internal/wsapi/
func BenchmarkPushToThousandConnections(b *testing.B) {
	const n = 1000
	frame := []byte(`{"v":1,"type":"message","message_id":"118274011213066240","conversation_id":"d:118242603245961216:118242718090166272",` +
		`"sender_id":"118242603245961216","kind":"user","body":"Hi Bob! Lunch at 12:30?","sent_at_ms":1763776800123,"cursor":"v1.AAABmqG3nQ8"}`)
	batch := routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: frame}}}
	for i := range n {
		batch.Items[0].Conns = append(batch.Items[0].Conns, routerapi.Conn{UserID: ids.ID(i + 1), DeviceID: "d"})
	}
	for _, mode := range []string{"burst", "one-by-one"} {
		b.Run(mode, func(b *testing.B) {
			e := newEnv(b, withConfig(func(c *wsapi.Config) {
				productionConfig(c)
				c.Queue.MaxQueue = 1 << 20 // a burst benchmark must not overflow
			}))
			p := startClients(b, e, n)
			waitFor(b, "every connection authenticated", time.Minute, func() bool { return e.metric("gateway_authenticated_connections") == n })
			runtime.GC()
			b.ResetTimer()
			cpu0, wall0 := cpuTime(), time.Now()
			for i := range b.N {
				if res := e.hub.Push(batch); res.Delivered != n {
					b.Fatalf("delivered %d", res.Delivered)
				}
				if mode == "one-by-one" {
					p.waitReceived(b, int64(i+1)*n)
				}
			}
			p.waitReceived(b, int64(b.N)*n)
			cpu, wall := cpuTime()-cpu0, time.Since(wall0)
			b.StopTimer()
			frames := float64(b.N) * n
			b.ReportMetric(float64(cpu.Nanoseconds())/frames/1e3, "cpu-µs/frame")
			b.ReportMetric(float64(wall.Nanoseconds())/frames, "wall-ns/frame")
		})
	}
}
