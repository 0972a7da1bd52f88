package load

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/account"
	"github.com/parleychat/parley/deploy/chatload/internal/stats"
	"github.com/parleychat/parley/shared/protocol"
)

// pair builds a tracker over one 1:1 conversation whose devices never
// connect: the test plays the server's part by calling OnMessage.
func pair(t *testing.T) (*Tracker, *Device, *Device) {
	t.Helper()
	env := &Env{Gateways: []string{"ws://127.0.0.1:1/v1/ws"}, Rec: stats.NewRecorder(), RunID: "run1", Base: time.Now()}
	a := NewDevice(env, 0, &account.Account{UserID: 11})
	b := NewDevice(env, 1, &account.Account{UserID: 12})
	c, err := NewConv("", []*Device{a, b})
	if err != nil {
		t.Fatal(err)
	}
	return NewTracker(env, []*Conv{c}, 40, 10), a, b
}

// ackedSend records a send of sender 0 as acknowledged with id.
func ackedSend(tr *Tracker, id protocol.MessageID) int {
	s := tr.Senders[0]
	s.mu.Lock()
	seq := len(s.msgs)
	s.msgs = append(s.msgs, rec{intended: 1, state: acked, msgID: id, seenID: id, delivered: make([]uint8, 2)})
	s.mu.Unlock()
	tr.byMsgID.Store(id, ref{s: s, seq: seq})
	tr.sent.Add(1)
	tr.ackedN.Add(1)
	return seq
}

func msg(tr *Tracker, seq int, id protocol.MessageID) *protocol.Message {
	return &protocol.Message{MessageID: id, SenderID: 11, Kind: protocol.KindUser, Body: tr.body(0, seq)}
}

func TestVerdictCountsLostDuplicatedAndVisibleDuplicates(t *testing.T) {
	tr, a, b := pair(t)
	s1, s2, s3 := ackedSend(tr, 101), ackedSend(tr, 102), ackedSend(tr, 103)
	now := time.Now()
	if !tr.OnMessage(b, msg(tr, s1, 101), true, now) {
		t.Fatal("a delivery of this run is acknowledged")
	}
	tr.OnMessage(b, msg(tr, s1, 101), false, now) // again from a sync: duplicate
	tr.OnMessage(b, msg(tr, s3, 999), true, now)  // same send, another id
	if tr.OnMessage(a, msg(tr, s2, 102), true, now) {
		t.Fatal("the sender's own copy must not be acknowledged")
	}
	stale := &protocol.Message{MessageID: 5, SenderID: 11, Kind: protocol.KindUser, Body: "cl/otherrun/0/0/"}
	if tr.OnMessage(b, stale, false, now) {
		t.Fatal("an earlier run's message must not be acknowledged")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	called := false
	v := tr.Finish(ctx, 0, nil, func() { called = true })
	if !called {
		t.Fatal("the delivered hook did not run")
	}
	// s2 never reached b: lost (b never connects, so the final sync cannot find it).
	if v.Expected != 3 || v.Delivered != 2 || v.Lost != 1 || v.Duplicates != 1 || v.VisibleDups != 1 {
		t.Fatalf("verdict %+v, want expected 3, delivered 2, lost 1, duplicates 1, visible 1", v)
	}
	c := tr.env.Rec.Counters()
	if c["stale_messages"] != 1 || c["own_echoes"] != 1 || c["lost"] != 1 {
		t.Fatalf("counters %v", c)
	}
	if got := tr.e2e.Histogram().Summary().Count; got != 2 {
		t.Fatalf("e2e latencies %d, want one per first delivery (2)", got)
	}
}

func TestReceiptsAreMatchedToTheirMessages(t *testing.T) {
	tr, a, b := pair(t)
	tr.CheckReceivedReceipts = true
	s1 := ackedSend(tr, 201)
	ackedSend(tr, 202)
	now := time.Now()
	tr.OnMessage(b, msg(tr, s1, 201), true, now)
	tr.OnMessage(b, msg(tr, 1, 202), true, now)
	tr.OnReceipt(a, &protocol.Receipt{State: protocol.ReceiptReceived, MessageIDs: []protocol.MessageID{201}}, now)
	tr.OnReceipt(a, &protocol.Receipt{State: protocol.ReceiptReceived, MessageIDs: []protocol.MessageID{201, 77}}, now)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	v := tr.Finish(ctx, 0, nil, nil)
	if v.Lost != 0 || v.MissingReceived != 1 {
		t.Fatalf("verdict %+v, want nothing lost and one missing received receipt (202)", v)
	}
	if n := tr.env.Rec.Counter("received_receipts").Load(); n != 1 {
		t.Fatalf("received receipts %d, want 1 (a repeat counts once, an unknown id not at all)", n)
	}
}

func TestParseSources(t *testing.T) {
	ips, err := ParseSources("127.0.0.2-127.0.0.4, 127.0.0.9")
	if err != nil || len(ips) != 4 || ips[2].String() != "127.0.0.4" || ips[3].String() != "127.0.0.9" {
		t.Fatalf("%v %v", ips, err)
	}
	for _, bad := range []string{"127.0.0.5-127.0.0.2", "127.0.0.1-127.0.1.2", "nope"} {
		if _, err := ParseSources(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
