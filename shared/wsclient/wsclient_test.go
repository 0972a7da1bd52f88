package wsclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/wsclient"
)

// fakeGateway speaks just enough of the protocol to exercise the client:
// auth with the token "good" (from the frame, the subprotocol or the
// header), ping, send (acked), and "history" answered late and out of order.
type fakeGateway struct {
	t        *testing.T
	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu       sync.Mutex
	conns    []*websocket.Conn
	wmus     []*sync.Mutex // one writer at a time per connection
	offered  [][]string
	authHdr  []string
	closeGot chan int
	refuse   bool
}

func newFakeGateway(t *testing.T) *fakeGateway {
	g := &fakeGateway{t: t, closeGot: make(chan int, 4),
		upgrader: websocket.Upgrader{Subprotocols: []string{"parley.v1"}}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGateway) url() string { return "ws" + strings.TrimPrefix(g.srv.URL, "http") }

func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	if g.refuse {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"gateway draining","retryable":true,"retry_after_ms":1000}}`))
		return
	}
	ws, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	upgradeToken, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	for _, p := range websocket.Subprotocols(r) {
		if tok, ok := strings.CutPrefix(p, "parley.bearer."); ok {
			upgradeToken = tok
		}
	}
	wmu := &sync.Mutex{}
	g.mu.Lock()
	g.conns = append(g.conns, ws)
	g.wmus = append(g.wmus, wmu)
	g.offered = append(g.offered, websocket.Subprotocols(r))
	g.authHdr = append(g.authHdr, r.Header.Get("Authorization"))
	g.mu.Unlock()
	ws.SetCloseHandler(func(code int, text string) error {
		g.closeGot <- code
		return ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	})
	write := func(f protocol.Frame) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = ws.WriteMessage(websocket.TextMessage, protocol.Encode(f))
	}
	var held []string
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		f, err := protocol.Decode(data, protocol.DefaultLimits())
		if err != nil {
			write(protocol.ErrorFrame(protocol.PeekID(data, protocol.DefaultLimits()), err))
			continue
		}
		id := f.FrameHeader().ID
		switch f := f.(type) {
		case *protocol.Auth:
			tok := f.Token
			if tok == "" {
				tok = upgradeToken
			}
			if tok != "good" {
				write(protocol.ErrorFrame(id, errs.New(errs.Unauthenticated, "bad token")))
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4401, "unauthenticated"), time.Now().Add(time.Second))
				continue
			}
			write(&protocol.Welcome{Header: protocol.Header{ID: id}, UserID: 42, DeviceID: "phone",
				Limits: protocol.DefaultLimits(), PingIntervalMs: 25000})
		case *protocol.Ping:
			write(&protocol.Pong{Header: protocol.Header{ID: id}, ServerTimeMs: protocol.MillisOf(time.Now())})
		case *protocol.Send:
			write(&protocol.Ack{Header: protocol.Header{ID: id}, ConversationID: f.ConversationID,
				ClientMsgID: f.ClientMsgID, MessageID: 7, SentAtMs: 1})
		case *protocol.History:
			// Answer in reverse order once three are waiting.
			held = append(held, id)
			if len(held) == 3 {
				for i := len(held) - 1; i >= 0; i-- {
					write(&protocol.HistoryPage{Header: protocol.Header{ID: held[i]}})
				}
				held = nil
			}
		default:
			write(protocol.ErrorFrame(id, errs.New(errs.FailedPrecondition, "not here")))
		}
	}
}

// push writes raw frames to the n-th server-side connection.
func (g *fakeGateway) push(n int, frames ...string) {
	g.mu.Lock()
	ws, wmu := g.conns[n], g.wmus[n]
	g.mu.Unlock()
	wmu.Lock()
	defer wmu.Unlock()
	for _, f := range frames {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
			g.t.Fatal(err)
		}
	}
}

func (g *fakeGateway) closeConn(n int, code int) {
	g.mu.Lock()
	ws := g.conns[n]
	g.mu.Unlock()
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, "bye"), time.Now().Add(time.Second))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectAuthenticatesWithEachTokenMode(t *testing.T) {
	g := newFakeGateway(t)
	modes := []wsclient.TokenMode{wsclient.TokenInAuthFrame, wsclient.TokenInSubprotocol, wsclient.TokenInHeader}
	for i, mode := range modes {
		c, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good", TokenMode: mode})
		if err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		if w := c.Welcome(); w == nil || w.UserID != 42 || w.DeviceID != "phone" {
			t.Fatalf("mode %d: welcome = %+v", mode, w)
		}
		if c.Subprotocol() != "parley.v1" {
			t.Fatalf("mode %d: subprotocol %q", mode, c.Subprotocol())
		}
		_ = c.Close()
		g.mu.Lock()
		offered, hdr := g.offered[i], g.authHdr[i]
		g.mu.Unlock()
		switch mode {
		case wsclient.TokenInSubprotocol:
			if len(offered) != 2 || offered[0] != "parley.v1" || offered[1] != "parley.bearer.good" || hdr != "" {
				t.Fatalf("subprotocol mode offered %v, header %q", offered, hdr)
			}
		case wsclient.TokenInHeader:
			if len(offered) != 1 || hdr != "Bearer good" {
				t.Fatalf("header mode offered %v, header %q", offered, hdr)
			}
		default:
			if len(offered) != 1 || hdr != "" {
				t.Fatalf("frame mode offered %v, header %q", offered, hdr)
			}
		}
	}
}

func TestConnectWithBadTokenReturnsServerErrorAndCloseIsTerminal(t *testing.T) {
	g := newFakeGateway(t)
	_, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "bad"})
	if errs.CodeOf(err) != errs.Unauthenticated {
		t.Fatalf("Connect = %v, want unauthenticated", err)
	}

	c, err := wsclient.Dial(ctxT(t), g.url(), wsclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth(ctxT(t), "bad"); errs.CodeOf(err) != errs.Unauthenticated {
		t.Fatalf("Auth = %v", err)
	}
	var ce *wsclient.CloseError
	if err := c.Wait(ctxT(t)); !errors.As(err, &ce) || ce.Code != 4401 || ce.Reconnect {
		t.Fatalf("close = %v, want 4401 without reconnect", err)
	}
	// Requests after the close fail with the same close error.
	if _, err := c.Ping(ctxT(t)); !errors.As(err, &ce) || ce.Code != 4401 {
		t.Fatalf("ping after close = %v", err)
	}
}

func TestRequestsAreMatchedByIDWhateverTheReplyOrder(t *testing.T) {
	g := newFakeGateway(t)
	c, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	got := make([]string, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := []string{"h-a", "h-b", "h-c"}[i]
			f, err := c.Request(ctxT(t), &protocol.History{Header: protocol.Header{ID: id},
				ConversationID: "d:1:2"})
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = f.FrameHeader().ID
		}()
	}
	wg.Wait()
	if got[0] != "h-a" || got[1] != "h-b" || got[2] != "h-c" {
		t.Fatalf("replies = %v", got)
	}
	if rtt, err := c.Ping(ctxT(t)); err != nil || rtt <= 0 {
		t.Fatalf("ping = %v %v", rtt, err)
	}
	ack, err := c.Send(ctxT(t), "d:1:2", "c-1", "hi")
	if err != nil || ack.ClientMsgID != "c-1" || ack.MessageID != 7 {
		t.Fatalf("send = %+v %v", ack, err)
	}
	// An error frame comes back as the server's typed error; the connection stays.
	if _, err := c.Request(ctxT(t), &protocol.Typing{ConversationID: "d:1:2"}); errs.CodeOf(err) != errs.FailedPrecondition {
		t.Fatalf("typing = %v, want failed_precondition", err)
	}
	if _, err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("ping after error: %v", err)
	}
}

func TestPushesArriveInOrderAndUnknownTypesAreRaw(t *testing.T) {
	g := newFakeGateway(t)
	c, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g.push(0,
		`{"v":1,"type":"message","message_id":"5","conversation_id":"d:1:2","sender_id":"1","kind":"user","body":"a","sent_at_ms":1}`,
		`{"v":1,"type":"future_push","x":1}`,
		`{"v":1,"id":"nobody-waits","type":"pong","server_time_ms":1}`,
		`{"v":1,"type":"goaway","reason":"drain","reconnect_after_ms":10,"close_in_ms":500}`)
	var got []wsclient.Push
	for len(got) < 4 {
		select {
		case p := <-c.Pushes():
			got = append(got, p)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d pushes", len(got))
		}
	}
	if m, ok := got[0].Frame.(*protocol.MessagePush); !ok || m.Body != "a" {
		t.Fatalf("push 0 = %#v", got[0].Frame)
	}
	if got[1].Frame != nil || !strings.Contains(string(got[1].Raw), "future_push") {
		t.Fatalf("unknown push = %#v %s", got[1].Frame, got[1].Raw)
	}
	if _, ok := got[2].Frame.(*protocol.Pong); !ok {
		t.Fatalf("unawaited reply = %#v", got[2].Frame)
	}
	if ga, ok := got[3].Frame.(*protocol.GoAway); !ok || ga.ReconnectAfterMs != 10 {
		t.Fatalf("goaway = %#v", got[3].Frame)
	}
}

func TestServerCloseIsReportedWithCodeAndReconnectAdvice(t *testing.T) {
	cases := []struct {
		code      int
		reconnect bool
	}{{4001, true}, {4000, true}, {4403, false}, {1000, false}}
	for _, tc := range cases {
		g := newFakeGateway(t)
		c, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good"})
		if err != nil {
			t.Fatal(err)
		}
		g.closeConn(0, tc.code)
		var ce *wsclient.CloseError
		if err := c.Wait(ctxT(t)); !errors.As(err, &ce) || int(ce.Code) != tc.code || ce.Reconnect != tc.reconnect || ce.Text != "bye" {
			t.Fatalf("close %d: got %v", tc.code, err)
		}
		if _, open := <-c.Pushes(); open {
			t.Fatalf("close %d: pushes channel still open", tc.code)
		}
	}
}

func TestConnectionLostWithoutCloseFrameIsAbnormalAndReconnects(t *testing.T) {
	g := newFakeGateway(t)
	c, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good"})
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	_ = g.conns[0].Close()
	g.mu.Unlock()
	var ce *wsclient.CloseError
	if err := c.Wait(ctxT(t)); !errors.As(err, &ce) || ce.Code != wsclient.CloseAbnormal || !ce.Reconnect {
		t.Fatalf("lost connection = %v", err)
	}
}

func TestClientCloseSendsNormalClosure(t *testing.T) {
	g := newFakeGateway(t)
	c, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good"})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	_ = c.Close() // idempotent
	select {
	case code := <-g.closeGot:
		if code != 1000 {
			t.Fatalf("server saw close %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server saw no close frame")
	}
}

func TestRefusedUpgradeIsHandshakeErrorWithServerCode(t *testing.T) {
	g := newFakeGateway(t)
	g.refuse = true
	_, err := wsclient.Dial(ctxT(t), g.url(), wsclient.Options{})
	var he *wsclient.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 503 || errs.CodeOf(err) != errs.Unavailable || he.Err.RetryAfterMs != 1000 {
		t.Fatalf("Dial = %v", err)
	}
}

func TestRequestGivesUpWhenContextEnds(t *testing.T) {
	g := newFakeGateway(t)
	c, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// The fake holds history replies until three are waiting: this one never comes.
	if _, err := c.Request(ctx, &protocol.History{ConversationID: "d:1:2"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Request = %v", err)
	}
	if _, err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("connection unusable after a cancelled request: %v", err)
	}
}

func TestOnPushReceivesPushesInsteadOfTheChannel(t *testing.T) {
	g := newFakeGateway(t)
	got := make(chan string, 1)
	c, err := wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good",
		OnPush: func(p wsclient.Push) { got <- p.Frame.FrameType() }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g.push(0, `{"v":1,"type":"typing_state","conversation_id":"d:1:2","user_id":"1","active":true}`)
	select {
	case typ := <-got:
		if typ != protocol.TypeTypingState {
			t.Fatalf("pushed %s", typ)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no push")
	}
	var raw json.RawMessage // the channel stays empty
	select {
	case p := <-c.Pushes():
		raw = p.Raw
		t.Fatalf("channel got %s", raw)
	default:
	}
}

func TestCloseFromOnPushDoesNotDeadlock(t *testing.T) {
	g := newFakeGateway(t)
	var c *wsclient.Client
	ready := make(chan struct{})
	closed := make(chan struct{})
	var err error
	c, err = wsclient.Connect(ctxT(t), g.url(), wsclient.Options{Token: "good", OnPush: func(wsclient.Push) {
		<-ready
		_ = c.Close()
		close(closed)
	}})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	g.push(0, `{"v":1,"type":"goaway","reason":"drain","reconnect_after_ms":1,"close_in_ms":1}`)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close from OnPush did not return")
	}
	var ce *wsclient.CloseError
	if err := c.Wait(ctxT(t)); !errors.As(err, &ce) || ce.Code != 1000 {
		t.Fatalf("ended with %v", err)
	}
}
