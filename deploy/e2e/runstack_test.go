package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/stackenv"
	"github.com/parleychat/parley/shared/wsclient"
)

// prodStack is deploy/run-stack.sh started for a test: every service as its
// own process on the real stack, two regions of two gateways each.
type prodStack struct {
	env map[string]string // the env file run-stack.sh wrote
	// stop runs deploy/stop-stack.sh (once; cleanup calls it too).
	stop func()
}

// startRunStack runs deploy/run-stack.sh on free ports in a temp run dir,
// with its own keyspaces, Redis prefix and bucket, and stops it (by PID,
// with deploy/stop-stack.sh) and drops the keyspaces at cleanup.
func startRunStack(t *testing.T) *prodStack {
	t.Helper()
	env := stackenv.Require(t, stackenv.RedisAddr, stackenv.CassandraHosts, stackenv.CassandraDC,
		stackenv.S3Endpoint, stackenv.S3AccessKey, stackenv.S3SecretKey, stackenv.S3Region)
	wd, _ := os.Getwd()
	root, ok := stackenv.RepoRoot(wd)
	if !ok {
		t.Fatalf("no go.work above %s", wd)
	}
	dir := t.TempDir()
	ns := fmt.Sprintf("e2e_prod_%d", rand.Uint32())
	scriptEnv := append(os.Environ(), "CHAT_PROD_DIR="+dir, "CHAT_PROD_PORT_BASE=auto", "CHAT_PROD_NAMESPACE="+ns,
		"CHAT_INTERNAL_SECRET="+kittest.TestSecret, "CHAT_PROD_READY_TIMEOUT=240")
	script := func(name string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "deploy", name))
		cmd.Env = scriptEnv
		return cmd.CombinedOutput()
	}
	stop := sync.OnceFunc(func() {
		if out, err := script("stop-stack.sh"); err != nil {
			t.Errorf("stop-stack.sh: %v\n%s", err, out)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
			for _, l := range logs {
				out, _ := exec.Command("tail", "-n", "15", l).Output()
				t.Logf("--- %s\n%s", filepath.Base(l), out)
			}
		}
		stop()
		for _, ks := range []string{"auth", "messages", "groups", "media"} {
			dropKeyspace(t, env, ns+"_"+ks)
		}
	})
	out, err := script("run-stack.sh")
	if err != nil {
		t.Fatalf("run-stack.sh: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatalf("run-stack.sh wrote no env file: %v\n%s", err, out)
	}
	defer f.Close()
	vals, err := stackenv.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return &prodStack{env: vals, stop: stop}
}

func (p *prodStack) get(t *testing.T, key string) string {
	t.Helper()
	v := p.env[key]
	if v == "" {
		t.Fatalf("%s missing from run-stack's env file", key)
	}
	return v
}

// prodUser is an account signed in on one gateway.
type prodUser struct {
	id    protocol.UserID
	token string
}

func prodAccount(t *testing.T, gatewayURL, name string) prodUser {
	t.Helper()
	post := func(path string, in any) (int, map[string]any) {
		b, _ := json.Marshal(in)
		resp, err := http.Post(gatewayURL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, body := post("/api/v1/auth/register", map[string]string{"username": name, "password": "correct horse battery", "display_name": name}); code != 201 {
		t.Fatalf("register %s = %d %v", name, code, body)
	}
	code, sess := post("/api/v1/auth/sign-in", map[string]string{"username": name, "password": "correct horse battery"})
	if code != 200 {
		t.Fatalf("sign-in %s = %d %v", name, code, sess)
	}
	id, err := strconv.ParseInt(sess["user"].(map[string]any)["id"].(string), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return prodUser{id: protocol.UserID(id), token: sess["access_token"].(string)}
}

func prodConnect(t *testing.T, gatewayURL string, u prodUser) *wsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Connect(ctx, "ws"+gatewayURL[len("http"):]+"/v1/ws", wsclient.Options{Token: u.token})
	if err != nil {
		t.Fatalf("connect to %s: %v", gatewayURL, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitPeerRoute waits until routerURL finds a live route for user, asking
// its peer regions when the user is not local.
func waitPeerRoute(t *testing.T, routerURL string, user protocol.UserID) {
	t.Helper()
	eventually(t, 10*time.Second, "route through the peer router", func() bool {
		var res routerapi.LookupResponse
		code := internalCall(t, http.MethodPost, routerURL+routerapi.PathLookup,
			routerapi.LookupRequest{Users: []ids.ID{ids.ID(user)}}, &res)
		return code == 200 && len(res.Routes[ids.ID(user)]) > 0
	})
}

func waitMessage(t *testing.T, c *wsclient.Client, body string) *protocol.MessagePush {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case p, ok := <-c.Pushes():
			if !ok {
				t.Fatalf("connection ended waiting for %q: %v", body, c.Err())
			}
			if m, isMsg := p.Frame.(*protocol.MessagePush); isMsg && m.Body == body {
				return m
			}
		case <-deadline:
			t.Fatalf("no message %q within 15s", body)
		}
	}
}

// TestRunStackTwoRegionsExchangeMessages runs the production-on-one-machine
// script and chats across regions: alice on an eu gateway, bob on a us
// gateway, each signed up on their own gateway; every message crosses the
// routers' peering.
func TestRunStackTwoRegionsExchangeMessages(t *testing.T) {
	p := startRunStack(t)
	eu, us := p.get(t, "PARLEY_GATEWAY_EU_1_URL"), p.get(t, "PARLEY_GATEWAY_US_2_URL")
	for _, g := range []string{eu, us, p.get(t, "PARLEY_GATEWAY_EU_2_URL"), p.get(t, "PARLEY_GATEWAY_US_1_URL")} {
		resp, err := http.Get(g + "/readyz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s/readyz: %v %v", g, resp, err)
		}
		resp.Body.Close()
	}
	alice, bob := prodAccount(t, eu, "alice"), prodAccount(t, us, "bob")
	a, b := prodConnect(t, eu, alice), prodConnect(t, us, bob)
	waitPeerRoute(t, p.get(t, "PARLEY_INTERNAL_ROUTER_EU_URL"), bob.id)
	waitPeerRoute(t, p.get(t, "PARLEY_INTERNAL_ROUTER_US_URL"), alice.id)

	conv, err := protocol.DirectConversation(alice.id, bob.id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ack, err := a.Send(ctx, conv, "c-1", "hello from eu")
	if err != nil {
		t.Fatalf("alice's send: %v", err)
	}
	if m := waitMessage(t, b, "hello from eu"); m.MessageID != ack.MessageID || m.SenderID != alice.id {
		t.Fatalf("bob got %+v, want message %v from alice", m, ack.MessageID)
	}
	if _, err := b.Send(ctx, conv, "c-1", "hello from us"); err != nil {
		t.Fatalf("bob's send: %v", err)
	}
	waitMessage(t, a, "hello from us")

	// stop-stack.sh drains the gateways first: both clients are told to
	// reconnect (to a gateway that is still up, in production), not cut off.
	p.stop()
	for name, c := range map[string]*wsclient.Client{"alice": a, "bob": b} {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s's connection outlived stop-stack.sh", name)
		}
		var ce *wsclient.CloseError
		if !errors.As(c.Err(), &ce) || !ce.Reconnect || ce.Code == wsclient.CloseAbnormal {
			t.Fatalf("%s's connection ended with %v, want a drain close that says reconnect", name, c.Err())
		}
	}
}

// TestRunAllinoneScript starts the all-in-one binary the way scripts and the
// browser tests do (deploy/run-allinone.sh, with an admin), signs the admin
// in through the printed URL, and stops it with deploy/stop-stack.sh.
func TestRunAllinoneScript(t *testing.T) {
	wd, _ := os.Getwd()
	root, ok := stackenv.RepoRoot(wd)
	if !ok {
		t.Fatalf("no go.work above %s", wd)
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CHAT_ALLINONE_DIR="+dir, "CHAT_ALLINONE_PORT=auto",
			"CHAT_ALLINONE_ADMIN_USER=root", "CHAT_ALLINONE_ADMIN_PASSWORD=root password 123")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run("deploy/run-allinone.sh")
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			run("deploy/stop-stack.sh", dir)
		}
	})
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	vals, err := stackenv.Parse(f)
	f.Close()
	if err != nil || vals["PARLEY_URL"] == "" {
		t.Fatalf("env file: %v %v", vals, err)
	}
	pid, _ := os.ReadFile(filepath.Join(dir, "pids", "parley.pid"))
	b, _ := json.Marshal(map[string]string{"username": "root", "password": "root password 123"})
	resp, err := http.Post(vals["PARLEY_URL"]+"/api/v1/auth/sign-in", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		User struct{ Roles []string } `json:"user"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(sess.User.Roles) != 1 || sess.User.Roles[0] != "admin" {
		t.Fatalf("admin sign-in = %d %+v", resp.StatusCode, sess)
	}
	run("deploy/stop-stack.sh", dir)
	stopped = true
	if resp, err := http.Get(vals["PARLEY_URL"] + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("parley (pid %s) still answers after stop-stack.sh", bytes.TrimSpace(pid))
	}
}
