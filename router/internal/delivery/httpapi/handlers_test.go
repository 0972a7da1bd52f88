package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/router/internal/clients"
	"github.com/parleychat/parley/router/internal/delivery/httpapi"
	"github.com/parleychat/parley/router/internal/store/memory"
	"github.com/parleychat/parley/router/internal/usecase"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/svcauth"
)

const secret = "router-test-secret-0123456789abcdef"

type harness struct {
	router  *httptest.Server
	signer  *svcauth.Signer
	pushes  chan routerapi.PushBatch
	gateway *httptest.Server
}

// newHarness runs the router's real handlers and a gateway-side push
// endpoint that records what it receives, both over HTTP with service auth.
func newHarness(t *testing.T) *harness {
	t.Helper()
	svc, err := kit.NewService("router", kit.BaseConfig{InternalSecret: config.NewSecret(secret)}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{signer: svc.Signer, pushes: make(chan routerapi.PushBatch, 100)}
	gw := gin.New()
	gw.POST(routerapi.PathPush, kit.ServiceAuth(svc.Verifier), func(c *gin.Context) {
		var b routerapi.PushBatch
		if err := c.BindJSON(&b); err != nil {
			return
		}
		h.pushes <- b
		n := 0
		for _, it := range b.Items {
			n += len(it.Conns)
		}
		c.JSON(200, routerapi.PushResult{Delivered: n})
	})
	h.gateway = httptest.NewServer(gw)
	t.Cleanup(h.gateway.Close)

	reg := memory.New()
	rt := &svcauth.Transport{Signer: svc.Signer}
	routing := usecase.NewRouting(reg, clients.NewGatewayPusher(rt, 10*time.Second), nil, 10*time.Second, svc.Logger, svc.Ops.Registry)
	engine, api := svc.InternalEngine()
	httpapi.Register(api, usecase.NewRegistration(reg, "eu", 10*time.Second), routing)
	h.router = httptest.NewServer(engine)
	t.Cleanup(h.router.Close)
	return h
}

func (h *harness) post(t *testing.T, path, body string, authed bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.router.URL+path, strings.NewReader(body))
	if authed {
		tok, _ := h.signer.Token()
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAnnounceAttachDeliver200PushesToGateway(t *testing.T) {
	h := newHarness(t)
	gwAddr := strings.TrimPrefix(h.gateway.URL, "http://")
	code, body := h.post(t, routerapi.PathAnnounce, `{"gateway":{"id":"gw-1","region":"eu","addr":"`+gwAddr+`"}}`, true)
	if code != 200 || !strings.Contains(body, `"known":false`) || !strings.Contains(body, `"ttl_ms":10000`) {
		t.Fatalf("announce = %d %s", code, body)
	}
	if code, body := h.post(t, routerapi.PathAttach, `{"gateway_id":"gw-1","conns":[{"user_id":"42","device_id":"phone"}]}`, true); code != 204 {
		t.Fatalf("attach = %d %s", code, body)
	}
	code, body = h.post(t, routerapi.PathLookup, `{"users":["42","43"]}`, true)
	if code != 200 || !strings.Contains(body, `"42":[{"user_id":"42","device_id":"phone","gateway_id":"gw-1"`) || strings.Contains(body, `"43"`) {
		t.Fatalf("lookup = %d %s", code, body)
	}
	code, body = h.post(t, routerapi.PathDeliver, `{"items":[{"users":["42","43"],"frame":{"v":1,"type":"message","body":"hi"}}]}`, true)
	if code != 200 {
		t.Fatalf("deliver = %d %s", code, body)
	}
	var res routerapi.DeliverResponse
	_ = json.Unmarshal([]byte(body), &res)
	if len(res.Outcomes) != 1 || res.Outcomes[0].Pushed != 1 || len(res.Outcomes[0].Unreached) != 1 || res.Outcomes[0].Unreached[0] != 43 {
		t.Fatalf("outcome = %+v", res)
	}
	select {
	case b := <-h.pushes:
		var frame map[string]any
		if len(b.Items) != 1 || json.Unmarshal(b.Items[0].Frame, &frame) != nil || frame["body"] != "hi" || b.Items[0].Conns[0].UserID != 42 {
			t.Fatalf("push = %+v", b)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("gateway got no push")
	}
}

func TestCallsWithoutServiceToken401(t *testing.T) {
	h := newHarness(t)
	code, body := h.post(t, routerapi.PathLookup, `{"users":["1"]}`, false)
	if code != 401 || !strings.Contains(body, "unauthenticated") {
		t.Fatalf("unauthenticated lookup = %d %s", code, body)
	}
}

func TestBadRequests400(t *testing.T) {
	h := newHarness(t)
	cases := map[string][2]string{
		"malformed json":      {routerapi.PathLookup, `{"users":[`},
		"unknown field":       {routerapi.PathLookup, `{"users":["1"],"admin":true}`},
		"numeric id":          {routerapi.PathLookup, `{"users":[1]}`},
		"zero id":             {routerapi.PathLookup, `{"users":["0"]}`},
		"bad device":          {routerapi.PathAttach, `{"gateway_id":"g","conns":[{"user_id":"1","device_id":"a b"}]}`},
		"bad frame":           {routerapi.PathDeliver, `{"items":[{"users":["1"],"frame":"not an object"}]}`},
		"announce bad region": {routerapi.PathAnnounce, `{"gateway":{"id":"g","region":"","addr":"127.0.0.1:1"}}`},
	}
	for name, c := range cases {
		code, body := h.post(t, c[0], c[1], true)
		if code != 400 || !strings.Contains(body, `"invalid_argument"`) {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
}

func TestConcurrentDeliveriesAllArrive(t *testing.T) {
	h := newHarness(t)
	gwAddr := strings.TrimPrefix(h.gateway.URL, "http://")
	h.post(t, routerapi.PathAnnounce, `{"gateway":{"id":"gw-1","region":"eu","addr":"`+gwAddr+`"}}`, true)
	h.post(t, routerapi.PathAttach, `{"gateway_id":"gw-1","conns":[{"user_id":"7","device_id":"d"}]}`, true)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			buf.WriteString(`{"items":[{"users":["7"],"frame":{"n":1}}]}`)
			if code, body := h.post(t, routerapi.PathDeliver, buf.String(), true); code != 200 {
				t.Errorf("deliver: %d %s", code, body)
			}
		}()
	}
	wg.Wait()
	if len(h.pushes) != 20 {
		t.Fatalf("pushes = %d, want 20", len(h.pushes))
	}
}
