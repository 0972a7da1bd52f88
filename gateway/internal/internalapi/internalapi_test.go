package internalapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/gateway/internal/hub"
	"github.com/parleychat/parley/gateway/internal/internalapi"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/svcauth"
)

const secret = "0123456789abcdef0123456789abcdef"

type stubPusher struct {
	mu      sync.Mutex
	batches []routerapi.PushBatch
	result  routerapi.PushResult
}

func (p *stubPusher) Push(b routerapi.PushBatch) routerapi.PushResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches = append(p.batches, b)
	return p.result
}

// server mounts the internal API behind the real service authentication.
func server(t *testing.T, pusher internalapi.Pusher, drain func() bool) *httptest.Server {
	svc, err := kit.NewService("gateway", kit.BaseConfig{InternalSecret: config.NewSecret(secret)},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	engine, group := svc.InternalEngine()
	internalapi.Register(group, pusher, drain)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return srv
}

// router is an HTTP client holding the router's service credentials.
func router(t *testing.T, sec string) *http.Client {
	signer, err := svcauth.NewSigner("router", sec)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &svcauth.Transport{Signer: signer}}
}

func post(t *testing.T, c *http.Client, url, body string) (int, []byte) {
	t.Helper()
	resp, err := c.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func TestPushWithServiceAuthReturnsThePushResult(t *testing.T) {
	p := &stubPusher{result: routerapi.PushResult{Delivered: 2, Missing: []routerapi.Conn{{UserID: 9, DeviceID: "gone"}}}}
	srv := server(t, p, func() bool { return true })
	frame := `{"v":1,"type":"message","message_id":"5","body":"a \"b\""}`
	code, body := post(t, router(t, secret), srv.URL+routerapi.PathPush,
		`{"items":[{"frame":`+frame+`,"conns":[{"user_id":"1","device_id":"a"},{"user_id":"9","device_id":"gone"}]}]}`)
	if code != http.StatusOK {
		t.Fatalf("push = %d %s", code, body)
	}
	var res routerapi.PushResult
	if err := json.Unmarshal(body, &res); err != nil || res.Delivered != 2 || len(res.Missing) != 1 || res.Missing[0].DeviceID != "gone" {
		t.Fatalf("result %s %v", body, err)
	}
	if len(p.batches) != 1 || string(p.batches[0].Items[0].Frame) != frame || len(p.batches[0].Items[0].Conns) != 2 {
		t.Fatalf("pusher got %+v", p.batches)
	}
}

func TestPushThroughTheRealHubReportsUnknownConnectionsMissing(t *testing.T) {
	h := hub.New(5, nopListener{}, hub.NewMetrics(prometheus.NewRegistry()))
	srv := server(t, h, func() bool { return true })
	code, body := post(t, router(t, secret), srv.URL+routerapi.PathPush,
		`{"items":[{"frame":{"v":1,"type":"goaway"},"conns":[{"user_id":"1","device_id":"a"}]}]}`)
	var res routerapi.PushResult
	_ = json.Unmarshal(body, &res)
	if code != 200 || res.Delivered != 0 || len(res.Missing) != 1 {
		t.Fatalf("push = %d %s", code, body)
	}
}

type nopListener struct{}

func (nopListener) Attached(routerapi.Conn) {}
func (nopListener) Detached(routerapi.Conn) {}

func TestPushWithoutServiceCredentialsIs401(t *testing.T) {
	p := &stubPusher{}
	srv := server(t, p, func() bool { return true })
	body := `{"items":[{"frame":{"v":1},"conns":[]}]}`
	for name, c := range map[string]*http.Client{
		"no token":     http.DefaultClient,
		"wrong secret": router(t, "ffffffffffffffffffffffffffffffffffffffff"),
	} {
		code, resp := post(t, c, srv.URL+routerapi.PathPush, body)
		var eb kit.ErrorBody
		_ = json.Unmarshal(resp, &eb)
		if code != http.StatusUnauthorized || eb.Error.Code != errs.Unauthenticated {
			t.Fatalf("%s: %d %s", name, code, resp)
		}
	}
	if len(p.batches) != 0 {
		t.Fatal("an unauthenticated push reached the hub")
	}
}

func TestMalformedPushesAreRejectedWith400(t *testing.T) {
	p := &stubPusher{}
	srv := server(t, p, func() bool { return true })
	for _, body := range []string{
		`{"items":[{"conns":[{"user_id":"1","device_id":"a"}]}]}`, // no frame
		`{"items":[],"extra":1}`,                                  // unknown field
		`{"items":`,                                               // truncated
	} {
		code, resp := post(t, router(t, secret), srv.URL+routerapi.PathPush, body)
		var eb kit.ErrorBody
		_ = json.Unmarshal(resp, &eb)
		if code != http.StatusBadRequest || eb.Error.Code != errs.InvalidArgument {
			t.Fatalf("%s: %d %s", body, code, resp)
		}
	}
	if len(p.batches) != 0 {
		t.Fatal("a malformed push reached the hub")
	}
}

func TestDrainEndpointStartsTheDrainOnce(t *testing.T) {
	var calls atomic.Int32
	srv := server(t, &stubPusher{}, func() bool { return calls.Add(1) == 1 })
	c := router(t, secret)
	for i, want := range []bool{true, false} {
		code, body := post(t, c, srv.URL+"/internal/v1/admin/drain", "")
		var res struct {
			Draining   bool `json:"draining"`
			StartedNow bool `json:"started_now"`
		}
		_ = json.Unmarshal(body, &res)
		if code != http.StatusAccepted || !res.Draining || res.StartedNow != want {
			t.Fatalf("call %d: %d %s", i, code, body)
		}
	}
	if code, _ := post(t, http.DefaultClient, srv.URL+"/internal/v1/admin/drain", ""); code != http.StatusUnauthorized || calls.Load() != 2 {
		t.Fatalf("unauthenticated drain = %d (drain called %d times)", code, calls.Load())
	}
}
