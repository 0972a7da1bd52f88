package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/wsclient"
)

// args runs every listener on a free port with JSON logs (kittest reads
// the "listening" lines) and the stores in dir.
func args(dir string, extra ...string) []string {
	return append([]string{"-data-dir=" + dir, "-internal.free-ports", "-public.addr=127.0.0.1:0",
		"-log.format=json", "-auth.argon2.memory-kib=1024", "-auth.argon2.iterations=1"}, extra...)
}

func TestBinaryServesHealthAndStopsOnSIGTERM(t *testing.T) {
	kittest.CheckLifecycle(t, args(t.TempDir()), "public")
}

// user is an account signed in through the public API.
type user struct {
	id    protocol.UserID
	token string
	roles []string
}

func call(t *testing.T, base, path string, in any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func register(t *testing.T, base, name string) {
	t.Helper()
	if code, body := call(t, base, "/api/v1/auth/register", map[string]string{
		"username": name, "password": "correct horse battery", "display_name": name}); code != 201 {
		t.Fatalf("register %s = %d %v", name, code, body)
	}
}

func signIn(t *testing.T, base, name, password string) user {
	t.Helper()
	code, sess := call(t, base, "/api/v1/auth/sign-in", map[string]string{"username": name, "password": password})
	if code != 200 {
		t.Fatalf("sign-in %s = %d %v", name, code, sess)
	}
	u := sess["user"].(map[string]any)
	id, err := strconv.ParseInt(u["id"].(string), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, r := range asList(u["roles"]) {
		roles = append(roles, r.(string))
	}
	return user{id: protocol.UserID(id), token: sess["access_token"].(string), roles: roles}
}

func asList(v any) []any { l, _ := v.([]any); return l }

func connect(t *testing.T, b *kittest.Binary, u user) *wsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Connect(ctx, "ws://"+b.Addr("public")+"/v1/ws", wsclient.Options{Token: u.token})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitReady polls the public /readyz, which covers every in-process service.
func waitReady(t *testing.T, b *kittest.Binary) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := b.Get(t, "public", "/readyz")
		if code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMessagesSurviveARestart: a message sent to an offline user, then a
// SIGTERM, then a new start on the same data directory (on other ports):
// both accounts still sign in, and the recipient's sync returns the message.
func TestMessagesSurviveARestart(t *testing.T) {
	bin := kittest.Build(t)
	dir := t.TempDir()
	b := kittest.Start(t, bin, args(dir), "public")
	waitReady(t, b)
	base := "http://" + b.Addr("public")
	register(t, base, "alice")
	register(t, base, "bob")
	alice := signIn(t, base, "alice", "correct horse battery")
	bob := signIn(t, base, "bob", "correct horse battery")
	conv, err := protocol.DirectConversation(alice.id, bob.id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	aliceConn := connect(t, b, alice)
	ack, err := aliceConn.Send(ctx, conv, "c-1", "hello across a restart")
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := b.Terminate(t, 20*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	// The gateway drained first: alice was told to reconnect, not cut off.
	<-aliceConn.Done()
	var ce *wsclient.CloseError
	if !errors.As(aliceConn.Err(), &ce) || !ce.Reconnect || ce.Code == wsclient.CloseAbnormal {
		t.Fatalf("alice's connection ended with %v, want a drain close that says reconnect", aliceConn.Err())
	}

	b = kittest.Start(t, bin, args(dir), "public")
	waitReady(t, b)
	base = "http://" + b.Addr("public")
	signIn(t, base, "alice", "correct horse battery")
	bob = signIn(t, base, "bob", "correct horse battery")
	f, err := connect(t, b, bob).Request(ctx, &protocol.Sync{Limit: 50})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	page, ok := f.(*protocol.SyncPage)
	if !ok || len(page.Messages) != 1 {
		t.Fatalf("bob synced %#v, want the one message", f)
	}
	m := page.Messages[0]
	if m.MessageID != ack.MessageID || m.Body != "hello across a restart" || m.SenderID != alice.id || m.ConversationID != conv {
		t.Fatalf("synced %+v, want message %v from alice", m, ack.MessageID)
	}
	if err := b.Terminate(t, 20*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// TestBootstrapAdminCreatesTheFirstAdminInTheDataDir runs the subcommand
// while the platform is stopped, then signs in as that admin.
func TestBootstrapAdminCreatesTheFirstAdminInTheDataDir(t *testing.T) {
	bin := kittest.Build(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "bootstrap-admin", "-username", "root", "-data-dir", dir)
	cmd.Stdin = strings.NewReader("root password 123\n")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "created admin root") {
		t.Fatalf("bootstrap-admin: %v\n%s", err, out)
	}
	b := kittest.Start(t, bin, args(dir), "public")
	waitReady(t, b)
	root := signIn(t, "http://"+b.Addr("public"), "root", "root password 123")
	if len(root.roles) != 1 || root.roles[0] != "admin" {
		t.Fatalf("root has roles %v, want admin", root.roles)
	}
	if err := b.Terminate(t, 20*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestTargetsSplitAcrossProcesses runs the same binary twice, Mimir-style:
// the services behind the edge in one process, the gateway and the router
// in another, wired by URL flags. A message crosses both: sent through the
// gateway to messagesvc, pushed back through the router to the recipient.
func TestTargetsSplitAcrossProcesses(t *testing.T) {
	bin := kittest.Build(t)
	addr := map[string]string{}
	for _, s := range []string{"authsvc", "messagesvc", "receiptsvc", "groupsvc", "mediasvc", "router", "gateway"} {
		addr[s] = freeAddr(t)
	}
	backend := []string{"-target=authsvc,messagesvc,receiptsvc,groupsvc,mediasvc", "-messages.router-url=http://" + addr["router"]}
	edge := []string{"-target=gateway,router"}
	for s, a := range addr {
		backend = append(backend, "-"+s+".internal.addr="+a)
		edge = append(edge, "-"+s+".internal.addr="+a)
	}
	for flag, s := range map[string]string{"auth": "authsvc", "messages": "messagesvc", "receipts": "receiptsvc", "groups": "groupsvc", "media": "mediasvc"} {
		edge = append(edge, "-gateway."+flag+"-url=http://"+addr[s])
	}
	kittest.Start(t, bin, args(t.TempDir(), backend...), "internal")
	for _, s := range []string{"authsvc", "messagesvc", "receiptsvc", "groupsvc", "mediasvc"} {
		pollReady(t, "http://"+addr[s]+"/readyz")
	}
	front := kittest.Start(t, bin, args(t.TempDir(), edge...), "public")
	waitReady(t, front)
	base := "http://" + front.Addr("public")
	register(t, base, "carol")
	register(t, base, "dave")
	carol, dave := signIn(t, base, "carol", "correct horse battery"), signIn(t, base, "dave", "correct horse battery")
	conv, _ := protocol.DirectConversation(carol.id, dave.id)
	d, c := connect(t, front, dave), connect(t, front, carol)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Dave's device reaches the router a few milliseconds after it
	// connects; carol sends until a push arrives (every send succeeds).
	for i := 1; ; i++ {
		if _, err := c.Send(ctx, conv, "c-"+strconv.Itoa(i), "split"); err != nil {
			t.Fatalf("send: %v", err)
		}
		select {
		case p := <-d.Pushes():
			if m, ok := p.Frame.(*protocol.MessagePush); ok && m.Body == "split" && m.SenderID == carol.id {
				return
			}
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("dave got no push across the two processes")
		}
	}
}

func pollReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
