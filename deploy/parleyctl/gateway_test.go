package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/shared/kit/kittest"
)

// TestDrainEmptiesARealGateway runs the preStop/runbook drain against real
// router and gateway processes: clients get a goaway and close 4000
// (reconnect), the gateway stops being ready, and parleyctl returns once no
// connection is left.
func TestDrainEmptiesARealGateway(t *testing.T) {
	router := kittest.Start(t, kittest.BuildPackage(t, ".", "github.com/parleychat/parley/router/cmd/router"),
		[]string{"-internal.addr=127.0.0.1:0", "-router.region=test"}, "internal")
	gw := kittest.Start(t, kittest.BuildPackage(t, ".", "github.com/parleychat/parley/gateway/cmd/gateway"),
		[]string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0", "-gateway.region=test",
			"-gateway.router-url=" + router.URL(), "-gateway.auth-url=http://127.0.0.1:1",
			"-gateway.auth-timeout=60s", "-gateway.drain-spread=200ms", "-gateway.drain-timeout=10s"},
		"public", "internal")
	waitReady(t, gw)

	var clients []*websocket.Conn
	for range 3 {
		c, resp, err := websocket.DefaultDialer.Dial("ws://"+gw.Addr("public")+"/v1/ws", http.Header{"Sec-WebSocket-Protocol": {"parley.v1"}})
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, resp)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	waitConnections(t, gw, 3)

	var out bytes.Buffer
	err := run(context.Background(), []string{"drain", "-addr", gw.Addr("internal"), "-wait", "15s", "-poll", "50ms"},
		&out, env(map[string]string{"CHAT_INTERNAL_SECRET": kittest.TestSecret}))
	if err != nil {
		t.Fatalf("drain: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "drained: no connection left") {
		t.Fatalf("drain output %q: the gateway did not empty", out.String())
	}
	for i, c := range clients {
		gotGoAway := false
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, data, err := c.ReadMessage()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				if ce.Code != 4000 || !gotGoAway {
					t.Errorf("client %d: close %d after goaway=%v, want goaway then 4000 (reconnect)", i, ce.Code, gotGoAway)
				}
				break
			}
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			var f struct{ Type, Reason string }
			if json.Unmarshal(data, &f) == nil && f.Type == "goaway" && f.Reason == "drain" {
				gotGoAway = true
			}
		}
	}
	if code, _ := gw.Get(t, "internal", "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d while drained, want 503", code)
	}
}

func waitReady(t *testing.T, b *kittest.Binary) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := b.Get(t, "internal", "/readyz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitConnections(t *testing.T, b *kittest.Binary, want int) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := connections(context.Background(), client, b.URL()+"/metrics")
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway_connections = %d (%v), want %d", n, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
