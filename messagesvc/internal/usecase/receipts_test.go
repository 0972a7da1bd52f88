package usecase_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

var bobPhone = usecase.Sender{UserID: bob, DeviceID: "phone"}

// sendN sends n messages from alice to bob and returns their ids.
func (h *harness) sendN(conv protocol.ConversationID, from ids.ID, n int, prefix string) []ids.ID {
	h.t.Helper()
	out := make([]ids.ID, n)
	for i := range out {
		out[i] = ids.ID(h.sendAs(from, "phone", conv, fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("%s %d", prefix, i)).MessageID)
	}
	return out
}

func (h *harness) deliveries(conv protocol.ConversationID, msgIDs []ids.ID) []entity.Delivery {
	h.t.Helper()
	d, err := h.store.Deliveries(h.ctx, conv, msgIDs)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func inboxOfKind(entries []entity.InboxEntry, kind entity.InboxKind) []entity.InboxEntry {
	var out []entity.InboxEntry
	for _, e := range entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func TestReceivedRecordsTheFirstTimeAndTellsTheSender(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ms := h.sendN(conv, alice, 2, "m")
	h.flush()

	before := time.Now()
	if err := h.receipts.Received(h.ctx, bobPhone, conv, ms, ""); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	d := h.deliveries(conv, ms)
	if len(d) != 2 {
		t.Fatalf("deliveries = %+v", d)
	}
	first := map[ids.ID]time.Time{}
	for _, x := range d {
		if x.UserID != bob || x.ReceivedAt.Before(before.Truncate(time.Millisecond)) || x.ReceivedAt.After(after) || !x.ReadAt.IsZero() {
			t.Fatalf("delivery = %+v (call between %v and %v)", x, before, after)
		}
		first[x.MessageID] = x.ReceivedAt
	}

	pushed := h.flush()
	if len(pushed) != 1 || !slices.Equal(pushed[0].Users, []ids.ID{alice}) || len(pushed[0].Skip) != 0 {
		t.Fatalf("pushes = %+v, want one receipt to every device of alice", pushed)
	}
	r, ok := decodePush(t, pushed[0]).(*protocol.Receipt)
	if !ok {
		t.Fatalf("pushed %s", pushed[0].Frame)
	}
	if r.State != protocol.ReceiptReceived || r.UserID != protocol.UserID(bob) || r.ConversationID != conv ||
		fmt.Sprint(r.MessageIDs) != fmt.Sprint(ms) || r.Cursor == "" {
		t.Fatalf("receipt = %+v", r)
	}
	if at := r.AtMs.Time(); at.Before(before.Truncate(time.Millisecond)) || at.After(after) {
		t.Fatalf("receipt at %v outside the call", at)
	}
	if e := inboxOfKind(h.inbox(alice), entity.InboxReceipt); len(e) != 1 {
		t.Fatalf("alice's inbox has %d receipts, want 1", len(e))
	}

	// A duplicate and a late ack change nothing and tell nobody.
	time.Sleep(5 * time.Millisecond)
	if err := h.receipts.Received(h.ctx, bobPhone, conv, ms, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.receipts.Received(h.ctx, usecase.Sender{UserID: bob, DeviceID: "laptop"}, conv, ms[:1], ""); err != nil {
		t.Fatal(err)
	}
	for _, x := range h.deliveries(conv, ms) {
		if !x.ReceivedAt.Equal(first[x.MessageID]) {
			t.Fatalf("received time of %d moved from %v to %v", x.MessageID, first[x.MessageID], x.ReceivedAt)
		}
	}
	if p := h.flush(); len(p) != 0 {
		t.Fatalf("duplicate acks pushed %d items", len(p))
	}
	if e := inboxOfKind(h.inbox(alice), entity.InboxReceipt); len(e) != 1 {
		t.Fatalf("duplicate acks logged receipts: %d", len(e))
	}
}

func TestReceivedOfPartlyNewIDsReportsOnlyTheNewOnes(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ms := h.sendN(conv, alice, 3, "m")
	if err := h.receipts.Received(h.ctx, bobPhone, conv, ms[:1], ""); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if err := h.receipts.Received(h.ctx, bobPhone, conv, ms, ""); err != nil {
		t.Fatal(err)
	}
	pushed := h.flush()
	if len(pushed) != 1 {
		t.Fatalf("pushes = %d", len(pushed))
	}
	r := decodePush(t, pushed[0]).(*protocol.Receipt)
	if fmt.Sprint(r.MessageIDs) != fmt.Sprint(ms[1:]) {
		t.Fatalf("receipt lists %v, want only the newly received %v", r.MessageIDs, ms[1:])
	}
}

func TestReceivedOfForeignOrOwnMessagesFailsAndRecordsNothing(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	mine := h.sendN(conv, alice, 1, "to-bob")
	elsewhere := h.sendN(direct(t, alice, carol), alice, 1, "to-carol")
	bobs := h.sendN(conv, bob, 1, "from-bob")
	h.flush()
	inboxA := len(h.inbox(alice))

	for name, tc := range map[string]struct {
		ids  []ids.ID
		code errs.Code
	}{
		"message of another conversation": {[]ids.ID{mine[0], elsewhere[0]}, errs.NotFound},
		"message that does not exist":     {[]ids.ID{mine[0], h.gen.Next()}, errs.NotFound},
		"own message":                     {[]ids.ID{mine[0], bobs[0]}, errs.InvalidArgument},
	} {
		err := h.receipts.Received(h.ctx, bobPhone, conv, tc.ids, usecase.EncodeCursor(mine[0]))
		if errs.CodeOf(err) != tc.code {
			t.Fatalf("%s: err %v, want %s", name, err, tc.code)
		}
	}
	// Not even the valid id of the batch was recorded, nor the cursor.
	if d := h.deliveries(conv, append(mine, bobs...)); len(d) != 0 {
		t.Fatalf("deliveries recorded: %+v", d)
	}
	if d := h.deliveries(direct(t, alice, carol), elsewhere); len(d) != 0 {
		t.Fatalf("deliveries recorded in the other conversation: %+v", d)
	}
	if _, ok, _ := h.store.Cursor(h.ctx, bob, "phone"); ok {
		t.Fatal("cursor advanced by a failed ack")
	}
	if p := h.flush(); len(p) != 0 {
		t.Fatalf("failed acks pushed %d items", len(p))
	}
	if n := len(h.inbox(alice)); n != inboxA {
		t.Fatalf("failed acks logged %d inbox entries", n-inboxA)
	}
	// An outsider cannot ack at all.
	err := h.receipts.Received(h.ctx, usecase.Sender{UserID: carol, DeviceID: "x"}, conv, mine, "")
	wantCode(t, err, errs.NotFound)
}

func TestReceivedWithACursorAdvancesTheDeviceCursorMonotonically(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ms := h.sendN(conv, alice, 3, "m")
	entries := h.inbox(bob)
	c1, c2 := entries[1].Seq, entries[2].Seq

	if err := h.receipts.Received(h.ctx, bobPhone, conv, ms[2:], usecase.EncodeCursor(c2)); err != nil {
		t.Fatal(err)
	}
	if seq, ok, err := h.store.Cursor(h.ctx, bob, "phone"); err != nil || !ok || seq != c2 {
		t.Fatalf("cursor = %d, %v, %v; want %d", seq, ok, err, c2)
	}
	// A late ack with an older cursor never moves it back.
	if err := h.receipts.Received(h.ctx, bobPhone, conv, ms[1:2], usecase.EncodeCursor(c1)); err != nil {
		t.Fatal(err)
	}
	if seq, _, _ := h.store.Cursor(h.ctx, bob, "phone"); seq != c2 {
		t.Fatalf("cursor moved back to %d", seq)
	}
	// Only this device's cursor moved.
	if _, ok, _ := h.store.Cursor(h.ctx, bob, "laptop"); ok {
		t.Fatal("another device's cursor was set")
	}
	// A garbage or future cursor is refused before anything is recorded.
	err := h.receipts.Received(h.ctx, bobPhone, conv, ms[:1], "v1.garbage")
	wantCode(t, err, errs.InvalidArgument)
	err = h.receipts.Received(h.ctx, bobPhone, conv, ms[:1], usecase.EncodeCursor(ids.FromTime(time.Now().Add(24*time.Hour))))
	wantCode(t, err, errs.InvalidArgument)
	if d := h.deliveries(conv, ms[:1]); len(d) != 0 {
		t.Fatalf("recorded despite a bad cursor: %+v", d)
	}
	if seq, _, _ := h.store.Cursor(h.ctx, bob, "phone"); seq != c2 {
		t.Fatalf("cursor moved to %d by a refused ack", seq)
	}
}

func TestReadMovesTheWatermarkForwardOnlyAndTellsBothSides(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ms := h.sendN(conv, alice, 5, "m")
	h.sendN(conv, bob, 1, "reply") // bob's own message never counts as unread for him
	h.flush()

	before := time.Now()
	if err := h.receipts.Read(h.ctx, bobPhone, conv, ms[2]); err != nil {
		t.Fatal(err)
	}
	wm, err := h.store.ReadWatermark(h.ctx, bob, conv)
	if err != nil || wm.UpTo != ms[2] {
		t.Fatalf("watermark = %+v, %v", wm, err)
	}
	pushed := h.flush()
	if len(pushed) != 2 {
		t.Fatalf("pushes = %+v, want a receipt to alice and a read state to bob's other devices", pushed)
	}
	var receipt *protocol.Receipt
	var state *protocol.ReadState
	for _, it := range pushed {
		switch f := decodePush(t, it).(type) {
		case *protocol.Receipt:
			if !slices.Equal(it.Users, []ids.ID{alice}) || len(it.Skip) != 0 {
				t.Fatalf("receipt addressed to %v skipping %v", it.Users, it.Skip)
			}
			receipt = f
		case *protocol.ReadState:
			if !slices.Equal(it.Users, []ids.ID{bob}) {
				t.Fatalf("read state addressed to %v", it.Users)
			}
			if len(it.Skip) != 0 {
				t.Fatalf("read state skips %v, want every device of the reader", it.Skip)
			}
			state = f
		default:
			t.Fatalf("unexpected push %s", it.Frame)
		}
	}
	if receipt == nil || state == nil {
		t.Fatalf("pushes = %+v", pushed)
	}
	if receipt.State != protocol.ReceiptRead || receipt.UserID != protocol.UserID(bob) || receipt.UpTo != protocol.MessageID(ms[2]) ||
		receipt.ConversationID != conv || receipt.Cursor == "" {
		t.Fatalf("read receipt = %+v", receipt)
	}
	if at := receipt.AtMs.Time(); at.Before(before.Truncate(time.Millisecond)) || at.After(time.Now()) {
		t.Fatalf("read receipt at %v", at)
	}
	if state.UpTo != protocol.MessageID(ms[2]) || state.Unread != 2 || state.AtMs != receipt.AtMs || state.Cursor == "" {
		t.Fatalf("read state = %+v, want up to %d with 2 unread", state, ms[2])
	}
	if n := len(inboxOfKind(h.inbox(bob), entity.InboxReadState)); n != 1 {
		t.Fatalf("bob's inbox has %d read states", n)
	}
	if n := len(inboxOfKind(h.inbox(alice), entity.InboxReceipt)); n != 1 {
		t.Fatalf("alice's inbox has %d receipts", n)
	}

	// Lower or equal: nothing moves, nobody hears.
	for _, up := range []ids.ID{ms[1], ms[2], ms[0]} {
		if err := h.receipts.Read(h.ctx, usecase.Sender{UserID: bob, DeviceID: "laptop"}, conv, up); err != nil {
			t.Fatal(err)
		}
	}
	if wm2, _ := h.store.ReadWatermark(h.ctx, bob, conv); wm2 != wm {
		t.Fatalf("watermark moved from %+v to %+v", wm, wm2)
	}
	if p := h.flush(); len(p) != 0 {
		t.Fatalf("a read that moved nothing pushed %d items", len(p))
	}

	// Up to the newest: nothing unread.
	if err := h.receipts.Read(h.ctx, bobPhone, conv, ms[4]); err != nil {
		t.Fatal(err)
	}
	for _, it := range h.flush() {
		if rs, ok := decodePush(t, it).(*protocol.ReadState); ok && (rs.Unread != 0 || rs.UpTo != protocol.MessageID(ms[4])) {
			t.Fatalf("read state after reading everything = %+v", rs)
		}
	}
}

func TestReadOfAMessageOutsideTheConversationIsNotFound(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	h.sendN(conv, alice, 1, "m")
	elsewhere := h.sendN(direct(t, alice, carol), alice, 1, "c")
	h.flush()
	err := h.receipts.Read(h.ctx, bobPhone, conv, elsewhere[0])
	wantCode(t, err, errs.NotFound)
	err = h.receipts.Read(h.ctx, bobPhone, conv, h.gen.Next())
	wantCode(t, err, errs.NotFound)
	if wm, _ := h.store.ReadWatermark(h.ctx, bob, conv); wm.UpTo != 0 {
		t.Fatalf("watermark moved to %d", wm.UpTo)
	}
	if p := h.flush(); len(p) != 0 {
		t.Fatalf("pushed %d items", len(p))
	}
	// A non-member cannot read.
	err = h.receipts.Read(h.ctx, usecase.Sender{UserID: carol, DeviceID: "x"}, conv, elsewhere[0])
	wantCode(t, err, errs.NotFound)
}

func TestUnreadCountsOnlyOthersMessagesAfterTheWatermark(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ms := h.sendN(conv, alice, 3, "a")
	h.sendN(conv, bob, 2, "b")
	more := h.sendN(conv, alice, 2, "a2")
	for _, tc := range []struct {
		upTo ids.ID
		want int
	}{{0, 5}, {ms[0], 4}, {ms[2], 2}, {more[1], 0}} {
		n, err := h.receipts.Unread(h.ctx, bob, conv, tc.upTo)
		if err != nil || n != tc.want {
			t.Fatalf("unread after %d = %d, %v; want %d", tc.upTo, n, err, tc.want)
		}
	}
	if n, _ := h.receipts.Unread(h.ctx, alice, conv, 0); n != 2 {
		t.Fatalf("alice's unread = %d, want bob's 2", n)
	}
}

func TestUnreadOfANeverReadLongConversationIsCappedNotUndercounted(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	// 150 old messages from alice, then 60 newer ones from bob: bob has
	// read nothing, so he has 150 unread, shown as the cap.
	start := time.Now().Add(-time.Hour)
	var at []time.Time
	for i := range 210 {
		at = append(at, start.Add(time.Duration(i)*time.Second))
	}
	ms := h.seedMessagesFrom(conv, at, func(i int) ids.ID {
		if i < 150 {
			return alice
		}
		return bob
	})
	n, err := h.receipts.Unread(h.ctx, bob, conv, 0)
	if err != nil || n != 100 {
		t.Fatalf("bob's unread = %d, %v; want the cap 100", n, err)
	}
	if n, _ := h.receipts.Unread(h.ctx, bob, conv, ms[120]); n != 29 {
		t.Fatalf("bob's unread after message 120 = %d, want 29", n)
	}
}

func TestTypingIsPushedToTheOtherMemberOnlyAndNeverStored(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	h.sendN(conv, alice, 1, "m")
	h.flush()
	inboxA, inboxB := len(h.inbox(alice)), len(h.inbox(bob))

	if err := h.typing.Relay(h.ctx, alice, &protocol.Typing{Header: protocol.Header{ID: "t"}, ConversationID: conv, Active: true}); err != nil {
		t.Fatal(err)
	}
	if err := h.typing.Relay(h.ctx, alice, &protocol.Typing{Header: protocol.Header{ID: "t"}, ConversationID: conv, Active: false}); err != nil {
		t.Fatal(err)
	}
	pushed := h.flush()
	if len(pushed) != 2 {
		t.Fatalf("pushes = %+v", pushed)
	}
	for i, it := range pushed {
		if !slices.Equal(it.Users, []ids.ID{bob}) {
			t.Fatalf("typing pushed to %v, want only bob", it.Users)
		}
		ts, ok := decodePush(t, it).(*protocol.TypingState)
		if !ok || ts.UserID != protocol.UserID(alice) || ts.ConversationID != conv || ts.ID != "" {
			t.Fatalf("typing state = %s", it.Frame)
		}
		active := i == 0
		if ts.Active != active {
			t.Fatalf("push %d active=%v", i, ts.Active)
		}
		if active && ts.TTLMs != usecase.TypingTTL {
			t.Fatalf("active typing ttl %d, want %d", ts.TTLMs, usecase.TypingTTL)
		}
		if !active && (ts.TTLMs != 0 || strings.Contains(string(it.Frame), "ttl_ms")) {
			t.Fatalf("stopped typing carries a ttl: %s", it.Frame)
		}
	}
	if a, b := len(h.inbox(alice)), len(h.inbox(bob)); a != inboxA || b != inboxB {
		t.Fatal("typing was stored in an inbox")
	}
	err := h.typing.Relay(h.ctx, carol, &protocol.Typing{Header: protocol.Header{ID: "t"}, ConversationID: conv, Active: true})
	wantCode(t, err, errs.NotFound)
	if p := h.flush(); len(p) != 0 {
		t.Fatal("an outsider's typing was pushed")
	}
}

// A receipt is announced before the state it reports is recorded, so a
// failure anywhere in between is repaired by the device's retry: the sender
// hears of it once the retry succeeds, whichever step failed.
func TestAReceiptInterruptedByAStoreFailureReachesTheSenderOnTheRetry(t *testing.T) {
	for _, tc := range []struct {
		name, before, after string
	}{
		{name: "received time written, then the call timed out", after: "MarkReceived"},
		{name: "the sender's inbox write failed", before: "Append"},
		{name: "the received time write failed", before: "MarkReceived"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, options{faults: true, startPusher: true})
			conv := direct(t, alice, bob)
			ms := h.sendN(conv, alice, 2, "m")
			if tc.before != "" {
				h.faults.before[tc.before] = 1
			}
			if tc.after != "" {
				h.faults.after[tc.after] = 1
			}
			if err := h.receipts.Received(h.ctx, bobPhone, conv, ms, ""); err == nil {
				t.Fatal("the injected failure did not surface")
			}
			if err := h.receipts.Received(h.ctx, bobPhone, conv, ms, ""); err != nil {
				t.Fatalf("retry: %v", err)
			}
			got := inboxOfKind(h.inbox(alice), entity.InboxReceipt)
			if len(got) == 0 {
				t.Fatal("the sender never heard of the receipt")
			}
			for _, d := range h.deliveries(conv, ms) {
				if d.UserID != bob || d.ReceivedAt.IsZero() {
					t.Fatalf("delivery = %+v, want received by bob", d)
				}
			}
			// A third ack of recorded messages tells nobody.
			n := len(got)
			if err := h.receipts.Received(h.ctx, bobPhone, conv, ms, ""); err != nil {
				t.Fatal(err)
			}
			if again := inboxOfKind(h.inbox(alice), entity.InboxReceipt); len(again) != n {
				t.Fatalf("a repeated ack logged %d more receipts", len(again)-n)
			}
		})
	}
}

func TestAReadReceiptInterruptedByAStoreFailureReachesTheSenderOnTheRetry(t *testing.T) {
	for _, tc := range []struct {
		name, before, after string
	}{
		{name: "watermark moved, then the call timed out", after: "AdvanceRead"},
		{name: "an inbox write failed", before: "Append"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, options{faults: true, startPusher: true})
			conv := direct(t, alice, bob)
			ms := h.sendN(conv, alice, 3, "m")
			if tc.before != "" {
				h.faults.before[tc.before] = 1
			}
			if tc.after != "" {
				h.faults.after[tc.after] = 1
			}
			if err := h.receipts.Read(h.ctx, bobPhone, conv, ms[1]); err == nil {
				t.Fatal("the injected failure did not surface")
			}
			if err := h.receipts.Read(h.ctx, bobPhone, conv, ms[1]); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got := inboxOfKind(h.inbox(alice), entity.InboxReceipt); len(got) == 0 {
				t.Fatal("the sender never heard of the read")
			}
			if got := inboxOfKind(h.inbox(bob), entity.InboxReadState); len(got) == 0 {
				t.Fatal("the reader's devices never heard of the read state")
			}
			if wm, err := h.store.ReadWatermark(h.ctx, bob, conv); err != nil || wm.UpTo != ms[1] {
				t.Fatalf("watermark = %+v, %v", wm, err)
			}
		})
	}
}
