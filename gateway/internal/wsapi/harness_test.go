package wsapi_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/gateway/internal/hub"
	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/frameapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/wsclient"
)

const (
	testKid    = "k1"
	testOrigin = "https://app.example.com"
)

// env is one gateway WebSocket endpoint on httptest with everything around
// it real except the upstream services (a stub) and the router (a recorder).
type env struct {
	t        testing.TB
	priv     ed25519.PrivateKey
	verifier *authtoken.Verifier
	cfg      wsapi.Config
	reg      *prometheus.Registry
	hm       *hub.Metrics
	hub      *hub.Hub
	listener *recListener
	upstream *stubUpstream
	server   *wsapi.Server
	srv      *httptest.Server
}

type envOption func(*wsapi.Config, *envExtras)

type envExtras struct {
	maxPerUser  int
	noUpstreams bool
	cacheSize   int
}

func testConfig() wsapi.Config {
	lim := protocol.DefaultLimits()
	lim.MaxFrameBytes = 4096
	return wsapi.Config{
		Limits:          lim,
		AllowedOrigins:  []string{testOrigin, "http://localhost:8080/"},
		MaxConns:        10_000,
		Queue:           conn.Options{MaxQueue: 64, WriteTimeout: 5 * time.Second},
		Sweep:           hub.SweepConfig{AuthTimeout: time.Hour, PingInterval: 25 * time.Second, IdleTimeout: time.Hour, ExpiryGrace: 30 * time.Second},
		UpstreamTimeout: 2 * time.Second,
		MaxStrikes:      5,
		GatewayID:       "gw-test",
	}
}

func newEnv(t testing.TB, opts ...envOption) *env {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	extras := envExtras{maxPerUser: 3}
	for _, o := range opts {
		o(&cfg, &extras)
	}
	e := &env{t: t, priv: priv, cfg: cfg, reg: prometheus.NewRegistry(), listener: &recListener{}, upstream: &stubUpstream{}}
	e.verifier = authtoken.NewStatic(map[string]ed25519.PublicKey{testKid: pub}, authtoken.Config{CacheSize: extras.cacheSize})
	e.hm = hub.NewMetrics(e.reg)
	e.hub = hub.New(extras.maxPerUser, e.listener, e.hm)
	ups := map[string]wsapi.Upstream{}
	if !extras.noUpstreams {
		for _, typ := range []string{protocol.TypeSend, protocol.TypeTyping, protocol.TypeSync, protocol.TypeHistory,
			protocol.TypeReceived, protocol.TypeRead} {
			ups[typ] = e.upstream
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.server = wsapi.New(cfg, e.hub, e.verifier, ups, wsapi.NewMetrics(e.reg), e.hm, logger)
	e.srv = httptest.NewServer(e.server)
	t.Cleanup(e.server.Close)
	t.Cleanup(e.srv.Close)
	return e
}

func withConfig(fn func(*wsapi.Config)) envOption {
	return func(c *wsapi.Config, _ *envExtras) { fn(c) }
}

func withMaxPerUser(n int) envOption { return func(_ *wsapi.Config, x *envExtras) { x.maxPerUser = n } }

func withoutUpstreams() envOption {
	return func(_ *wsapi.Config, x *envExtras) { x.noUpstreams = true }
}

func (e *env) url() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") }

// token signs an access token for user's device valid for ttl from now.
func (e *env) token(user ids.ID, device string, ttl time.Duration, roles ...string) string {
	return signToken(e.t, e.priv, user, device, time.Now(), ttl, roles...)
}

func signToken(t testing.TB, priv ed25519.PrivateKey, user ids.ID, device string, iat time.Time, ttl time.Duration, roles ...string) string {
	tok, _, err := authtoken.Sign(testKid, priv, authtoken.Grant{UserID: user, DeviceID: device, Roles: roles,
		Issuer: authtoken.DefaultIssuer, Audience: authtoken.DefaultAudience, IssuedAt: iat, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func ctx5(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect opens an authenticated client for user's device.
func (e *env) connect(user ids.ID, device string) *wsclient.Client {
	e.t.Helper()
	c, err := wsclient.Connect(ctx5(e.t), e.url(), wsclient.Options{Token: e.token(user, device, time.Hour)})
	if err != nil {
		e.t.Fatalf("connect %d/%s: %v", user, device, err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// dial opens a client without authenticating.
func (e *env) dial(opt wsclient.Options) *wsclient.Client {
	e.t.Helper()
	c, err := wsclient.Dial(ctx5(e.t), e.url(), opt)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// raw opens a plain gorilla connection, for what wsclient would not send.
func (e *env) raw(header http.Header, subprotocols ...string) (*websocket.Conn, *http.Response) {
	e.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: subprotocols}
	ws, resp, err := d.Dial(e.url(), header)
	if err != nil {
		e.t.Fatalf("raw dial: %v", err)
	}
	e.t.Cleanup(func() { _ = ws.Close() })
	return ws, resp
}

// rawAuth opens a raw connection and authenticates it with an auth frame.
func (e *env) rawAuth(user ids.ID, device string) *websocket.Conn {
	e.t.Helper()
	ws, _ := e.raw(nil, wsapi.Subprotocol)
	writeText(e.t, ws, `{"v":1,"id":"a","type":"auth","token":"`+e.token(user, device, time.Hour)+`"}`)
	if f := readFrame(e.t, ws); f.FrameType() != protocol.TypeWelcome {
		e.t.Fatalf("auth answered %s", f.FrameType())
	}
	return ws
}

func writeText(t testing.TB, ws *websocket.Conn, s string) {
	t.Helper()
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readFrame reads and decodes the next server frame within 5 s.
func readFrame(t testing.TB, ws *websocket.Conn) protocol.Frame {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	f, err := protocol.DecodeServerFrame(data)
	if err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return f
}

// readError reads the next frame and requires an error frame.
func readError(t testing.TB, ws *websocket.Conn) *protocol.Error {
	t.Helper()
	f := readFrame(t, ws)
	e, ok := f.(*protocol.Error)
	if !ok {
		t.Fatalf("got %s %+v, want error", f.FrameType(), f)
	}
	return e
}

// expectClose reads until the connection ends and requires close code want;
// frames before the close are returned.
func expectClose(t testing.TB, ws *websocket.Conn, want int) [][]byte {
	t.Helper()
	var frames [][]byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = ws.SetReadDeadline(deadline)
		_, data, err := ws.ReadMessage()
		if err == nil {
			frames = append(frames, data)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != want {
			t.Fatalf("connection ended with %v, want close %d (after %d frames)", err, want, len(frames))
		}
		return frames
	}
}

// waitClose waits for a wsclient connection to end with close code want.
func waitClose(t testing.TB, c *wsclient.Client, want errs.CloseCode) *wsclient.CloseError {
	t.Helper()
	var ce *wsclient.CloseError
	if err := c.Wait(ctx5(t)); !errors.As(err, &ce) || ce.Code != want {
		t.Fatalf("connection ended with %v, want close %d", err, want)
	}
	return ce
}

// nextPush returns the next push within 5 s.
func nextPush(t testing.TB, c *wsclient.Client) wsclient.Push {
	t.Helper()
	select {
	case p, ok := <-c.Pushes():
		if !ok {
			t.Fatalf("connection ended (%v) before a push arrived", c.Err())
		}
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no push within 5s")
	}
	return wsclient.Push{}
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// metric returns the value of a gauge or counter, summed over the series
// whose labels include every name=value pair given.
func (e *env) metric(name string, labels ...string) float64 {
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// recListener records what the router would be told.
type recListener struct {
	mu     sync.Mutex
	events []string
}

func (l *recListener) Attached(c routerapi.Conn) { l.add("+" + c.UserID.String() + "/" + c.DeviceID) }
func (l *recListener) Detached(c routerapi.Conn) { l.add("-" + c.UserID.String() + "/" + c.DeviceID) }

func (l *recListener) add(ev string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *recListener) Events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// stubUpstream stands in for messagesvc and receiptsvc: it records every
// relayed request and answers with handle (default: ack a send, nothing
// for the rest).
type stubUpstream struct {
	mu     sync.Mutex
	reqs   []frameapi.Request
	handle func(ctx context.Context, req frameapi.Request) ([]byte, error)
}

func (u *stubUpstream) Handle(ctx context.Context, req frameapi.Request) ([]byte, error) {
	u.mu.Lock()
	u.reqs = append(u.reqs, req)
	h := u.handle
	u.mu.Unlock()
	if h != nil {
		return h(ctx, req)
	}
	f, err := protocol.Decode(req.Frame, protocol.DefaultLimits())
	if err != nil {
		return nil, errs.Wrap(err, errs.Internal, "stub could not decode")
	}
	if s, ok := f.(*protocol.Send); ok {
		return protocol.Encode(&protocol.Ack{Header: protocol.Header{ID: s.ID}, ConversationID: s.ConversationID,
			ClientMsgID: s.ClientMsgID, MessageID: 1000, SentAtMs: 1}), nil
	}
	return nil, nil
}

func (u *stubUpstream) setHandle(h func(ctx context.Context, req frameapi.Request) ([]byte, error)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.handle = h
}

func (u *stubUpstream) requests() []frameapi.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]frameapi.Request(nil), u.reqs...)
}
