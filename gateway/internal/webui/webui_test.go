package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/gateway/internal/webui"
	"github.com/parleychat/parley/gateway/web"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := webui.New(web.Files)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// The API routes share the engine in the gateway; the client's routes
	// must not shadow them.
	e.GET("/api/v1/auth/*path", func(c *gin.Context) { c.String(http.StatusTeapot, "api") })
	h.Mount(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPageServedWithStrictCSP(t *testing.T) {
	srv := server(t)
	resp, body := get(t, srv.URL+"/", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, `<script type="module" src="/app/main.js">`) {
		t.Fatalf("page does not load the app: %.200s", body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
		"object-src 'none'", "base-uri 'none'", "connect-src 'self' ws://" + host + " wss://" + host} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe code: %q", csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestPageHasNoInlineCode(t *testing.T) {
	_, body := get(t, server(t).URL+"/", nil)
	// The CSP forbids inline scripts, styles and handlers: the page must not need them.
	for _, re := range []string{`<script(?:[^>]*)>\s*[^<\s]`, `<style`, `\son[a-z]+=`, `style=`} {
		if regexp.MustCompile(re).MatchString(body) {
			t.Errorf("index.html matches %s", re)
		}
	}
}

func TestSDKAndAppModulesServed(t *testing.T) {
	srv := server(t)
	for path, want := range map[string]string{
		"/sdk/parley.js":    "export class ParleyClient",
		"/app/main.js":      "from '/sdk/parley.js'",
		"/app/chat.js":      "export class ChatApp",
		"/app/app.css":      ".bubble",
		"/sdk/README.md":    "ParleyClient",
		"/favicon.svg":      "<svg",
		"/app/groups.js":    "groupInfoDialog",
		"/app/admin.js":     "adminPage",
		"/app/../app/ui.js": "export function h(",
	} {
		resp, body := get(t, srv.URL+path, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, body lacks %q", path, resp.StatusCode, want)
		}
		if strings.HasSuffix(path, ".js") && resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q (modules need a JavaScript type)", path, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no CSP", path)
		}
	}
}

func TestETagRevalidationAnswers304(t *testing.T) {
	srv := server(t)
	resp, _ := get(t, srv.URL+"/sdk/parley.js", nil)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, body := get(t, srv.URL+"/sdk/parley.js", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("revalidation = %d with %d bytes", resp.StatusCode, len(body))
	}
}

func TestUnknownFilesAndSourcesAre404AndAPIUntouched(t *testing.T) {
	srv := server(t)
	for _, p := range []string{"/app/nope.js", "/sdk/", "/embed.go", "/app/../embed.go", "/index.htm"} {
		if resp, _ := get(t, srv.URL+p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, srv.URL+"/api/v1/auth/me", nil); resp.StatusCode != http.StatusTeapot {
		t.Errorf("API route shadowed: %d", resp.StatusCode)
	}
}

func TestCSPLeavesOutHostsThatCouldInjectDirectives(t *testing.T) {
	csp := webui.CSP("evil.example; script-src *")
	if strings.Contains(csp, "evil") {
		t.Fatalf("CSP names a malformed host: %q", csp)
	}
	if !strings.Contains(webui.CSP("[::1]:8080"), "ws://[::1]:8080") {
		t.Fatal("IPv6 host left out")
	}
	csp = webui.CSP("127.0.0.1:8080", "http://127.0.0.1:19100", "https://x; script-src *")
	if !strings.Contains(csp, "connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080 http://127.0.0.1:19100;") || strings.Contains(csp, "script-src *") {
		t.Fatalf("media origins: %q", csp)
	}
}
