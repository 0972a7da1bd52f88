package wsapi_test

import (
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/gateway/internal/hub"
	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
)

type nopListener struct{}

func (nopListener) Attached(routerapi.Conn) {}
func (nopListener) Detached(routerapi.Conn) {}

func TestSanityAuthPingPush(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	verifier := authtoken.NewStatic(map[string]ed25519.PublicKey{"k1": pub}, authtoken.Config{})
	token, _, err := authtoken.Sign("k1", priv, authtoken.Grant{UserID: 42, DeviceID: "phone", Issuer: authtoken.DefaultIssuer,
		Audience: authtoken.DefaultAudience, IssuedAt: time.Now(), TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	hm := hub.NewMetrics(reg)
	h := hub.New(5, nopListener{}, hm)
	s := wsapi.New(wsapi.Config{Limits: protocol.DefaultLimits(), MaxConns: 10,
		Queue: conn.Options{MaxQueue: 16, WriteTimeout: time.Second}, UpstreamTimeout: time.Second, MaxStrikes: 5,
		Sweep: hub.SweepConfig{PingInterval: time.Minute}},
		h, verifier, nil, wsapi.NewMetrics(reg), hm, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(s)
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() string {
		_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"id":"1","type":"auth","token":"`+token+`"}`))
	if got := read(); !strings.Contains(got, `"type":"welcome"`) || !strings.Contains(got, `"user_id":"42"`) {
		t.Fatalf("welcome = %s", got)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"id":"2","type":"ping"}`))
	if got := read(); !strings.Contains(got, `"type":"pong"`) || !strings.Contains(got, `"id":"2"`) {
		t.Fatalf("pong = %s", got)
	}
	res := h.Push(routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: []byte(`{"v":1,"type":"message"}`),
		Conns: []routerapi.Conn{{UserID: 42, DeviceID: "phone"}, {UserID: 43, DeviceID: "x"}}}}})
	if res.Delivered != 1 || len(res.Missing) != 1 {
		t.Fatalf("push = %+v", res)
	}
	if got := read(); got != `{"v":1,"type":"message"}` {
		t.Fatalf("pushed = %s", got)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"id":"3","type":"send"}`))
	if got := read(); !strings.Contains(got, `"type":"error"`) || !strings.Contains(got, `"id":"3"`) {
		t.Fatalf("bad send = %s", got)
	}
}
