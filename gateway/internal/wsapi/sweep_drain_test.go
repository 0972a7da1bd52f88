package wsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/gateway/internal/hub"
	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/wsclient"
)

// The sweeps below run at chosen instants instead of on a ticker, so the
// tests are exact about the timeouts and never wait for them.
var sweepCfg = hub.SweepConfig{AuthTimeout: 10 * time.Second, PingInterval: 25 * time.Second,
	IdleTimeout: 70 * time.Second, ExpiryGrace: 30 * time.Second}

func TestQuietConnectionIsPingedThenClosedAfterIdleTimeoutWithoutPongs(t *testing.T) {
	e := newEnv(t)
	t0 := time.Now()
	ws := e.rawAuth(1, "d")
	var pings atomic.Int32
	ws.SetPingHandler(func(string) error { pings.Add(1); return nil }) // a dead client: no pong
	closed := make(chan error, 1)
	go func() {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				closed <- err
				return
			}
		}
	}()
	e.hub.Sweep(t0.Add(20*time.Second), sweepCfg)
	e.hub.Sweep(t0.Add(30*time.Second), sweepCfg)
	eventually(t, "a WebSocket ping", func() bool { return pings.Load() == 1 })
	e.hub.Sweep(t0.Add(40*time.Second), sweepCfg) // within the ping interval: no second ping
	e.hub.Sweep(t0.Add(60*time.Second), sweepCfg) // next ping due
	eventually(t, "a second ping", func() bool { return pings.Load() == 2 })
	if len(closed) != 0 {
		t.Fatal("closed before the idle timeout")
	}
	e.hub.Sweep(t0.Add(80*time.Second), sweepCfg)
	var ce *websocket.CloseError
	if err := <-closed; !errors.As(err, &ce) || ce.Code != int(errs.CloseServerError) {
		t.Fatalf("ended with %v, want close 4002", err)
	}
	if v := e.metric("gateway_closes_total", "reason", "idle"); v != 1 {
		t.Fatalf("idle closes = %v", v)
	}
	eventually(t, "connection removed", func() bool { return e.hub.Count() == 0 })
}

func TestPongsKeepAQuietConnectionAlive(t *testing.T) {
	e := newEnv(t)
	cfg := hub.SweepConfig{AuthTimeout: time.Second, PingInterval: 20 * time.Millisecond, IdleTimeout: 750 * time.Millisecond, ExpiryGrace: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.hub.RunSweeper(ctx, 5*time.Millisecond, cfg)
	ws := e.rawAuth(1, "d")
	var pings atomic.Int32
	ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	// Fifty pings answered take longer than the idle timeout.
	eventually(t, "50 pings", func() bool { return pings.Load() >= 50 })
	if e.hub.Get(1, "d") == nil || e.hub.Get(1, "d").Closing() {
		t.Fatal("a connection answering pings was closed")
	}
}

func TestSessionPastExpiryPlusGraceIsClosedWith4003AfterTokenExpiredError(t *testing.T) {
	e := newEnv(t)
	c, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(1, "d", time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp := e.hub.Get(1, "d").ExpiresAt()
	cfg := sweepCfg
	cfg.IdleTimeout, cfg.PingInterval = 24*time.Hour, 24*time.Hour
	e.hub.Sweep(exp.Add(29*time.Second), cfg) // within the grace
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatalf("closed within the grace: %v", err)
	}
	e.hub.Sweep(exp.Add(31*time.Second), cfg)
	p := nextPush(t, c)
	if ef, ok := p.Frame.(*protocol.Error); !ok || ef.Code != errs.TokenExpired || ef.ID != "" {
		t.Fatalf("before the close: %s", p.Raw)
	}
	if ce := waitClose(t, c, 4003); !ce.Reconnect {
		t.Fatal("4003 advises reconnecting with a fresh token")
	}
	if v := e.metric("gateway_closes_total", "reason", "token_expired"); v != 1 {
		t.Fatalf("token_expired closes = %v", v)
	}
}

func TestRefreshedSessionOutlivesItsFirstToken(t *testing.T) {
	e := newEnv(t)
	c, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(1, "d", time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := e.hub.Get(1, "d").ExpiresAt()
	if _, err := c.Refresh(ctx5(t), e.token(1, "d", 3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	cfg := sweepCfg
	cfg.IdleTimeout, cfg.PingInterval = 24*time.Hour, 24*time.Hour
	e.hub.Sweep(first.Add(time.Hour), cfg)
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatalf("refreshed session closed: %v", err)
	}
}

func TestDrainSendsGoAwayAfterQueuedFramesThenClosesWith4000(t *testing.T) {
	e := newEnv(t)
	clients := []*wsclient.Client{e.connect(1, "a"), e.connect(2, "b"), e.connect(3, "c")}
	unauthenticated, _ := e.raw(nil, wsapi.Subprotocol)
	eventually(t, "four connections", func() bool { return e.hub.Count() == 4 })
	// A push queued before the drain is flushed before the goaway.
	e.hub.Push(routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: []byte(`{"v":1,"type":"typing_state","conversation_id":"d:1:2","user_id":"2","active":true}`),
		Conns: []routerapi.Conn{{UserID: 1, DeviceID: "a"}}}}})

	const spread = 2 * time.Second
	drained := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.server.Drain(ctx, spread)
		close(drained)
	}()
	for i, c := range clients {
		p := nextPush(t, c)
		if i == 0 {
			if p.Frame == nil || p.Frame.FrameType() != protocol.TypeTypingState {
				t.Fatalf("queued push lost or reordered: %s", p.Raw)
			}
			p = nextPush(t, c)
		}
		g, ok := p.Frame.(*protocol.GoAway)
		if !ok || g.Reason != protocol.GoAwayDrain || g.ReconnectAfterMs < 0 || g.ReconnectAfterMs >= spread.Milliseconds() || g.CloseInMs <= 0 {
			t.Fatalf("client %d got %s", i, p.Raw)
		}
		if ce := waitClose(t, c, 4000); !ce.Reconnect {
			t.Fatal("4000 advises reconnecting")
		}
	}
	frames := expectClose(t, unauthenticated, 4000)
	if len(frames) != 1 || !strings.Contains(string(frames[0]), `"type":"goaway"`) {
		t.Fatalf("unauthenticated connection got %q", frames)
	}
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return once every connection was gone")
	}
	if e.hub.Count() != 0 || !e.server.Draining() {
		t.Fatalf("after drain: %d connections, draining %v", e.hub.Count(), e.server.Draining())
	}
}

func TestUpgradeDuringDrainGets503WithJSONErrorBody(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.server.Drain(ctx, time.Second) // nothing connected: returns at once

	_, err := wsclient.Dial(ctx5(t), e.url(), wsclient.Options{})
	var he *wsclient.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable || he.Err.Code != errs.Unavailable || !he.Err.Code.Retryable() {
		t.Fatalf("dial during drain = %v", err)
	}

	req, _ := http.NewRequest(http.MethodGet, e.srv.URL, nil)
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "parley.v1"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Code      errs.Code `json:"code"`
			Retryable bool      `json:"retryable"`
		} `json:"error"`
	}
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != errs.Unavailable || !body.Error.Retryable {
		t.Fatalf("body %+v %v", body, err)
	}
	if v := e.metric("gateway_upgrades_total", "outcome", "draining"); v != 2 {
		t.Fatalf("draining upgrades = %v", v)
	}
}

func TestFullGatewayRefusesUpgradesWith503(t *testing.T) {
	e := newEnv(t, withConfig(func(c *wsapi.Config) { c.MaxConns = 2 }))
	e.connect(1, "a")
	e.connect(2, "a")
	_, err := wsclient.Dial(ctx5(t), e.url(), wsclient.Options{})
	var he *wsclient.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 503 || errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("dial to a full gateway = %v", err)
	}
}

func TestDrainCutsAStuckClientWhenItsDeadlinePasses(t *testing.T) {
	e := newEnv(t, withConfig(func(c *wsapi.Config) {
		c.Queue = conn.Options{MaxQueue: 1 << 20, WriteTimeout: time.Second}
	}))
	ws := e.rawAuth(1, "stuck")
	_ = ws.UnderlyingConn().(*net.TCPConn).SetReadBuffer(4096)
	_ = serverSocket(e.hub.Get(1, "stuck").WS().UnderlyingConn()).SetWriteBuffer(4096)
	frame := []byte(`{"v":1,"type":"x","pad":"` + strings.Repeat("x", 32<<10) + `"}`)
	// Fill the socket (the queue is big enough never to overflow) so the
	// goaway and the close frame cannot get through.
	for range 200 {
		e.hub.Push(routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: frame, Conns: []routerapi.Conn{{UserID: 1, DeviceID: "stuck"}}}}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	e.server.Drain(ctx, time.Second)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Drain took %v past its deadline", d)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.hub.Count() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("stuck client never cut")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Connections keep arriving while the drain starts: one that passed the
// draining check just before it, and joined the hub just after the drain
// listed it, must still be sent away.
func TestDrainFinishesPromptlyWhileClientsKeepConnecting(t *testing.T) {
	e := newEnv(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := wsclient.Dial(context.Background(), e.url(), wsclient.Options{})
				var he *wsclient.HandshakeError
				if errors.As(err, &he) {
					return // draining: go elsewhere
				}
				if err != nil {
					continue
				}
				defer c.Close()
			}
		}()
	}
	eventually(t, "some connections", func() bool { return e.hub.Count() >= 20 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	e.server.Drain(ctx, 0)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if took > 5*time.Second {
		t.Fatalf("Drain took %v: a connection upgraded during the drain was never told to go", took)
	}
}
