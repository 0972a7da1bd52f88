package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/stackenv"
	"github.com/parleychat/parley/shared/svcauth"
)

// binaries are built once per test run and shared by every test.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func binary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		wd, _ := os.Getwd()
		root, ok := stackenv.RepoRoot(wd)
		if !ok {
			buildErr = fmt.Errorf("no go.work above %s", wd)
			return
		}
		binDir, buildErr = os.MkdirTemp("", "parley-e2e-bin-")
		if buildErr != nil {
			return
		}
		for _, svc := range []string{"router", "gateway", "authsvc", "messagesvc", "receiptsvc", "groupsvc"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, svc), "github.com/parleychat/parley/"+svc+"/cmd/"+svc)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", svc, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// keys stands in for authsvc's signing keys in the routing tests: the
// gateway fetches them over HTTP exactly as it fetches authsvc's JWKS.
type keys struct {
	kid  string
	priv ed25519.PrivateKey
	srv  *httptest.Server
}

func newKeys(t testing.TB) *keys {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k := &keys{kid: "e2e-key", priv: priv}
	set := authtoken.JWKSet{Keys: []authtoken.JWK{authtoken.PublicJWK(k.kid, pub)}}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *keys) token(t testing.TB, user ids.ID, device string) string {
	tok, _, err := authtoken.Sign(k.kid, k.priv, authtoken.Grant{UserID: user, DeviceID: device,
		Issuer: authtoken.DefaultIssuer, Audience: authtoken.DefaultAudience, IssuedAt: time.Now(), TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var prefixSeq atomic.Int64

// keyPrefix isolates one test's Redis keys.
func keyPrefix() string {
	return fmt.Sprintf("e2e:%d:%d:", time.Now().UnixNano(), prefixSeq.Add(1))
}

// region is one region's router and gateways.
type region struct {
	name     string
	router   *kittest.Binary
	gateways []*kittest.Binary
}

func (r *region) routerURL() string { return "http://" + r.router.Addr("internal") }

type routerOpts struct {
	addr       string
	region     string
	redisAddrs string
	prefix     string
	peers      []string
}

func startRouter(t *testing.T, o routerOpts) *kittest.Binary {
	t.Helper()
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	args := []string{"-internal.addr=" + addr, "-router.region=" + o.region, "-router.store.backend=redis",
		"-router.redis.addrs=" + o.redisAddrs, "-router.redis.key-prefix=" + o.prefix, "-router.gateway-ttl=2s"}
	if len(o.peers) > 0 {
		args = append(args, "-router.peers="+strings.Join(o.peers, ","))
	}
	return kittest.Start(t, binary(t, "router"), args, "internal")
}

func startGateway(t *testing.T, regionName, routerURL, authURL string) *kittest.Binary {
	t.Helper()
	return kittest.Start(t, binary(t, "gateway"), []string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0",
		"-gateway.region=" + regionName, "-gateway.router-url=" + routerURL, "-gateway.auth-url=" + authURL,
		"-gateway.drain-spread=200ms", "-gateway.drain-timeout=5s"}, "public", "internal")
}

// freePort reserves nothing; it finds a port free right now.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// internalCall calls a service's internal API with a valid service token.
func internalCall(t testing.TB, method, url string, in, out any) int {
	t.Helper()
	signer, err := svcauth.NewSigner("e2e", kittest.TestSecret)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := signer.Token()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, body)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, data, err)
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		t.Logf("%s %s = %d %s", method, url, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// client is one device's WebSocket connection.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan map[string]any
	closed chan int // close code received from the server
}

func dial(t *testing.T, gateway *kittest.Binary, token string) *client {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"parley.v1"}, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws://"+gateway.Addr("public")+"/v1/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &client{t: t, ws: ws, frames: make(chan map[string]any, 64), closed: make(chan int, 1)}
	t.Cleanup(func() { _ = ws.Close() })
	go c.readLoop()
	c.write(map[string]any{"v": 1, "id": "auth", "type": "auth", "token": token})
	if f := c.next(5 * time.Second); f["type"] != "welcome" {
		t.Fatalf("auth answered %v", f)
	}
	return c
}

func (c *client) readLoop() {
	defer close(c.frames)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			code := -1
			if ce, ok := err.(*websocket.CloseError); ok {
				code = ce.Code
			}
			c.closed <- code
			return
		}
		var f map[string]any
		if json.Unmarshal(data, &f) == nil {
			c.frames <- f
		}
	}
}

func (c *client) write(f map[string]any) {
	if err := c.ws.WriteJSON(f); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, failing the test after wait.
func (c *client) next(wait time.Duration) map[string]any {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			c.t.Fatal("connection closed while waiting for a frame")
		}
		return f
	case <-time.After(wait):
		c.t.Fatalf("no frame within %v", wait)
		return nil
	}
}

// closeCode waits for the server to close the connection.
func (c *client) closeCode(wait time.Duration) int {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case code := <-c.closed:
			return code
		case <-c.frames: // frames before the close (goaway) are drained by the caller if needed
		case <-deadline:
			c.t.Fatalf("connection not closed within %v", wait)
			return 0
		}
	}
}

// eventually polls cond until it holds or wait passes.
func eventually(t *testing.T, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func idStr(id ids.ID) string { return strconv.FormatInt(int64(id), 10) }
