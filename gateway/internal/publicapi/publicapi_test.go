package publicapi_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/gateway/internal/publicapi"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/svcauth"
)

const secret = "0123456789abcdef0123456789abcdef"

// seen is one request as the internal service received it.
type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
	caller              string // the verified calling service, "" when unauthenticated
}

type service struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newService(t *testing.T) *service {
	v, err := svcauth.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	s := &service{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		caller, _ := v.VerifyRequest(r)
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body, caller})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *service) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

type edge struct {
	srv  *httptest.Server
	priv ed25519.PrivateKey
}

func newEdge(t *testing.T, routes []publicapi.Route) *edge {
	pub, priv, _ := ed25519.GenerateKey(nil)
	verifier := authtoken.NewStatic(map[string]ed25519.PublicKey{"k1": pub}, authtoken.Config{})
	signer, err := svcauth.NewSigner("gateway", secret)
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	if err := publicapi.Register(e, routes, verifier, &svcauth.Transport{Signer: signer}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &edge{srv: srv, priv: priv}
}

func (e *edge) token(t *testing.T, user ids.ID, device string, iat time.Time, roles ...string) string {
	tok, _, err := authtoken.Sign("k1", e.priv, authtoken.Grant{UserID: user, DeviceID: device, Roles: roles,
		Issuer: authtoken.DefaultIssuer, Audience: authtoken.DefaultAudience, IssuedAt: iat, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func do(t *testing.T, method, url string, body io.Reader, header http.Header) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}

func errorBody(t *testing.T, data []byte) kit.ErrorPayload {
	t.Helper()
	var eb kit.ErrorBody
	if err := json.Unmarshal(data, &eb); err != nil {
		t.Fatalf("not an error body: %s", data)
	}
	return eb.Error
}

func TestRelayMapsThePublicPrefixToTheInternalPath(t *testing.T) {
	svc := newService(t)
	e := newEdge(t, []publicapi.Route{{Public: "/api/v1/things", Target: svc.srv.URL, Internal: "/internal/v1/things", MaxBody: 1024}})
	code, body, _ := do(t, http.MethodPost, e.srv.URL+"/api/v1/things/a/b?x=1&y=%20", strings.NewReader(`{"n":1}`), nil)
	if code != http.StatusCreated || string(body) != `{"ok":true}` {
		t.Fatalf("relay = %d %s", code, body)
	}
	do(t, http.MethodGet, e.srv.URL+"/api/v1/things", nil, nil)
	reqs := svc.requests()
	if len(reqs) != 2 {
		t.Fatalf("service got %d requests", len(reqs))
	}
	if r := reqs[0]; r.method != http.MethodPost || r.path != "/internal/v1/things/a/b" || r.query != "x=1&y=%20" || string(r.body) != `{"n":1}` {
		t.Fatalf("service saw %s %s?%s %s", r.method, r.path, r.query, r.body)
	}
	if r := reqs[1]; r.method != http.MethodGet || r.path != "/internal/v1/things" {
		t.Fatalf("service saw %s %s", r.method, r.path)
	}
	if code, _, _ := do(t, http.MethodGet, e.srv.URL+"/api/v1/thingsX", nil, nil); code != http.StatusNotFound {
		t.Fatalf("a path merely starting with the prefix was relayed: %d", code)
	}
}

func TestClientSuppliedIdentityHeadersNeverReachTheService(t *testing.T) {
	svc := newService(t)
	e := newEdge(t, []publicapi.Route{{Public: "/api/v1/things", Target: svc.srv.URL, Internal: "/internal/v1/things", MaxBody: 1024}})
	forged := http.Header{
		"X-Parley-User-Id":              {"1"},
		"X-Parley-Device-Id":            {"admin-console"},
		"X-Parley-Roles":                {"admin"},
		"X-Parley-Client-Addr":          {"10.9.9.9"},
		"X-Parley-Impersonate":          {"1"},
		"X-Verified-X-Parley-User-Id":   {"1"},
		"X-Verified-X-Parley-Roles":     {"admin"},
		"x-parley-user-id":              {"2"},
		"X-Forwarded-For":               {"10.9.9.9"},
		"X-Verified-X-Parley-Something": {"x"},
	}
	// Without a token, and with a valid one for user 42: either way the
	// service sees only what the gateway verified.
	do(t, http.MethodGet, e.srv.URL+"/api/v1/things/x", nil, forged)
	withToken := forged.Clone()
	withToken.Set("Authorization", "Bearer "+e.token(t, 42, "phone", time.Now()))
	do(t, http.MethodGet, e.srv.URL+"/api/v1/things/x", nil, withToken)
	reqs := svc.requests()
	if len(reqs) != 2 {
		t.Fatalf("service got %d requests", len(reqs))
	}
	for i, r := range reqs {
		for k := range r.header {
			lk := strings.ToLower(k)
			known := lk == "x-parley-user-id" || lk == "x-parley-device-id" || lk == "x-parley-roles" || lk == "x-parley-client-addr"
			if (strings.HasPrefix(lk, "x-parley-") && !known) || strings.HasPrefix(lk, "x-verified-") {
				t.Errorf("request %d: service got %s: %v", i, k, r.header[k])
			}
		}
		if got := r.header.Get(kit.HeaderClientAddr); got != "127.0.0.1" {
			t.Errorf("request %d: client addr %q, want the real peer", i, got)
		}
		if got := r.header.Get("X-Forwarded-For"); got != "" {
			t.Errorf("request %d: X-Forwarded-For %q passed through", i, got)
		}
	}
	if h := reqs[0].header; h.Get(kit.HeaderUserID) != "" || h.Get(kit.HeaderDeviceID) != "" || h.Get(kit.HeaderRoles) != "" {
		t.Fatalf("anonymous request carried identity %v", h)
	}
	if h := reqs[1].header; h.Get(kit.HeaderUserID) != "42" || h.Get(kit.HeaderDeviceID) != "phone" || h.Get(kit.HeaderRoles) != "" ||
		len(h.Values(kit.HeaderUserID)) != 1 {
		t.Fatalf("verified request carried %v", h)
	}
}

func TestValidBearerBecomesVerifiedIdentityAndAServiceToken(t *testing.T) {
	svc := newService(t)
	e := newEdge(t, []publicapi.Route{{Public: "/api/v1/things", Target: svc.srv.URL, Internal: "/internal/v1/things", MaxBody: 1024}})
	userToken := e.token(t, 42, "phone", time.Now(), "admin", "ops")
	code, _, _ := do(t, http.MethodGet, e.srv.URL+"/api/v1/things/me", nil, http.Header{"Authorization": {"Bearer " + userToken}})
	if code != http.StatusCreated {
		t.Fatalf("relay = %d", code)
	}
	r := svc.requests()[0]
	if r.header.Get(kit.HeaderUserID) != "42" || r.header.Get(kit.HeaderDeviceID) != "phone" || r.header.Get(kit.HeaderRoles) != "admin,ops" {
		t.Fatalf("identity headers %v", r.header)
	}
	if strings.Contains(r.header.Get("Authorization"), userToken) || r.caller != "gateway" {
		t.Fatalf("service got Authorization %q (caller %q), want the gateway's service token", r.header.Get("Authorization"), r.caller)
	}
}

func TestInvalidBearerIs401AtTheEdgeWithoutCallingTheService(t *testing.T) {
	svc := newService(t)
	e := newEdge(t, []publicapi.Route{{Public: "/api/v1/things", Target: svc.srv.URL, Internal: "/internal/v1/things", MaxBody: 1024}})
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	forged, _, _ := authtoken.Sign("k1", otherPriv, authtoken.Grant{UserID: 42, DeviceID: "phone",
		Issuer: authtoken.DefaultIssuer, Audience: authtoken.DefaultAudience, IssuedAt: time.Now(), TTL: time.Hour})
	cases := map[string]struct {
		auth string
		code errs.Code
	}{
		"forged":     {"Bearer " + forged, errs.Unauthenticated},
		"garbage":    {"Bearer x.y.z", errs.Unauthenticated},
		"not bearer": {"Basic dXNlcjpwYXNz", errs.Unauthenticated},
		"expired":    {"Bearer " + e.token(t, 42, "phone", time.Now().Add(-3*time.Hour)), errs.TokenExpired},
	}
	for name, tc := range cases {
		code, body, _ := do(t, http.MethodGet, e.srv.URL+"/api/v1/things/me", nil, http.Header{"Authorization": {tc.auth}})
		if code != http.StatusUnauthorized || errorBody(t, body).Code != tc.code {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	if n := len(svc.requests()); n != 0 {
		t.Fatalf("service called %d times with bad credentials", n)
	}
}

func TestBodyOverMaxBodyIsPayloadTooLarge(t *testing.T) {
	svc := newService(t)
	e := newEdge(t, []publicapi.Route{{Public: "/api/v1/things", Target: svc.srv.URL, Internal: "/internal/v1/things", MaxBody: 1024}})
	big := bytes.Repeat([]byte("x"), 64<<10)
	// With a Content-Length and streamed without one.
	for name, body := range map[string]io.Reader{"sized": bytes.NewReader(big), "chunked": io.MultiReader(bytes.NewReader(big))} {
		code, data, _ := do(t, http.MethodPost, e.srv.URL+"/api/v1/things/upload", body, nil)
		if code != http.StatusRequestEntityTooLarge || errorBody(t, data).Code != errs.PayloadTooLarge {
			t.Errorf("%s: %d %s", name, code, data)
		}
	}
	for _, r := range svc.requests() {
		if len(r.body) > 1024 {
			t.Fatalf("service received %d bytes", len(r.body))
		}
	}
	if code, _, _ := do(t, http.MethodPost, e.srv.URL+"/api/v1/things/upload", bytes.NewReader(big[:1024]), nil); code != http.StatusCreated {
		t.Fatalf("a body at the limit = %d", code)
	}
}

func TestServiceDownIsRetryableUnavailableJSON(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	e := newEdge(t, []publicapi.Route{{Public: "/api/v1/things", Target: dead, Internal: "/internal/v1/things", MaxBody: 1024}})
	code, body, hdr := do(t, http.MethodGet, e.srv.URL+"/api/v1/things/x", nil, nil)
	p := errorBody(t, body)
	if code != http.StatusServiceUnavailable || p.Code != errs.Unavailable || !p.Retryable || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("service down = %d %s %v", code, body, hdr)
	}
	if strings.Contains(string(body), l.Addr().String()) || strings.Contains(string(body), "connection refused") {
		t.Fatalf("internal details leaked: %s", body)
	}
}

func TestRegisterRefusesABadTarget(t *testing.T) {
	err := publicapi.Register(gin.New(), []publicapi.Route{{Public: "/api/v1/x", Target: "not a url", Internal: "/internal/v1/x"}},
		authtoken.NewStatic(nil, authtoken.Config{}), http.DefaultTransport)
	if errs.CodeOf(err) != errs.InvalidArgument {
		t.Fatalf("Register = %v", err)
	}
}

func TestDotSegmentsAreRefusedAtTheEdge(t *testing.T) {
	svc := newService(t)
	e := newEdge(t, []publicapi.Route{{Public: "/api/v1/things", Target: svc.srv.URL, Internal: "/internal/v1/things", MaxBody: 1024}})
	for _, p := range []string{"/api/v1/things/../frames", "/api/v1/things/%2e%2e/frames", "/api/v1/things/a/..%2f..%2fframes", "/api/v1/things/./x"} {
		// Sent raw: Go's client would clean the path itself.
		c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != http.StatusBadRequest || errorBody(t, body).Code != errs.InvalidArgument {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	if n := len(svc.requests()); n != 0 {
		t.Fatalf("service called %d times", n)
	}
	if code, _, _ := do(t, http.MethodGet, e.srv.URL+"/api/v1/things/a..b/.x/x.", nil, nil); code != http.StatusCreated {
		t.Fatalf("dots inside segments refused: %d", code)
	}
}
