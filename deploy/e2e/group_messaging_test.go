package e2e

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/stackenv"
)

// groupPlatform is every service as its own process, groupsvc included:
// authsvc (embedded), router (Redis), messagesvc and groupsvc (Cassandra),
// receiptsvc and three gateways.
type groupPlatform struct {
	platform
	groups *kittest.Binary
}

// startGroupPlatform starts the platform with messagesvc fanning out
// groups above pointerMax members without inbox pointers.
func startGroupPlatform(t *testing.T, pointerMax int) *groupPlatform {
	env := stackenv.Require(t, stackenv.RedisAddr, stackenv.CassandraHosts, stackenv.CassandraDC)
	p := &groupPlatform{platform: platform{keyspace: fmt.Sprintf("e2e_gmsg_%d", rand.Uint32())}}
	groupsKeyspace := fmt.Sprintf("e2e_groups_%d", rand.Uint32())
	p.auth = startAuth(t)
	p.router = startRouter(t, routerOpts{region: "eu", redisAddrs: env[stackenv.RedisAddr], prefix: keyPrefix()})
	// messagesvc and groupsvc call each other: messagesvc's port is
	// chosen first so groupsvc can be told where to post its events.
	messagesAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p.groups = kittest.Start(t, binary(t, "groupsvc"), []string{"-internal.addr=127.0.0.1:0",
		"-groups.store.backend=cassandra", "-groups.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-groups.cassandra.dc=" + env[stackenv.CassandraDC], "-groups.cassandra.keyspace=" + groupsKeyspace,
		"-groups.node-id=8", "-groups.auth-url=" + p.auth.URL(), "-groups.messages-url=http://" + messagesAddr,
		"-groups.dispatch-interval=200ms"}, "internal")
	t.Cleanup(func() { dropKeyspace(t, env, groupsKeyspace) })
	p.messages = kittest.Start(t, binary(t, "messagesvc"), []string{"-internal.addr=" + messagesAddr,
		"-messages.store.backend=cassandra", "-messages.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-messages.cassandra.dc=" + env[stackenv.CassandraDC], "-messages.cassandra.keyspace=" + p.keyspace,
		"-messages.cassandra.timeout=2s", "-messages.node-id=7", "-messages.router-url=" + p.router.URL(),
		"-messages.auth-url=" + p.auth.URL(), "-messages.groups-url=" + p.groups.URL(),
		fmt.Sprintf("-messages.group-pointer-max=%d", pointerMax), "-messages.group-receipt-window=50ms"}, "internal")
	t.Cleanup(func() { dropKeyspace(t, env, p.keyspace) })
	p.receipts = kittest.Start(t, binary(t, "receiptsvc"), []string{"-internal.addr=127.0.0.1:0",
		"-receipts.messages-url=" + p.messages.URL()}, "internal")
	for range 3 {
		p.gateways = append(p.gateways, kittest.Start(t, binary(t, "gateway"), []string{"-public.addr=127.0.0.1:0",
			"-internal.addr=127.0.0.1:0", "-gateway.region=eu", "-gateway.router-url=" + p.router.URL(),
			"-gateway.auth-url=" + p.auth.URL(), "-gateway.messages-url=" + p.messages.URL(),
			"-gateway.receipts-url=" + p.receipts.URL(), "-gateway.groups-url=" + p.groups.URL(),
			"-gateway.upstream-timeout=4s", "-gateway.drain-spread=200ms"}, "public", "internal"))
	}
	return p
}

// messagePushes counts, per message id, the message pushes of conv that d
// collected and no waitPush took (draining what has arrived).
func (d *device) messagePushes(conv string) map[string]int {
	d.drain()
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for _, f := range d.pushes {
		if f["type"] == "message" && f["conversation_id"] == conv {
			out[f["message_id"].(string)]++
		}
	}
	return out
}

// drain moves every frame that has arrived into the collected pushes.
func (d *device) drain() {
	for {
		select {
		case f, ok := <-d.c.frames:
			if !ok {
				return
			}
			d.keep(f)
		default:
			return
		}
	}
}

func hasMessage(id string) func(map[string]any) bool {
	return func(f map[string]any) bool { return f["type"] == "message" && f["message_id"] == id }
}

// TestGroupMessagingEndToEnd runs a group on the real groupsvc: four
// members on three gateways (one offline), messages fanned out without
// per-member pointers (4 members > pointer max 3), group receipt counts to
// the sender, the readers list, and a removal after which the removed
// member receives nothing more while the rest (now 3: pointers) go on.
func TestGroupMessagingEndToEnd(t *testing.T) {
	p := startGroupPlatform(t, 3)
	aliceID, aliceIn := p.account(t, "galice")
	bobID, bobIn := p.account(t, "gbob")
	carolID, carolIn := p.account(t, "gcarol")
	daveID, daveIn := p.account(t, "gdave")
	aliceToken := aliceIn()
	a := connect(t, p.gateways[0], aliceToken)
	b := connect(t, p.gateways[1], bobIn())
	c := connect(t, p.gateways[2], carolIn())
	for _, u := range []string{aliceID, bobID, carolID} {
		p.waitRoutable(t, u, 1)
	}

	code, created := publicCall(t, p.gateways[0], "POST", "/api/v1/groups", aliceToken, map[string]any{
		"name": "Lunch", "members": []string{bobID, carolID, daveID}})
	g, _ := created["group"].(map[string]any)
	if code != 201 || g == nil {
		t.Fatalf("create group = %d %v", code, created)
	}
	conv := "g:" + g["id"].(string)
	for _, d := range []*device{a, b, c} {
		ev := d.waitPush("group_created", func(f map[string]any) bool {
			return f["type"] == "message" && f["conversation_id"] == conv && f["kind"] == "group_created"
		})
		if ev["sender_id"] != aliceID {
			t.Fatalf("group_created = %v", ev)
		}
	}

	// Alice sends; online members on other gateways get each message.
	var sent []string
	for i := 1; i <= 3; i++ {
		ack := a.send(conv, fmt.Sprintf("g%d", i), fmt.Sprintf("hello group %d", i))
		if ack["type"] != "ack" {
			t.Fatalf("send %d = %v", i, ack)
		}
		sent = append(sent, ack["message_id"].(string))
	}
	if again := a.send(conv, "g2", "hello group 2"); again["message_id"] != sent[1] {
		t.Fatalf("retried group send = %v, want %s", again, sent[1])
	}
	for _, d := range []*device{b, c} {
		for _, id := range sent {
			d.waitPush("group message", hasMessage(id))
		}
	}

	// Dave was offline: he syncs (pulls) everything, once after dedupe.
	dv := connect(t, p.gateways[0], daveIn())
	got, _ := dv.syncAll("")
	if len(got) != 4 || fmt.Sprint(got[1:]) != fmt.Sprint(sent) {
		t.Fatalf("dave synced %v, want group_created then %v", got, sent)
	}

	// Receipts: bob received all three, carol read up to the last; alice
	// gets the counts "received by 2 of 3, read by 1 of 3".
	b.fire(map[string]any{"type": "received", "conversation_id": conv, "message_ids": sent})
	c.fire(map[string]any{"type": "read", "conversation_id": conv, "up_to": sent[2]})
	a.waitPush("counts received 2 read 1 of 3", func(f map[string]any) bool {
		if f["type"] != "receipt" || f["conversation_id"] != conv {
			return false
		}
		for _, x := range asList(f["counts"]) {
			n := x.(map[string]any)
			if n["message_id"] == sent[2] && n["received"] == float64(2) && n["read"] == float64(1) && n["of"] == float64(3) {
				return true
			}
		}
		return false
	})
	code, readers := publicCall(t, p.gateways[0], "GET", "/api/v1/messages/conversations/"+conv+"/messages/"+sent[2]+"/readers", aliceToken, nil)
	if code != 200 || readers["of"] != float64(3) || len(asList(readers["read"])) != 1 ||
		asList(readers["read"])[0].(map[string]any)["user_id"] != carolID {
		t.Fatalf("readers = %d %v", code, readers)
	}

	// Alice removes Carol: Carol's devices get the removal as the last
	// message of the group, then nothing more.
	code, _ = publicCall(t, p.gateways[0], "DELETE", "/api/v1/groups/"+g["id"].(string)+"/members/"+carolID, aliceToken, nil)
	if code != 200 && code != 204 {
		t.Fatalf("remove carol = %d", code)
	}
	removed := c.waitPush("member_removed", func(f map[string]any) bool {
		return f["type"] == "message" && f["conversation_id"] == conv && f["kind"] == "member_removed"
	})
	b.waitPush("member_removed", hasMessage(removed["message_id"].(string)))
	dv.waitPush("member_removed", hasMessage(removed["message_id"].(string)))
	after := a.send(conv, "g4", "after carol")
	if after["type"] != "ack" {
		t.Fatalf("send after the removal = %v", after)
	}
	afterID := after["message_id"].(string)
	b.waitPush("message after the removal", hasMessage(afterID))
	dv.waitPush("message after the removal", hasMessage(afterID))
	time.Sleep(time.Second) // anything meant for carol would have come by now
	if n := c.messagePushes(conv)[afterID]; n != 0 {
		t.Fatalf("removed member got the later message %d times", n)
	}
	// Every message bob got was taken once by waitPush above; no device
	// reconnected, so nothing may be left over: each came exactly once.
	for _, d := range []*device{b, dv} {
		if extra := d.messagePushes(conv); len(extra) != 0 {
			t.Fatalf("duplicate group pushes %v", extra)
		}
	}
	cSync, _ := connect(t, p.gateways[1], carolIn()).syncAll("")
	for _, id := range cSync {
		if id == afterID {
			t.Fatalf("removed member synced the later message: %v", cSync)
		}
	}
	if e := c.send(conv, "c-late", "still here?"); e["type"] != "error" || e["code"] != "not_found" {
		t.Fatalf("send by the removed member = %v, want not_found", e)
	}
	code, _ = publicCall(t, p.gateways[2], "GET", "/api/v1/messages/conversations/"+conv+"/history", carolIn(), nil)
	if code != 404 {
		t.Fatalf("history for the removed member = %d, want 404", code)
	}
	// Dave's second device syncs it all once; now 3 members: pointer path.
	all, _ := connect(t, p.gateways[2], daveIn()).syncAll("")
	if want := append(append([]string{got[0]}, sent...), removed["message_id"].(string), afterID); fmt.Sprint(all) != fmt.Sprint(want) {
		t.Fatalf("dave's new device synced %v, want %v", all, want)
	}
	for _, d := range []*device{a, b, c, dv} {
		d.drain()
		d.noErrors() // request replies (carol's not_found) are not kept
	}
}
