package wsapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/gateway/internal/hub"
	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/wsclient"
)

func TestAuthFrameTokenGetsWelcomeAndRegistersTheDevice(t *testing.T) {
	e := newEnv(t)
	before := time.Now()
	c := e.connect(42, "phone")
	w := c.Welcome()
	if w.UserID != 42 || w.DeviceID != "phone" || w.ID != "1" {
		t.Fatalf("welcome = %+v", w)
	}
	if exp := w.SessionExpiresAtMs.Time(); exp.Before(before.Add(time.Hour-2*time.Second)) || exp.After(before.Add(time.Hour+time.Second)) {
		t.Fatalf("session expires at %v, want about an hour from now", exp)
	}
	if w.PingIntervalMs != 25_000 || w.Limits != e.cfg.Limits {
		t.Fatalf("welcome ping interval %d, limits %+v", w.PingIntervalMs, w.Limits)
	}
	if got := e.listener.Events(); len(got) != 1 || got[0] != "+42/phone" {
		t.Fatalf("router told %v, want +42/phone", got)
	}
	if e.hub.Get(42, "phone") == nil {
		t.Fatal("hub does not hold 42/phone")
	}
	if v := e.metric("gateway_authenticated_connections"); v != 1 {
		t.Fatalf("authenticated gauge = %v", v)
	}
}

func TestSubprotocolTokenAuthenticatesAndServerSelectsOnlyParleyV1(t *testing.T) {
	e := newEnv(t)
	tok := e.token(7, "web", time.Hour)
	ws, resp := e.raw(nil, wsapi.Subprotocol, "parley.bearer."+tok)
	if got := resp.Header.Values("Sec-Websocket-Protocol"); len(got) != 1 || got[0] != wsapi.Subprotocol {
		t.Fatalf("server selected %q, want only %q (never the token)", got, wsapi.Subprotocol)
	}
	if ws.Subprotocol() != wsapi.Subprotocol {
		t.Fatalf("subprotocol %q", ws.Subprotocol())
	}
	writeText(t, ws, `{"v":1,"id":"1","type":"auth"}`)
	if w, ok := readFrame(t, ws).(*protocol.Welcome); !ok || w.UserID != 7 || w.DeviceID != "web" {
		t.Fatalf("welcome = %+v", w)
	}

	// The same through the client, browser style with an allowed origin.
	c, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(7, "web2", time.Hour),
		TokenMode: wsclient.TokenInSubprotocol, Origin: testOrigin})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Welcome().DeviceID != "web2" {
		t.Fatalf("welcome = %+v", c.Welcome())
	}
}

func TestAuthorizationHeaderTokenAuthenticates(t *testing.T) {
	e := newEnv(t)
	c, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(8, "ios", time.Hour), TokenMode: wsclient.TokenInHeader})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if w := c.Welcome(); w.UserID != 8 || w.DeviceID != "ios" {
		t.Fatalf("welcome = %+v", w)
	}
}

func TestFrameTokenWinsOverUpgradeToken(t *testing.T) {
	e := newEnv(t)
	ws, _ := e.raw(http.Header{"Authorization": {"Bearer " + e.token(1, "header", time.Hour)}}, wsapi.Subprotocol)
	writeText(t, ws, `{"v":1,"id":"1","type":"auth","token":"`+e.token(2, "frame", time.Hour)+`"}`)
	if w, ok := readFrame(t, ws).(*protocol.Welcome); !ok || w.UserID != 2 || w.DeviceID != "frame" {
		t.Fatalf("welcome = %+v", w)
	}
}

func TestFirstFrameNotAuthGetsUnauthenticatedAndClose4401(t *testing.T) {
	e := newEnv(t)
	ws, _ := e.raw(nil, wsapi.Subprotocol)
	// A valid auth right behind the bad first frame must not start a
	// session on a connection that is already being closed.
	writeText(t, ws, `{"v":1,"id":"p1","type":"ping"}`)
	writeText(t, ws, `{"v":1,"id":"a1","type":"auth","token":"`+e.token(42, "phone", time.Hour)+`"}`)
	frames := expectClose(t, ws, 4401)
	if len(frames) != 1 {
		t.Fatalf("got %d frames before the close, want only the error: %q", len(frames), frames)
	}
	f, _ := protocol.DecodeServerFrame(frames[0])
	if ef, ok := f.(*protocol.Error); !ok || ef.Code != errs.Unauthenticated || ef.ID != "p1" {
		t.Fatalf("first frame answered %s", frames[0])
	}
	eventually(t, "connection removed", func() bool { return e.hub.Count() == 0 })
	if ev := e.listener.Events(); len(ev) != 0 {
		t.Fatalf("router told %v about a connection that never authenticated", ev)
	}
}

func TestAuthWithoutAnyTokenGets4401(t *testing.T) {
	e := newEnv(t)
	c := e.dial(wsclient.Options{})
	if _, err := c.Auth(ctx5(t), ""); errs.CodeOf(err) != errs.Unauthenticated {
		t.Fatalf("auth = %v", err)
	}
	if ce := waitClose(t, c, 4401); ce.Reconnect {
		t.Fatal("4401 must not advise reconnecting")
	}
}

func TestExpiredTokenGetsTokenExpiredAndClose4003(t *testing.T) {
	e := newEnv(t)
	old := signToken(t, e.priv, 42, "phone", time.Now().Add(-2*time.Hour), time.Hour)
	c := e.dial(wsclient.Options{})
	if _, err := c.Auth(ctx5(t), old); errs.CodeOf(err) != errs.TokenExpired {
		t.Fatalf("auth = %v, want token_expired", err)
	}
	if ce := waitClose(t, c, 4003); !ce.Reconnect {
		t.Fatal("4003 advises reconnecting with a fresh token")
	}
	if e.hub.Get(42, "phone") != nil || len(e.listener.Events()) != 0 {
		t.Fatal("an expired token registered the device")
	}
}

func TestForgedTokensGetUnauthenticatedAndClose4401(t *testing.T) {
	e := newEnv(t)
	good := e.token(42, "phone", time.Hour)
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding
	claims, _ := b64.DecodeString(parts[1])
	var cm map[string]any
	_ = json.Unmarshal(claims, &cm)
	cm["sub"] = "43"
	tampered, _ := json.Marshal(cm)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	pub := e.priv.Public().(ed25519.PublicKey)
	hsHeader := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"k1"}`))
	mac := hmac.New(sha256.New, pub)
	mac.Write([]byte(hsHeader + "." + parts[1]))

	cases := map[string]string{
		"alg none":           b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"k1"}`)) + "." + parts[1] + ".",
		"HS256 with pub key": hsHeader + "." + parts[1] + "." + b64.EncodeToString(mac.Sum(nil)),
		"other key same kid": signToken(t, otherPriv, 42, "phone", time.Now(), time.Hour),
		"tampered claims":    parts[0] + "." + b64.EncodeToString(tampered) + "." + parts[2],
		"unknown kid":        b64.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT","kid":"k9"}`)) + "." + parts[1] + "." + parts[2],
		"garbage":            "not-a-jwt",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			c := e.dial(wsclient.Options{})
			if _, err := c.Auth(ctx5(t), tok); errs.CodeOf(err) != errs.Unauthenticated {
				t.Fatalf("auth = %v, want unauthenticated", err)
			}
			waitClose(t, c, 4401)
		})
	}
	if e.hub.Get(42, "phone") != nil || e.hub.Get(43, "phone") != nil || len(e.listener.Events()) != 0 {
		t.Fatal("a forged token registered a device")
	}
}

func TestNoAuthWithinAuthTimeoutIsClosedWith4401BySweeper(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.hub.RunSweeper(ctx, 10*time.Millisecond, hub.SweepConfig{AuthTimeout: 100 * time.Millisecond,
		PingInterval: time.Hour, IdleTimeout: 2 * time.Hour, ExpiryGrace: time.Hour})
	ws, _ := e.raw(nil, wsapi.Subprotocol)
	frames := expectClose(t, ws, 4401)
	if len(frames) != 1 || !strings.Contains(string(frames[0]), `"code":"unauthenticated"`) {
		t.Fatalf("frames before close: %q", frames)
	}
	eventually(t, "connection removed", func() bool { return e.hub.Count() == 0 })
	if v := e.metric("gateway_closes_total", "reason", "auth_timeout"); v != 1 {
		t.Fatalf("auth_timeout closes = %v", v)
	}
	// An authenticated connection is not subject to the auth timeout.
	c := e.connect(1, "d")
	e.hub.Sweep(time.Now().Add(time.Minute), hub.SweepConfig{AuthTimeout: 100 * time.Millisecond,
		PingInterval: time.Hour, IdleTimeout: 2 * time.Hour, ExpiryGrace: time.Hour})
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatalf("authenticated connection closed: %v", err)
	}
}

func TestSecondAuthGetsFailedPreconditionAndConnectionStays(t *testing.T) {
	e := newEnv(t)
	c := e.connect(42, "phone")
	if _, err := c.Auth(ctx5(t), e.token(42, "phone", time.Hour)); errs.CodeOf(err) != errs.FailedPrecondition {
		t.Fatalf("second auth = %v", err)
	}
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatalf("connection closed after second auth: %v", err)
	}
	if got := e.listener.Events(); len(got) != 1 {
		t.Fatalf("router told %v", got)
	}
}

func TestAllowedOriginConnects(t *testing.T) {
	e := newEnv(t)
	for _, origin := range []string{testOrigin, "HTTPS://App.Example.com", "http://localhost:8080"} {
		c, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(1, "web", time.Hour), Origin: origin})
		if err != nil {
			t.Fatalf("origin %s: %v", origin, err)
		}
		_ = c.Close()
	}
}

// The web client is served by the gateway itself, so its origin is the
// gateway's own host, whatever port or name the gateway was started with.
func TestSameOriginPageConnectsWithoutAllowListEntry(t *testing.T) {
	e := newEnv(t)
	origin := e.srv.URL // http://127.0.0.1:<random port>, not in the allow-list
	c, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(1, "web", time.Hour), Origin: origin,
		TokenMode: wsclient.TokenInSubprotocol})
	if err != nil {
		t.Fatalf("same origin %s: %v", origin, err)
	}
	_ = c.Close()
}

func TestDisallowedOriginIsClosedWith4408(t *testing.T) {
	e := newEnv(t)
	for _, origin := range []string{"https://evil.example.com", "https://app.example.com.evil.net", "null", "http://app.example.com"} {
		c := e.dial(wsclient.Options{Origin: origin})
		if ce := waitClose(t, c, 4408); ce.Reconnect {
			t.Fatalf("origin %s: 4408 must not advise reconnecting", origin)
		}
	}
	if e.hub.Count() != 0 {
		t.Fatal("refused origins were added to the hub")
	}
	if v := e.metric("gateway_upgrades_total", "outcome", "origin_denied"); v != 4 {
		t.Fatalf("origin_denied upgrades = %v", v)
	}
}

func TestNoOriginHeaderConnectsAsNativeClient(t *testing.T) {
	e := newEnv(t)
	ws, _ := e.raw(nil, wsapi.Subprotocol) // gorilla sends no Origin unless told
	writeText(t, ws, `{"v":1,"id":"1","type":"auth","token":"`+e.token(1, "n", time.Hour)+`"}`)
	if f := readFrame(t, ws); f.FrameType() != protocol.TypeWelcome {
		t.Fatalf("got %s", f.FrameType())
	}
}

func TestUpgradeWithoutWebSocketHeadersIsRefusedOverHTTP(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET = %d", resp.StatusCode)
	}
	if e.hub.Count() != 0 {
		t.Fatal("hub holds a connection")
	}
}
