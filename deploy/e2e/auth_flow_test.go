package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/shared/kit/kittest"
)

// publicCall calls the gateway's public HTTP API as a client would.
func publicCall(t *testing.T, gw *kittest.Binary, method, path, bearer string, in any) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+gw.Addr("public")+path, body)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// startAuth runs authsvc on an embedded store of its own.
func startAuth(t *testing.T) *kittest.Binary {
	return kittest.Start(t, binary(t, "authsvc"), []string{"-internal.addr=127.0.0.1:0", "-auth.data-dir=" + t.TempDir(),
		"-auth.argon2.memory-kib=8192", "-auth.argon2.iterations=1"}, "internal")
}

func TestSignUpSignInAndConnectThroughTheGateway(t *testing.T) {
	auth := startAuth(t)
	router := kittest.Start(t, binary(t, "router"), []string{"-internal.addr=127.0.0.1:0"}, "internal")
	gw := startGateway(t, "local", "http://"+router.Addr("internal"), "http://"+auth.Addr("internal"))

	code, reg := publicCall(t, gw, "POST", "/api/v1/auth/register", "", map[string]string{
		"username": "erin", "password": "correct horse battery", "display_name": "Erin"})
	if code != 201 {
		t.Fatalf("register = %d %v", code, reg)
	}
	code, sess := publicCall(t, gw, "POST", "/api/v1/auth/sign-in", "", map[string]string{
		"username": "erin", "password": "correct horse battery", "device_name": "e2e"})
	if code != 200 {
		t.Fatalf("sign-in = %d %v", code, sess)
	}
	access := sess["access_token"].(string)

	// The public API relays with the verified identity; a forged identity
	// header is ignored and a bad token is refused at the edge.
	code, me := publicCall(t, gw, "GET", "/api/v1/auth/me", access, nil)
	if code != 200 || me["user"].(map[string]any)["username"] != "erin" {
		t.Fatalf("me = %d %v", code, me)
	}
	if code, body := publicCall(t, gw, "GET", "/api/v1/auth/me", access[:len(access)-4]+"AAAA", nil); code != 401 {
		t.Fatalf("me with a forged token = %d %v", code, body)
	}
	if code, _ := publicCall(t, gw, "GET", "/internal/v1/auth/me", access, nil); code != 404 {
		t.Fatalf("internal API reachable on the public listener: %d", code)
	}
	if code, jwks := publicCall(t, gw, "GET", "/.well-known/jwks.json", "", nil); code != 200 || len(jwks["keys"].([]any)) == 0 {
		t.Fatalf("jwks = %d %v", code, jwks)
	}

	// A browser passes the token as a subprotocol.
	d := websocket.Dialer{Subprotocols: []string{"parley.v1", "parley.bearer." + access}}
	ws, resp, err := d.Dial("ws://"+gw.Addr("public")+"/v1/ws", http.Header{"Origin": {"http://127.0.0.1:8080"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "parley.v1" {
		t.Fatalf("selected subprotocol %q, want parley.v1 only (never the token)", got)
	}
	_ = ws.WriteJSON(map[string]any{"v": 1, "id": "1", "type": "auth"})
	var welcome map[string]any
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.ReadJSON(&welcome); err != nil || welcome["type"] != "welcome" || welcome["user_id"] != sess["user"].(map[string]any)["id"] {
		t.Fatalf("welcome = %v, %v (signed in as %v)", welcome, err, sess["user"])
	}

	// Refresh: a new access token extends the same session.
	code, renewed := publicCall(t, gw, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": sess["refresh_token"].(string)})
	if code != 200 {
		t.Fatalf("refresh = %d %v", code, renewed)
	}
	_ = ws.WriteJSON(map[string]any{"v": 1, "id": "2", "type": "refresh", "token": renewed["access_token"]})
	var refreshed map[string]any
	if err := ws.ReadJSON(&refreshed); err != nil || refreshed["type"] != "refreshed" || refreshed["id"] != "2" {
		t.Fatalf("refreshed = %v, %v", refreshed, err)
	}

	// A page from another origin is refused with close 4408.
	bad, _, err := websocket.DefaultDialer.Dial("ws://"+gw.Addr("public")+"/v1/ws", http.Header{"Origin": {"https://evil.example"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer bad.Close()
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = bad.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 4408 {
		t.Fatalf("foreign origin: %v, want close 4408", err)
	}
}
