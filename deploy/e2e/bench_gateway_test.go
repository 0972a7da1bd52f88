package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/svcauth"
)

// BenchmarkGatewayCapacity measures one gateway process holding N idle,
// authenticated connections (N from CHAT_BENCH_CONNS, default 19,000):
// memory per connection, CPU per connection-second while idle, and CPU per
// delivered push frame. Clients connect from several 127.0.0.x addresses.
//
//	CHAT_BENCH_CONNS=19000 CHAT_BENCH_IDLE=60s go test -run x -bench GatewayCapacity -benchtime 1x -timeout 30m ./deploy/e2e/
//
// CHAT_BENCH_READER_GOROUTINES=true runs the gateway with one reader
// goroutine per connection instead of its epoll poller, for comparison.
func BenchmarkGatewayCapacity(b *testing.B) {
	n := envInt("CHAT_BENCH_CONNS", 19_000)
	idle, _ := time.ParseDuration(envStr("CHAT_BENCH_IDLE", "60s"))
	k := newKeys(b)
	router := kittest.Start(b, binary(b, "router"), []string{"-internal.addr=127.0.0.1:0"}, "internal")
	gw := kittest.Start(b, binary(b, "gateway"), []string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0",
		"-gateway.router-url=http://" + router.Addr("internal"), "-gateway.auth-url=" + k.srv.URL,
		fmt.Sprintf("-gateway.max-conns=%d", n+500), "-gateway.ping-interval=30s", "-gateway.idle-timeout=90s",
		// CHAT_BENCH_READER_GOROUTINES=true measures the fallback reader.
		"-gateway.reader-goroutines=" + envStr("CHAT_BENCH_READER_GOROUTINES", "false"),
	}, "public", "internal")
	internal := "http://" + gw.Addr("internal")

	gcAndMeasure := func() (rss, heap, stack float64) {
		// Several collections: each may halve goroutine stacks that grew
		// while handling frames and are idle now.
		for range 3 {
			internalCall(b, http.MethodGet, internal+"/internal/v1/debug/pprof/heap?gc=1", nil, nil)
		}
		m := scrape(b, internal+"/metrics")
		return procRSS(b, gw.Pid()), m["go_memstats_heap_inuse_bytes"], m["go_memstats_stack_inuse_bytes"]
	}
	rss0, heap0, stack0 := gcAndMeasure()

	var received atomic.Int64
	conns := openConns(b, gw.Addr("public"), k, n, &received)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	waitMetric(b, internal+"/metrics", "gateway_authenticated_connections", float64(n), 60*time.Second)
	rss1, heap1, stack1 := gcAndMeasure()
	if path := os.Getenv("CHAT_BENCH_HEAP_PROFILE"); path != "" {
		saveProfile(b, internal+"/internal/v1/debug/pprof/heap", path)
	}
	b.ReportMetric((rss1-rss0)/float64(n)/1024, "rss-KiB/conn")
	b.ReportMetric((heap1-heap0+stack1-stack0)/float64(n)/1024, "heap+stack-KiB/conn")
	b.ReportMetric((stack1-stack0)/float64(n)/1024, "stack-KiB/conn")

	cpu0 := procCPU(b, gw.Pid())
	if path := os.Getenv("CHAT_BENCH_CPU_PROFILE"); path != "" {
		saveProfile(b, fmt.Sprintf("%s/internal/v1/debug/pprof/profile?seconds=%d", internal, int(idle.Seconds())), path)
	} else {
		time.Sleep(idle)
	}
	cpuIdle := procCPU(b, gw.Pid()) - cpu0
	b.ReportMetric(cpuIdle/(float64(n)*idle.Seconds())*1e6, "idle-cpu-µs/conn-s")

	// Push: every connection gets `rounds` frames, in batches of 1,000
	// connections per call as the router sends them.
	const rounds, perCall = 20, 1000
	frame := []byte(`{"v":1,"type":"message","message_id":"1","conversation_id":"d:1:2","sender_id":"1","kind":"user","body":"hello there","sent_at_ms":1}`)
	cpu1 := procCPU(b, gw.Pid())
	for r := 0; r < rounds; r++ {
		for start := 0; start < n; start += perCall {
			batch := routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: frame}}}
			for i := start; i < min(start+perCall, n); i++ {
				batch.Items[0].Conns = append(batch.Items[0].Conns, routerapi.Conn{UserID: ids.ID(i + 1), DeviceID: "d"})
			}
			var res routerapi.PushResult
			if code := internalCall(b, http.MethodPost, internal+routerapi.PathPush, batch, &res); code != 200 || len(res.Missing) > 0 {
				b.Fatalf("push = %d, missing %d", code, len(res.Missing))
			}
		}
	}
	want := int64(rounds * n)
	deadline := time.Now().Add(60 * time.Second)
	for received.Load() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := received.Load(); got < want {
		b.Fatalf("clients received %d of %d pushed frames", got, want)
	}
	cpuPush := procCPU(b, gw.Pid()) - cpu1
	b.ReportMetric(cpuPush/float64(want)*1e6, "push-cpu-µs/frame")
	b.ReportMetric(float64(n), "conns")
}

// openConns dials n authenticated connections spread over 127.0.0.2–9.
func openConns(b *testing.B, addr string, k *keys, n int, received *atomic.Int64) []*websocket.Conn {
	conns := make([]*websocket.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%8))}
				d := websocket.Dialer{NetDial: (&net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}).Dial,
					ReadBufferSize: 1024, WriteBufferSize: 1024}
				ws, _, err := d.Dial("ws://"+addr+"/v1/ws", nil)
				if err == nil {
					err = ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"id":"a","type":"auth","token":"`+k.token(b, ids.ID(i+1), "d")+`"}`))
				}
				if err == nil {
					_, _, err = ws.ReadMessage() // welcome
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("conn %d: %w", i, err):
					default:
					}
					return
				}
				conns[i] = ws
				go func() {
					for {
						if _, _, err := ws.ReadMessage(); err != nil {
							return
						}
						received.Add(1)
					}
				}()
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
	return conns
}

func scrape(b *testing.B, url string) map[string]float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if f, err := strconv.ParseFloat(val, 64); ok && err == nil {
			out[name] = f
		}
	}
	return out
}

func waitMetric(b *testing.B, url, name string, want float64, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for scrape(b, url)[name] < want {
		if time.Now().After(deadline) {
			b.Fatalf("%s did not reach %v within %v", name, want, wait)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// procRSS reads a process's resident set size in bytes.
func procRSS(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// procCPU reads a process's user+system CPU seconds.
func procCPU(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // clock ticks; USER_HZ is 100 on Linux
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// saveProfile stores a pprof profile of the gateway for `go tool pprof`.
func saveProfile(b *testing.B, url, path string) {
	signer, _ := svcauth.NewSigner("e2e", kittest.TestSecret)
	tok, _ := signer.Token()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}
