package wsapi_test

import (
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/wsclient"
)

func TestSlowConsumerIsClosedWith4001WhileAnotherClientKeepsGettingEveryPush(t *testing.T) {
	e := newEnv(t, withConfig(func(c *wsapi.Config) {
		c.Queue = conn.Options{MaxQueue: 8, WriteTimeout: 5 * time.Second}
	}))
	// The fast client counts what it reads; the slow one never reads.
	var fastGot atomic.Int64
	fast, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(1, "fast", time.Hour),
		OnPush: func(wsclient.Push) { fastGot.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	slow := e.rawAuth(2, "slow")
	_ = slow.UnderlyingConn().(*net.TCPConn).SetReadBuffer(4096)
	_ = serverSocket(e.hub.Get(2, "slow").WS().UnderlyingConn()).SetWriteBuffer(4096)

	fastConn := routerapi.Conn{UserID: 1, DeviceID: "fast"}
	slowConn := routerapi.Conn{UserID: 2, DeviceID: "slow"}
	frame := []byte(`{"v":1,"type":"message","message_id":"1","conversation_id":"d:1:2","sender_id":"1","kind":"user","body":"` +
		strings.Repeat("x", 16<<10) + `","sent_at_ms":1}`)
	push := func(targets ...routerapi.Conn) routerapi.PushResult {
		start := time.Now()
		res := e.hub.Push(routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: frame, Conns: targets}}})
		if d := time.Since(start); d > e.cfg.Queue.WriteTimeout/2 {
			t.Fatalf("a push took %v: the slow client held up the fan-out", d)
		}
		if slices.Contains(res.Missing, fastConn) {
			t.Fatalf("the fast client was reported missing: %+v (fast: %v, got %d)", res, fast.Err(), fastGot.Load())
		}
		return res
	}
	var toFast int64
	for i := 0; ; i++ {
		if i > 20_000 {
			t.Fatal("the slow client's queue never overflowed")
		}
		res := push(fastConn, slowConn)
		toFast++
		if slices.Contains(res.Missing, slowConn) {
			break
		}
		time.Sleep(time.Millisecond) // pace like live traffic, so the socket fills before the queue does
	}
	// The fan-out goes on for the others.
	for range 50 {
		push(fastConn)
		toFast++
		time.Sleep(time.Millisecond)
	}
	eventually(t, "fast client got every push", func() bool { return fastGot.Load() == toFast })

	frames := expectClose(t, slow, 4001)
	if len(frames) == 0 {
		t.Fatal("the slow client got nothing before its close")
	}
	eventually(t, "slow client removed", func() bool { return e.hub.Get(2, "slow") == nil })
	if v := e.metric("gateway_send_queue_overflows_total"); v != 1 {
		t.Fatalf("overflow metric = %v", v)
	}
	if ev := e.listener.Events(); !slices.Contains(ev, "-2/slow") || slices.Contains(ev, "-1/fast") {
		t.Fatalf("router told %v", ev)
	}
	if _, err := fast.Ping(ctx5(t)); err != nil {
		t.Fatal(err)
	}
}

// serverSocket is the TCP socket under the gateway's side of a connection,
// which sits behind the poller's frame gate.
func serverSocket(c net.Conn) *net.TCPConn {
	if g, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = g.NetConn()
	}
	return c.(*net.TCPConn)
}
