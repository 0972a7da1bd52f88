package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/stackenv"
	"github.com/parleychat/parley/shared/svcauth"
)

// BenchmarkGroupFanout measures group fan-out end to end with real
// processes: one group of CHAT_BENCH_MEMBERS (default 1,000) members, each
// online with one connection, spread over CHAT_BENCH_GATEWAYS (default 4)
// gateway processes; groupsvc (embedded store) holds the group; messagesvc
// (Cassandra, or embedded with CHAT_BENCH_STORE=embedded) stores each
// message once and fans it out without per-member rows (the group is above
// the pointer max); the router (Redis) groups each message's connections
// per gateway. One member sends CHAT_BENCH_MESSAGES (default 600) messages
// at CHAT_BENCH_RATE (default 100) per second over its WebSocket; every
// other member's client counts what arrives. Reported: deliveries/s
// sustained (frames received by members / time from the first send to the
// last arrival), p50/p99 from the send frame to the last member's frame per
// message, lost and duplicated deliveries, and CPU-seconds per delivery of
// the gateways, the router and messagesvc (from /proc). The load generator
// (1,000 clients) runs on the same machine.
//
//	go test -run x -bench GroupFanout -benchtime 1x -timeout 20m ./deploy/e2e/
func BenchmarkGroupFanout(b *testing.B) {
	members := envInt("CHAT_BENCH_MEMBERS", 1000)
	gateways := envInt("CHAT_BENCH_GATEWAYS", 4)
	messages := envInt("CHAT_BENCH_MESSAGES", 600)
	rate := envInt("CHAT_BENCH_RATE", 100)
	env := stackenv.Require(b, stackenv.RedisAddr, stackenv.CassandraHosts, stackenv.CassandraDC)

	k := newKeys(b)
	router := kittest.Start(b, binary(b, "router"), []string{"-internal.addr=127.0.0.1:0", "-router.store.backend=redis",
		"-router.redis.addrs=" + env[stackenv.RedisAddr], "-router.redis.key-prefix=" + keyPrefix()}, "internal")
	messagesAddr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	groups := kittest.Start(b, binary(b, "groupsvc"), []string{"-internal.addr=127.0.0.1:0", "-groups.data-dir=" + b.TempDir(),
		"-groups.auth-url=", "-groups.messages-url=http://" + messagesAddr, "-groups.node-id=9",
		fmt.Sprintf("-groups.default-limit=%d", members), fmt.Sprintf("-groups.ceiling=%d", members),
		"-groups.max-batch=100"}, "internal")
	msgArgs := []string{"-internal.addr=" + messagesAddr, "-messages.node-id=5", "-messages.router-url=" + router.URL(),
		"-messages.auth-url=" + k.srv.URL, "-messages.groups-url=" + groups.URL(), "-messages.push-workers=4"}
	if envStr("CHAT_BENCH_STORE", "cassandra") == "embedded" {
		msgArgs = append(msgArgs, "-messages.data-dir="+b.TempDir())
	} else {
		keyspace := fmt.Sprintf("bench_gmsg_%d", rand.Uint32())
		msgArgs = append(msgArgs, "-messages.store.backend=cassandra", "-messages.cassandra.hosts="+env[stackenv.CassandraHosts],
			"-messages.cassandra.dc="+env[stackenv.CassandraDC], "-messages.cassandra.keyspace="+keyspace)
		b.Cleanup(func() {
			cluster := gocql.NewCluster(stackenv.Split(env[stackenv.CassandraHosts])...)
			cluster.Timeout = 30 * time.Second
			if session, err := cluster.CreateSession(); err == nil {
				_ = session.Query("DROP KEYSPACE IF EXISTS " + keyspace).Exec()
				session.Close()
			}
		})
	}
	msgs := kittest.Start(b, binary(b, "messagesvc"), msgArgs, "internal")
	var gws []*kittest.Binary
	for range gateways {
		gws = append(gws, kittest.Start(b, binary(b, "gateway"), []string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0",
			"-gateway.router-url=" + router.URL(), "-gateway.auth-url=" + k.srv.URL, "-gateway.messages-url=" + msgs.URL(),
			"-gateway.rate-limits=frames=1000000:100000,send=1000000:100000,typing=30:5,history=6000:1000"}, "public", "internal"))
	}

	// The group: member 0 owns it and sends.
	base := ids.ID(1_000_000 + rand.Int64N(1<<40))
	users := make([]ids.ID, members)
	for i := range users {
		users[i] = base + ids.ID(i)
	}
	group := createBenchGroup(b, groups.URL(), users)
	conv := "g:" + group.String()

	// Every member online; members' clients count what they receive.
	type msgStat struct{ last, count atomic.Int64 }
	stats := make([]msgStat, messages)
	var delivered, foreign atomic.Int64
	onFrame := func(data []byte) {
		i := bytes.Index(data, []byte(`"body":"b`))
		if i < 0 {
			foreign.Add(1) // a group event, a receipt...
			return
		}
		rest := data[i+len(`"body":"b`):]
		n, err := strconv.Atoi(string(rest[:bytes.IndexByte(rest, '"')]))
		if err != nil || n < 0 || n >= messages {
			foreign.Add(1)
			return
		}
		now := time.Now().UnixNano()
		for {
			old := stats[n].last.Load()
			if old >= now || stats[n].last.CompareAndSwap(old, now) {
				break
			}
		}
		stats[n].count.Add(1)
		delivered.Add(1)
	}
	conns := make([]*websocket.Conn, members)
	var wg sync.WaitGroup
	var dialErr atomic.Value
	sem := make(chan struct{}, 32)
	for i := 1; i < members; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ws, err := benchDial(gws[i%gateways].Addr("public"), k.token(b, users[i], "d"), i)
			if err != nil {
				dialErr.Store(err)
				return
			}
			conns[i] = ws
			go func() {
				for {
					_, data, err := ws.ReadMessage()
					if err != nil {
						return
					}
					onFrame(data)
				}
			}()
		}()
	}
	wg.Wait()
	if err, ok := dialErr.Load().(error); ok {
		b.Fatal(err)
	}
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	sender, err := benchDial(gws[0].Addr("public"), k.token(b, users[0], "d"), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close()
	waitRouted(b, router.URL(), users)
	time.Sleep(500 * time.Millisecond) // events of the group's creation drain
	foreign.Store(0)

	acks := make(chan error, 1)
	ackAt := make([]atomic.Int64, messages)
	var acked atomic.Int64
	go func() {
		for acked.Load() < int64(messages) {
			_, data, err := sender.ReadMessage()
			if err != nil {
				acks <- err
				return
			}
			if bytes.Contains(data, []byte(`"type":"ack"`)) {
				if i := bytes.Index(data, []byte(`"id":"s`)); i >= 0 {
					rest := data[i+len(`"id":"s`):]
					if n, err := strconv.Atoi(string(rest[:bytes.IndexByte(rest, '"')])); err == nil && n >= 0 && n < messages {
						ackAt[n].Store(time.Now().UnixNano())
					}
				}
				acked.Add(1)
			} else if bytes.Contains(data, []byte(`"type":"error"`)) {
				acks <- fmt.Errorf("send failed: %s", data)
				return
			}
		}
		acks <- nil
	}()

	procs := map[string][]*kittest.Binary{"gateways": gws, "router": {router}, "messagesvc": {msgs}, "groupsvc": {groups}}
	cpu0 := map[string]float64{}
	for name, ps := range procs {
		for _, p := range ps {
			cpu0[name] += procCPU(b, p.Pid())
		}
	}
	self0 := procCPU(b, os.Getpid())
	if dir := os.Getenv("CHAT_BENCH_PROFILE_DIR"); dir != "" {
		secs := messages/rate + 2
		for name, url := range map[string]string{"router": router.URL(), "messagesvc": msgs.URL(), "gateway0": "http://" + gws[0].Addr("internal")} {
			go fetchProfile(fmt.Sprintf("%s/internal/v1/debug/pprof/profile?seconds=%d", url, secs), filepath.Join(dir, name+".cpu.pprof"))
		}
	}
	sentAt := make([]int64, messages)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	b.ResetTimer()
	for n := range messages {
		time.Sleep(time.Until(start.Add(time.Duration(n) * interval)))
		sentAt[n] = time.Now().UnixNano()
		frame := fmt.Sprintf(`{"v":1,"id":"s%d","type":"send","conversation_id":%q,"client_msg_id":"m%d","body":"b%d"}`, n, conv, n, n)
		if err := sender.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(messages) * int64(members-1)
	deadline := time.Now().Add(60 * time.Second)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	if err := <-acks; err != nil {
		b.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // late duplicates would arrive now
	cpu := map[string]float64{"load-generator": procCPU(b, os.Getpid()) - self0}
	for name, ps := range procs {
		for _, p := range ps {
			cpu[name] += procCPU(b, p.Pid())
		}
		cpu[name] -= cpu0[name]
	}

	var lastArrival int64
	lat := make([]float64, 0, messages)
	lost, dup := int64(0), int64(0)
	for n := range stats {
		c := stats[n].count.Load()
		if c < int64(members-1) {
			lost += int64(members-1) - c
		} else {
			dup += c - int64(members-1)
		}
		if c > 0 {
			lat = append(lat, float64(stats[n].last.Load()-sentAt[n])/1e6)
			lastArrival = max(lastArrival, stats[n].last.Load())
		}
	}
	slices.Sort(lat)
	ackLat := make([]float64, 0, messages)
	for n := range ackAt {
		if a := ackAt[n].Load(); a > 0 {
			ackLat = append(ackLat, float64(a-sentAt[n])/1e6)
		}
	}
	slices.Sort(ackLat)
	b.ReportMetric(pct(ackLat, 0.50), "p50-ms-send-to-ack")
	b.ReportMetric(pct(ackLat, 0.99), "p99-ms-send-to-ack")
	got := delivered.Load()
	elapsed := float64(lastArrival-sentAt[0]) / 1e9
	b.ReportMetric(float64(got)/elapsed, "deliveries/s")
	b.ReportMetric(pct(lat, 0.50), "p50-ms-send-to-last")
	b.ReportMetric(pct(lat, 0.99), "p99-ms-send-to-last")
	b.ReportMetric(pct(lat, 1), "max-ms-send-to-last")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(dup), "duplicates")
	for name, c := range cpu {
		b.ReportMetric(c/float64(max(got, 1))*1e6, name+"-cpu-µs/delivery")
	}
	b.ReportMetric(float64(members), "members")
	b.ReportMetric(float64(messages)/elapsed, "messages/s")
	b.Logf("deliveries %d of %d in %.2fs (%.0f/s), send->last p50 %.1f ms p99 %.1f ms max %.1f ms, lost %d dup %d; cpu-s %v",
		got, want, elapsed, float64(got)/elapsed, pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1), lost, dup, cpu)
	// Where deliveries were dropped, if anywhere (each drop is safe: the
	// message waits in the store for the member's next sync).
	for _, gw := range gws {
		m := scrape(b, "http://"+gw.Addr("internal")+"/metrics")
		b.Logf("gateway %s: pushed %.0f, send-queue overflows %.0f, push missing %.0f", gw.Addr("internal"),
			m["gateway_pushed_frames_total"], m["gateway_send_queue_overflows_total"], m["gateway_push_missing_total"])
	}
	rm := scrape(b, router.URL()+"/metrics")
	mm := scrape(b, msgs.URL()+"/metrics")
	b.Logf("router recipients reached %.0f unreached %.0f", rm[`router_recipients_total{outcome="reached"}`], rm[`router_recipients_total{outcome="unreached"}`])
	b.Logf("router pushes ok %.0f failed %.0f, mean deliver %.1f ms, mean push %.1f ms; messagesvc pushes dropped %.0f, router calls %.0f, mean items %.1f",
		rm[`router_pushes_total{outcome="ok"}`], rm[`router_pushes_total{outcome="failed"}`],
		1000*rm["router_deliver_duration_seconds_sum"]/rm["router_deliver_duration_seconds_count"],
		1000*rm["router_push_duration_seconds_sum"]/rm["router_push_duration_seconds_count"],
		mm["messages_push_dropped_total"], mm["messages_push_batch_items_count"],
		mm["messages_push_batch_items_sum"]/mm["messages_push_batch_items_count"])
	if lost > 0 {
		var short []string
		for n := range stats {
			if c := stats[n].count.Load(); c < int64(members-1) && len(short) < 20 {
				short = append(short, fmt.Sprintf("#%d:%d", n, c))
			}
		}
		b.Errorf("%d of %d deliveries lost (other frames: %d); short messages #n:count %v", lost, want, foreign.Load(), short)
	}
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// benchDial opens an authenticated connection from one of 127.0.0.2–9.
func benchDial(addr, token string, i int) (*websocket.Conn, error) {
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%8))}
	d := websocket.Dialer{NetDial: (&net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}).Dial,
		ReadBufferSize: 4096, WriteBufferSize: 1024, Subprotocols: []string{"parley.v1"}}
	ws, _, err := d.Dial("ws://"+addr+"/v1/ws", nil)
	if err != nil {
		return nil, err
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"id":"a","type":"auth","token":"`+token+`"}`)); err != nil {
		return nil, err
	}
	if _, data, err := ws.ReadMessage(); err != nil || !bytes.Contains(data, []byte("welcome")) {
		return nil, fmt.Errorf("auth: %s %v", data, err)
	}
	return ws, nil
}

// createBenchGroup creates a group of users (users[0] the owner) through
// groupsvc's API, as the gateway relays it for users[0].
func createBenchGroup(b *testing.B, groupsURL string, users []ids.ID) ids.ID {
	var out struct {
		Group struct {
			ID ids.ID `json:"id"`
		} `json:"group"`
	}
	end := min(len(users), 100)
	groupCall(b, http.MethodPost, groupsURL+"/internal/v1/groups", users[0], map[string]any{
		"name": "bench", "members": users[1:end], "size_limit": len(users)}, &out)
	for start := end; start < len(users); start += 100 {
		groupCall(b, http.MethodPost, fmt.Sprintf("%s/internal/v1/groups/%d/members", groupsURL, out.Group.ID), users[0],
			map[string]any{"users": users[start:min(len(users), start+100)]}, nil)
	}
	return out.Group.ID
}

func groupCall(b *testing.B, method, url string, user ids.ID, in, out any) {
	signer, _ := svcauth.NewSigner("gateway", kittest.TestSecret)
	tok, _ := signer.Token()
	body, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(kit.HeaderUserID, user.String())
	req.Header.Set(kit.HeaderDeviceID, "bench")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		b.Fatalf("%s %s = %d %s", method, url, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			b.Fatal(err)
		}
	}
}

// waitRouted waits until the router knows every user's connection.
func waitRouted(b *testing.B, routerURL string, users []ids.ID) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var res struct {
			Routes map[string][]json.RawMessage `json:"routes"`
		}
		internalCall(b, http.MethodPost, routerURL+"/internal/v1/lookup", map[string]any{"users": users}, &res)
		if len(res.Routes) >= len(users) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d users routable after 30s", len(res.Routes), len(users))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fetchProfile stores a service's pprof profile; best effort (a benchmark
// aid), so it may run beside the benchmark's own goroutine.
func fetchProfile(url, path string) {
	signer, _ := svcauth.NewSigner("e2e", kittest.TestSecret)
	tok, _ := signer.Token()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if f, err := os.Create(path); err == nil {
		_, _ = io.Copy(f, resp.Body)
		_ = f.Close()
	}
}
