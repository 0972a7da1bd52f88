package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/stackenv"
)

// platform is every service as its own process: authsvc (embedded store),
// router (Redis), messagesvc (Cassandra), receiptsvc and two gateways.
type platform struct {
	auth, router, messages, receipts *kittest.Binary
	gateways                         []*kittest.Binary
	keyspace                         string
}

func startPlatform(t *testing.T) *platform {
	env := stackenv.Require(t, stackenv.RedisAddr, stackenv.CassandraHosts, stackenv.CassandraDC)
	p := &platform{keyspace: fmt.Sprintf("e2e_msg_%d", rand.Uint32())}
	p.auth = startAuth(t)
	p.router = startRouter(t, routerOpts{region: "eu", redisAddrs: env[stackenv.RedisAddr], prefix: keyPrefix()})
	p.messages = kittest.Start(t, binary(t, "messagesvc"), []string{"-internal.addr=127.0.0.1:0",
		"-messages.store.backend=cassandra", "-messages.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-messages.cassandra.dc=" + env[stackenv.CassandraDC], "-messages.cassandra.keyspace=" + p.keyspace,
		"-messages.cassandra.timeout=2s", "-messages.node-id=7",
		"-messages.router-url=" + p.router.URL(), "-messages.auth-url=" + p.auth.URL()}, "internal")
	t.Cleanup(func() { dropKeyspace(t, env, p.keyspace) })
	p.receipts = kittest.Start(t, binary(t, "receiptsvc"), []string{"-internal.addr=127.0.0.1:0",
		"-receipts.messages-url=" + p.messages.URL()}, "internal")
	for i := 0; i < 2; i++ {
		p.gateways = append(p.gateways, kittest.Start(t, binary(t, "gateway"), []string{"-public.addr=127.0.0.1:0",
			"-internal.addr=127.0.0.1:0", "-gateway.region=eu", "-gateway.router-url=" + p.router.URL(),
			"-gateway.auth-url=" + p.auth.URL(), "-gateway.messages-url=" + p.messages.URL(),
			"-gateway.receipts-url=" + p.receipts.URL(), "-gateway.upstream-timeout=4s",
			"-gateway.drain-spread=200ms"}, "public", "internal"))
	}
	return p
}

// account registers a user and returns its id and a sign-in function that
// opens a new device session.
func (p *platform) account(t *testing.T, name string) (string, func() string) {
	code, _ := publicCall(t, p.gateways[0], "POST", "/api/v1/auth/register", "", map[string]string{
		"username": name, "password": "correct horse battery", "display_name": name})
	if code != 201 {
		t.Fatalf("register %s = %d", name, code)
	}
	var id string
	signIn := func() string {
		code, sess := publicCall(t, p.gateways[0], "POST", "/api/v1/auth/sign-in", "", map[string]string{
			"username": name, "password": "correct horse battery"})
		if code != 200 {
			t.Fatalf("sign-in %s = %d %v", name, code, sess)
		}
		id = sess["user"].(map[string]any)["id"].(string)
		return sess["access_token"].(string)
	}
	signIn() // learns the id
	return id, signIn
}

// device is one signed-in client: requests are matched to replies by id,
// pushes are collected in order.
type device struct {
	t      *testing.T
	c      *client
	mu     sync.Mutex
	seq    int
	pushes []map[string]any
}

func connect(t *testing.T, gw *kittest.Binary, token string) *device {
	return &device{t: t, c: dial(t, gw, token)}
}

// request sends a frame and returns its reply, keeping pushes that arrive meanwhile.
func (d *device) request(f map[string]any) map[string]any {
	d.t.Helper()
	d.mu.Lock()
	d.seq++
	id := "r" + strconv.Itoa(d.seq)
	d.mu.Unlock()
	f["v"], f["id"] = 1, id
	d.c.write(f)
	for {
		got := d.c.next(15 * time.Second)
		if got["id"] == id {
			return got
		}
		d.keep(got)
	}
}

// fire sends a frame that gets no reply unless it fails (received, read,
// typing); a failure shows up later as an error push with its id.
func (d *device) fire(f map[string]any) string {
	d.mu.Lock()
	d.seq++
	id := "f" + strconv.Itoa(d.seq)
	d.mu.Unlock()
	f["v"], f["id"] = 1, id
	d.c.write(f)
	return id
}

// noErrors fails the test if any error frame was collected.
func (d *device) noErrors() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range d.pushes {
		if f["type"] == "error" {
			d.t.Fatalf("unexpected error frame: %v", f)
		}
	}
}

func (d *device) keep(f map[string]any) {
	d.mu.Lock()
	d.pushes = append(d.pushes, f)
	d.mu.Unlock()
}

// waitPush returns the first collected or arriving push matching pred.
func (d *device) waitPush(what string, pred func(map[string]any) bool) map[string]any {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		for i, f := range d.pushes {
			if pred(f) {
				d.pushes = append(d.pushes[:i], d.pushes[i+1:]...)
				d.mu.Unlock()
				return f
			}
		}
		d.mu.Unlock()
		select {
		case f, ok := <-d.c.frames:
			if !ok {
				d.t.Fatalf("connection closed waiting for %s", what)
			}
			d.keep(f)
		case <-time.After(time.Until(deadline)):
			d.t.Fatalf("no %s push within 10s", what)
		}
	}
}

func (d *device) send(conv, clientID, body string) map[string]any {
	return d.request(map[string]any{"type": "send", "conversation_id": conv, "client_msg_id": clientID, "body": body})
}

// syncAll pages through sync until more is false and returns the message
// ids in order, deduplicated as a client does.
func (d *device) syncAll(cursor string) ([]string, string) {
	d.t.Helper()
	var ids []string
	seen := map[string]bool{}
	for {
		f := map[string]any{"type": "sync", "limit": 2}
		if cursor != "" {
			f["cursor"] = cursor
		}
		page := d.request(f)
		if page["type"] != "sync_page" {
			d.t.Fatalf("sync answered %v", page)
		}
		for _, m := range asList(page["messages"]) {
			id := m.(map[string]any)["message_id"].(string)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		cursor = page["cursor"].(string)
		if page["more"] != true {
			return ids, cursor
		}
	}
}

// waitRoutable waits until the router knows n devices of user, so that a
// push issued next reaches all of them (attaches are batched for ~20 ms).
func (p *platform) waitRoutable(t *testing.T, user string, n int) {
	t.Helper()
	id, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	r := &region{name: "eu", router: p.router}
	eventually(t, 5*time.Second, "devices routable", func() bool { return len(lookup(t, r, ids.ID(id), true)) >= n })
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func direct(a, b string) string {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	if x > y {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

func TestOneToOneMessagingEndToEnd(t *testing.T) {
	p := startPlatform(t)
	aliceID, aliceSignIn := p.account(t, "alice")
	bobID, bobSignIn := p.account(t, "bob")
	conv := direct(aliceID, bobID)
	a1 := connect(t, p.gateways[0], aliceSignIn())
	a2 := connect(t, p.gateways[1], aliceSignIn())
	p.waitRoutable(t, aliceID, 2)

	// Alice sends to Bob, who is offline; acks come in order.
	var sent []string
	for i := 1; i <= 3; i++ {
		ack := a1.send(conv, fmt.Sprintf("c%d", i), fmt.Sprintf("hello %d", i))
		if ack["type"] != "ack" {
			t.Fatalf("send %d answered %v", i, ack)
		}
		sent = append(sent, ack["message_id"].(string))
	}
	// Alice's other device sees her messages, with their client ids.
	for i, id := range sent {
		m := a2.waitPush("own message", func(f map[string]any) bool { return f["type"] == "message" && f["message_id"] == id })
		if m["client_msg_id"] != fmt.Sprintf("c%d", i+1) {
			t.Fatalf("own copy lacks client_msg_id: %v", m)
		}
	}
	// A retried send returns the same message.
	if again := a1.send(conv, "c2", "hello 2"); again["message_id"] != sent[1] {
		t.Fatalf("retry acked %v, want message %s", again, sent[1])
	}

	// Bob connects two devices; each syncs everything, in order.
	b1 := connect(t, p.gateways[0], bobSignIn())
	b2 := connect(t, p.gateways[1], bobSignIn())
	p.waitRoutable(t, bobID, 2)
	got1, cursor1 := b1.syncAll("")
	got2, _ := b2.syncAll("")
	if fmt.Sprint(got1) != fmt.Sprint(sent) || fmt.Sprint(got2) != fmt.Sprint(sent) {
		t.Fatalf("bob's devices synced %v and %v, want %v", got1, got2, sent)
	}

	// Bob's first device acknowledges; Alice's devices get the receipts.
	b1.fire(map[string]any{"type": "received", "conversation_id": conv, "message_ids": sent, "cursor": cursor1})
	for _, d := range []*device{a1, a2} {
		d.waitPush("received receipt", func(f map[string]any) bool { return f["type"] == "receipt" && f["state"] == "received" })
	}
	b1.fire(map[string]any{"type": "read", "conversation_id": conv, "up_to": sent[2]})
	for _, d := range []*device{a1, a2} {
		r := d.waitPush("read receipt", func(f map[string]any) bool { return f["type"] == "receipt" && f["state"] == "read" })
		if r["up_to"] != sent[2] || r["at_ms"] == nil || r["user_id"] != bobID {
			t.Fatalf("read receipt = %v", r)
		}
	}
	rs := b2.waitPush("read state", func(f map[string]any) bool { return f["type"] == "read_state" })
	if rs["unread"] != float64(0) || rs["up_to"] != sent[2] {
		t.Fatalf("bob's other device read state = %v, want unread 0", rs)
	}
	b1.noErrors()

	// A gateway dies while Alice keeps sending: Bob's device on it
	// reconnects elsewhere and, after client dedupe, has every message once.
	p.gateways[1].Kill(t)
	for i := 4; i <= 8; i++ {
		ack := a1.send(conv, fmt.Sprintf("c%d", i), fmt.Sprintf("hello %d", i))
		if ack["type"] != "ack" {
			t.Fatalf("send %d answered %v", i, ack)
		}
		sent = append(sent, ack["message_id"].(string))
	}
	b2 = connect(t, p.gateways[0], bobSignIn())
	all, _ := b2.syncAll("")
	if fmt.Sprint(all) != fmt.Sprint(sent) {
		t.Fatalf("after the gateway crash bob has %v, want %v", all, sent)
	}
}

// TestCassandraOutageSendsFailRetryablyThenSucceedOnce stops the stack's
// Cassandra mid-test. It is in this package because deploy/test.sh runs
// the e2e tests alone, after every other package, so nothing else uses
// Cassandra meanwhile.
func TestCassandraOutageSendsFailRetryablyThenSucceedOnce(t *testing.T) {
	p := startPlatform(t)
	aliceID, aliceSignIn := p.account(t, "carol")
	bobID, bobSignIn := p.account(t, "dave")
	conv := direct(aliceID, bobID)
	a := connect(t, p.gateways[0], aliceSignIn())
	before := a.send(conv, "k1", "before the outage")
	if before["type"] != "ack" {
		t.Fatalf("send = %v", before)
	}

	port := cassandraPort(t)
	stack(t, port, "down.sh", "cassandra")
	restarted := false
	defer func() {
		if !restarted {
			stack(t, port, "up.sh", "cassandra")
		}
	}()
	failed := a.send(conv, "k2", "during the outage")
	if failed["type"] != "error" || failed["retryable"] != true {
		t.Fatalf("send during the outage = %v, want a retryable error", failed)
	}
	stack(t, port, "up.sh", "cassandra")
	restarted = true

	// Retry as a client should: same client id, backing off between tries
	// (the gateway rate-limits sends, and closes clients that ignore it).
	var ack map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		ack = a.send(conv, "k2", "during the outage")
		if ack["type"] == "ack" {
			break
		}
		if ack["retryable"] != true || time.Now().After(deadline) {
			t.Fatalf("send after Cassandra came back = %v", ack)
		}
		time.Sleep(time.Second)
	}
	b := connect(t, p.gateways[0], bobSignIn())
	got, _ := b.syncAll("")
	want := []string{before["message_id"].(string), ack["message_id"].(string)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the outage bob has %v, want exactly %v", got, want)
	}
}

// cassandraPort is the stack's CQL port, read before a restart: the
// stack may have been started with CHAT_STACK_CASSANDRA_PORT=auto, and the
// restarted node must come back where its clients expect it.
func cassandraPort(t *testing.T) string {
	env := stackenv.Require(t, stackenv.CassandraHosts)
	_, port, err := net.SplitHostPort(stackenv.Split(env[stackenv.CassandraHosts])[0])
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func stack(t *testing.T, cassandraPort, script string, services ...string) {
	t.Helper()
	wd, _ := os.Getwd()
	root, _ := stackenv.RepoRoot(wd)
	cmd := exec.Command("bash", append([]string{root + "/deploy/stack/" + script}, services...)...)
	// A restart keeps Cassandra's data and its port, as a real node restart does.
	cmd.Env = append(os.Environ(), "CHAT_STACK_KEEP_DATA=1", "CHAT_STACK_CASSANDRA_PORT="+cassandraPort)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", script, services, err, out)
	}
}

// dropKeyspace removes a test's keyspace.
func dropKeyspace(t *testing.T, env map[string]string, keyspace string) {
	cluster := gocql.NewCluster(stackenv.Split(env[stackenv.CassandraHosts])...)
	cluster.Timeout = 30 * time.Second
	session, err := cluster.CreateSession()
	if err != nil {
		t.Logf("drop keyspace %s: %v", keyspace, err)
		return
	}
	defer session.Close()
	if err := session.Query("DROP KEYSPACE IF EXISTS " + keyspace).Exec(); err != nil {
		t.Logf("drop keyspace %s: %v", keyspace, err)
	}
}
