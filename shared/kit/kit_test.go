package kit

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/svcauth"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testService(t *testing.T) *Service {
	t.Helper()
	base := BaseConfig{InternalSecret: config.NewSecret(testSecret)}
	s, err := NewService("testsvc", base, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, path string, header http.Header) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return w.Code, body
}

func TestHealthzAlwaysOK(t *testing.T) {
	e, _ := testService(t).InternalEngine()
	if code, body := get(t, e, "/healthz", nil); code != 200 || body["service"] != "testsvc" {
		t.Fatalf("healthz = %d %v", code, body)
	}
}

func TestReadyzFailsOnProbeErrorAndWhileDraining(t *testing.T) {
	s := testService(t)
	e, _ := s.InternalEngine()
	if code, _ := get(t, e, "/readyz", nil); code != 200 {
		t.Fatalf("ready with no probes = %d", code)
	}
	var storeDown bool
	s.Ops.AddProbe("store", func(context.Context) error {
		if storeDown {
			return errors.New("store down")
		}
		return nil
	})
	storeDown = true
	code, body := get(t, e, "/readyz", nil)
	if code != 503 || !strings.Contains(toJSON(body), "store down") {
		t.Fatalf("readyz with failing probe = %d %v", code, body)
	}
	storeDown = false
	s.Ops.SetDraining(true)
	if code, body := get(t, e, "/readyz", nil); code != 503 || body["status"] != "draining" {
		t.Fatalf("readyz while draining = %d %v", code, body)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestInternalAPIRequiresServiceToken(t *testing.T) {
	s := testService(t)
	e, _ := s.InternalEngine()
	code, body := get(t, e, "/internal/v1/info", nil)
	if code != 401 || body["error"].(map[string]any)["code"] != "unauthenticated" {
		t.Fatalf("no token: %d %v", code, body)
	}
	other, _ := svcauth.NewSigner("intruder", "ffffffffffffffffffffffffffffffffffff")
	bad, _ := other.Token()
	if code, _ := get(t, e, "/internal/v1/info", http.Header{"Authorization": {"Bearer " + bad}}); code != 401 {
		t.Fatalf("forged token: %d", code)
	}
	tok, _ := s.Signer.Token()
	code, body = get(t, e, "/internal/v1/info", http.Header{"Authorization": {"Bearer " + tok}})
	if code != 200 || body["caller"] != "testsvc" {
		t.Fatalf("valid token: %d %v", code, body)
	}
}

func TestPanicBecomesInternalErrorWithoutDetails(t *testing.T) {
	s := testService(t)
	e := s.Ops.NewEngine("public")
	e.GET("/boom", func(*gin.Context) { panic("secret internal state") })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret") || !strings.Contains(w.Body.String(), `"internal"`) {
		t.Fatalf("panic answer = %d %s", w.Code, w.Body)
	}
}

func TestUnknownRouteIsTypedNotFound(t *testing.T) {
	e := testService(t).Ops.NewEngine("public")
	code, body := get(t, e, "/nope", nil)
	if code != 404 || body["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("unknown route = %d %v", code, body)
	}
}

func TestMetricsCountRequestsByRoute(t *testing.T) {
	s := testService(t)
	e, _ := s.InternalEngine()
	get(t, e, "/healthz", nil)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(w.Body.String(), `http_requests_total{listener="internal",method="GET",route="/healthz",status="200"} 1`) {
		t.Fatalf("metrics missing request count:\n%s", w.Body)
	}
}

func TestBindJSONRejectsUnknownFieldsTrailingDataAndLargeBodies(t *testing.T) {
	type req struct {
		Name string `json:"name"`
	}
	cases := map[string]struct {
		body string
		code errs.Code
	}{
		"unknown field": {`{"name":"a","admin":true}`, errs.InvalidArgument},
		"trailing":      {`{"name":"a"}{}`, errs.InvalidArgument},
		"malformed":     {`{"name":`, errs.InvalidArgument},
		"too large":     {`{"name":"` + strings.Repeat("x", 200) + `"}`, errs.PayloadTooLarge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			var v req
			if err := BindJSON(c, 100, &v); errs.CodeOf(err) != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
		})
	}
}

func TestClientKeepsPeerErrorCodesAndMapsTransportFaults(t *testing.T) {
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/limit":
			status, body := ToBody(errs.New(errs.LimitExceeded, "group full").WithDetail("max", "3"))
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(body)
		case "/proxy":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		case "/ok":
			_, _ = w.Write([]byte(`{"n":7}`))
		}
	}))
	defer peer.Close()
	c := NewClient(peer.URL, http.DefaultTransport, 100*time.Millisecond)
	ctx := context.Background()

	err := c.Do(ctx, "GET", "/limit", nil, nil)
	if e, ok := errs.As(err); !ok || e.Code != errs.LimitExceeded || e.Details["max"] != "3" || e.Message != "group full" {
		t.Fatalf("limit: %#v", err)
	}
	if err := c.Do(ctx, "GET", "/proxy", nil, nil); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("proxy page: %v", err)
	}
	if err := c.Do(ctx, "GET", "/slow", nil, nil); errs.CodeOf(err) != errs.DeadlineExceeded {
		t.Fatalf("slow: %v", err)
	}
	var out struct{ N int }
	if err := c.Do(ctx, "GET", "/ok", nil, &out); err != nil || out.N != 7 {
		t.Fatalf("ok: %v %v", out, err)
	}
	dead := NewClient("http://127.0.0.1:1", http.DefaultTransport, time.Second)
	if err := dead.Do(ctx, "GET", "/", nil, nil); !errs.CodeOf(err).Retryable() {
		t.Fatalf("unreachable peer: %v (code %s) should be retryable", err, errs.CodeOf(err))
	}
}

func TestServeFinishesInFlightRequestsOnShutdown(t *testing.T) {
	logger := discardLogger()
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = w.Write([]byte("done"))
	})
	srv, err := Listen("test", HTTPConfig{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, h, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	drained := false
	go func() { served <- Serve(ctx, func(context.Context) { drained = true }, srv) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + srv.Addr() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !drained {
		t.Fatal("beforeShutdown hook not run")
	}
	if _, err := http.Get("http://" + srv.Addr() + "/"); err == nil {
		t.Fatal("listener still accepting after shutdown")
	}
}

func TestBaseConfigValidateRequiresStrongSecret(t *testing.T) {
	c := BaseConfig{Log: LogConfig{Level: "info", Format: "json"}, Internal: HTTPConfig{Addr: "127.0.0.1:0", ShutdownTimeout: time.Second}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "CHAT_INTERNAL_SECRET") {
		t.Fatalf("missing secret: %v", err)
	}
	c.InternalSecret = config.NewSecret("short")
	if err := c.Validate(); err == nil {
		t.Fatal("short secret accepted")
	}
	c.InternalSecret = config.NewSecret(testSecret)
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	c.Log.Level = "loud"
	if err := c.Validate(); err == nil {
		t.Fatal("bad log level accepted")
	}
}

func TestIdentityHeadersAreReadAndRequired(t *testing.T) {
	e := gin.New()
	e.Use(ReadIdentity())
	e.GET("/me", RequireUser(), func(c *gin.Context) {
		id, _ := IdentityFrom(c.Request.Context())
		c.JSON(200, gin.H{"user": id.UserID.String(), "device": id.DeviceID, "roles": id.Roles, "addr": ClientAddrFrom(c.Request.Context())})
	})
	code, body := get(t, e, "/me", http.Header{HeaderUserID: {"42"}, HeaderDeviceID: {"phone"}, HeaderRoles: {"admin, x"}, HeaderClientAddr: {"10.1.2.3"}})
	if code != 200 || body["user"] != "42" || body["device"] != "phone" || body["addr"] != "10.1.2.3" || len(body["roles"].([]any)) != 2 {
		t.Fatalf("identity = %d %v", code, body)
	}
	if code, _ := get(t, e, "/me", nil); code != 401 {
		t.Fatalf("no identity = %d, want 401", code)
	}
	if code, _ := get(t, e, "/me", http.Header{HeaderUserID: {"abc"}, HeaderDeviceID: {"phone"}}); code != 401 {
		t.Fatalf("malformed identity = %d, want 401", code)
	}
}
