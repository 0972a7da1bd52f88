package usecase_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// seedMessages writes messages from alice to bob straight into the store
// (the messages, then both inbox entries), with ids at the given times.
func (h *harness) seedMessages(conv protocol.ConversationID, at []time.Time) []ids.ID {
	h.t.Helper()
	return h.seedMessagesFrom(conv, at, func(int) ids.ID { return alice })
}

// seedMessagesFrom is seedMessages with the sender of message i from sender(i).
func (h *harness) seedMessagesFrom(conv protocol.ConversationID, at []time.Time, sender func(i int) ids.ID) []ids.ID {
	h.t.Helper()
	out := make([]ids.ID, len(at))
	entries := make([]entity.InboxEntry, 0, 2*len(at))
	var wg sync.WaitGroup
	errsOut := make([]error, len(at))
	for i, t := range at {
		// Distinct ids at (about) t: the time part plus a sequence.
		id := ids.FromTime(t) + ids.ID(i%4096)
		out[i] = id
		m := entity.Message{ID: id, Conversation: conv, SenderID: sender(i), SenderDevice: "phone",
			ClientMsgID: fmt.Sprintf("seed-%d", i), Kind: protocol.KindUser, Body: fmt.Sprintf("m%d", i)}
		wg.Add(1)
		go func() { // concurrent writes share bbolt batches
			defer wg.Done()
			errsOut[i] = h.store.PutMessage(h.ctx, m)
		}()
		for _, u := range []ids.ID{alice, bob} {
			entries = append(entries, entity.InboxEntry{UserID: u, Seq: id, Kind: entity.InboxMessage, Conversation: conv, MessageID: id})
		}
	}
	wg.Wait()
	for _, err := range errsOut {
		if err != nil {
			h.t.Fatal(err)
		}
	}
	if err := h.store.Append(h.ctx, entries); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// syncAll pages user/device through its inbox from cursor, checking that
// every continuation cursor moves forward, and returns the messages and the
// final page.
func (h *harness) syncAll(user ids.ID, device, cursor string, limit int) ([]protocol.Message, *protocol.SyncPage, int) {
	h.t.Helper()
	var all []protocol.Message
	prev := ids.ID(-1)
	if cursor != "" {
		prev = mustDecodeCursor(h.t, cursor)
	}
	for pages := 1; ; pages++ {
		if pages > 1000 {
			h.t.Fatal("sync does not terminate")
		}
		p := h.mustSync(user, device, cursor, limit)
		all = append(all, p.Messages...)
		if len(p.Messages)+len(p.Receipts)+len(p.ReadStates) > limit {
			h.t.Fatalf("page of %d events, limit %d", len(p.Messages)+len(p.Receipts)+len(p.ReadStates), limit)
		}
		if !p.More {
			return all, p, pages
		}
		next := mustDecodeCursor(h.t, p.Cursor)
		if next <= prev {
			h.t.Fatalf("continuation cursor %d does not move past %d", next, prev)
		}
		prev, cursor = next, p.Cursor
	}
}

func TestNewDeviceSyncsTheWholeInboxInOrderInExactPages(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	var want []protocol.MessageID
	for i := range 7 {
		want = append(want, h.sendAs(alice, "phone", conv, fmt.Sprintf("c-%d", i), fmt.Sprintf("m%d", i)).MessageID)
	}
	var got []protocol.MessageID
	var mores []bool
	cursor := ""
	for range 10 {
		p := h.mustSync(bob, "tablet", cursor, 3)
		for _, m := range p.Messages {
			got = append(got, m.MessageID)
			if m.ClientMsgID != "" {
				t.Fatalf("recipient's synced copy carries client id %q", m.ClientMsgID)
			}
		}
		mores = append(mores, p.More)
		if p.Cursor == "" {
			t.Fatal("sync page without a cursor")
		}
		if !p.More {
			break
		}
		cursor = p.Cursor
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("synced %v, want %v", got, want)
	}
	if fmt.Sprint(mores) != "[true true false]" {
		t.Fatalf("more flags %v, want [true true false] for 7 entries in pages of 3", mores)
	}

	// Exactly a multiple of the page size: the last full page says no more.
	h2 := newHarness(t)
	for i := range 6 {
		h2.sendAs(alice, "phone", conv, fmt.Sprintf("c-%d", i), "x")
	}
	p := h2.mustSync(bob, "tablet", "", 3)
	p = h2.mustSync(bob, "tablet", p.Cursor, 3)
	if len(p.Messages) != 3 || p.More {
		t.Fatalf("second of two full pages: %d messages, more=%v; want 3, false", len(p.Messages), p.More)
	}
}

func TestSenderSyncsItsOwnMessagesWithTheirClientIDs(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	h.sendAs(alice, "phone", conv, "c-own", "mine")
	p := h.mustSync(alice, "laptop", "", 0)
	if len(p.Messages) != 1 || p.Messages[0].ClientMsgID != "c-own" {
		t.Fatalf("sender's sync = %+v", p.Messages)
	}
}

func TestSyncOf500RecentEntriesTerminatesWithProgressingCursors(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	now := time.Now()
	at := make([]time.Time, 500)
	for i := range at { // all within the lookback window
		at[i] = now.Add(-20*time.Second + time.Duration(i)*10*time.Millisecond)
	}
	want := h.seedMessages(conv, at)

	msgs, last, pages := h.syncAll(bob, "phone", "", 100)
	if pages != 5 {
		t.Fatalf("%d pages for 500 entries in pages of 100, want 5", pages)
	}
	if len(msgs) != len(want) {
		t.Fatalf("synced %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if ids.ID(m.MessageID) != want[i] {
			t.Fatalf("message %d is %d, want %d (inbox order)", i, m.MessageID, want[i])
		}
	}
	// The final cursor stays behind the lookback window, so the next sync
	// re-reads the recent tail (late writes are found; clients drop
	// duplicates by id) but never loops: it ends with more=false again.
	final := mustDecodeCursor(t, last.Cursor)
	if bound := ids.FromTime(time.Now().Add(-usecase.Lookback)); final > bound {
		t.Fatalf("final cursor %d is later than now-Lookback %d", final, bound)
	}
	again, _, pages := h.syncAll(bob, "phone", last.Cursor, 100)
	if len(again) > len(want) || pages > 6 {
		t.Fatalf("re-sync from the final cursor: %d messages in %d pages", len(again), pages)
	}
}

func TestFinalSyncCursorIsExactForEntriesOlderThanTheLookback(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	old := h.seedMessages(conv, []time.Time{time.Now().Add(-time.Hour), time.Now().Add(-2 * usecase.Lookback)})
	p := h.mustSync(bob, "phone", "", 10)
	if p.More || len(p.Messages) != 2 {
		t.Fatalf("page: %d messages, more=%v", len(p.Messages), p.More)
	}
	if got := mustDecodeCursor(t, p.Cursor); got != old[1] {
		t.Fatalf("final cursor %d, want exactly the last entry %d (older than the lookback)", got, old[1])
	}
	// Nothing after it: the next sync is empty and keeps the position.
	p2 := h.mustSync(bob, "phone", p.Cursor, 10)
	if len(p2.Messages) != 0 || p2.More || p2.Cursor != p.Cursor {
		t.Fatalf("sync after the end: %+v", p2)
	}
}

func TestFinalSyncCursorNeverPointsLaterThanNowMinusLookback(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	h.seedMessages(conv, []time.Time{time.Now().Add(-2 * time.Minute), time.Now().Add(-time.Second)})
	p := h.mustSync(bob, "phone", "", 10)
	if p.More || len(p.Messages) != 2 {
		t.Fatalf("page: %d messages, more=%v", len(p.Messages), p.More)
	}
	got := mustDecodeCursor(t, p.Cursor)
	if bound := ids.FromTime(time.Now().Add(-usecase.Lookback)); got > bound {
		t.Fatalf("final cursor %v is after now-Lookback %v", got.Time(), bound.Time())
	}
	// From it, the recent entry is read again (the lookback tail), the old one not.
	p2 := h.mustSync(bob, "phone", p.Cursor, 10)
	if len(p2.Messages) != 1 || p2.Messages[0].Body != "m1" {
		t.Fatalf("re-sync from the final cursor = %+v, want just the recent message", p2.Messages)
	}
}

func TestSyncResumesFromTheStoredDeviceCursor(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ms := h.seedMessages(conv, []time.Time{
		time.Now().Add(-5 * time.Minute), time.Now().Add(-4 * time.Minute), time.Now().Add(-3 * time.Minute),
		time.Now().Add(-2 * time.Minute), time.Now().Add(-time.Minute),
	})
	if err := h.store.AdvanceCursor(h.ctx, bob, "phone", ms[2]); err != nil {
		t.Fatal(err)
	}
	p := h.mustSync(bob, "phone", "", 10)
	if len(p.Messages) != 2 || ids.ID(p.Messages[0].MessageID) != ms[3] || ids.ID(p.Messages[1].MessageID) != ms[4] {
		t.Fatalf("resumed sync = %+v, want the two entries after the stored cursor", p.Messages)
	}
	// Another device of the same user has its own position.
	if p := h.mustSync(bob, "laptop", "", 10); len(p.Messages) != 5 {
		t.Fatalf("other device synced %d, want 5", len(p.Messages))
	}
	// A cursor in the request wins over the stored one.
	p = h.mustSync(bob, "phone", usecase.EncodeCursor(ms[0]), 10)
	if len(p.Messages) != 4 {
		t.Fatalf("sync from an explicit cursor: %d messages, want 4", len(p.Messages))
	}
}

func TestSyncWithACursorRecordsItAsTheDevicesPosition(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ms := h.seedMessages(conv, []time.Time{time.Now().Add(-3 * time.Minute), time.Now().Add(-2 * time.Minute), time.Now().Add(-time.Minute)})
	// The protocol: sending a cursor tells the server the device has stored
	// everything before it.
	h.mustSync(bob, "phone", usecase.EncodeCursor(ms[1]), 10)
	seq, ok, err := h.store.Cursor(h.ctx, bob, "phone")
	if err != nil || !ok || seq != ms[1] {
		t.Fatalf("stored cursor = %d, %v, %v; want %d", seq, ok, err, ms[1])
	}
	// A sync without a cursor then resumes there.
	if p := h.mustSync(bob, "phone", "", 10); len(p.Messages) != 1 || ids.ID(p.Messages[0].MessageID) != ms[2] {
		t.Fatalf("resume = %+v", p.Messages)
	}
	// An older cursor never moves the stored position back.
	h.mustSync(bob, "phone", usecase.EncodeCursor(ms[0]), 10)
	if seq, _, _ := h.store.Cursor(h.ctx, bob, "phone"); seq != ms[1] {
		t.Fatalf("stored cursor moved back to %d", seq)
	}
}

func TestExpiredCursorIsFailedPrecondition(t *testing.T) {
	h := newHarness(t)
	expired := usecase.EncodeCursor(ids.FromTime(time.Now().Add(-store.InboxRetention - time.Hour)))
	_, err := h.syncPage(bob, "phone", expired, 0)
	wantCode(t, err, errs.FailedPrecondition)
	if e, _ := errs.As(err); e.Details["reason"] != "cursor_expired" {
		t.Fatalf("details = %v", e.Details)
	}
}

func TestDeviceWithAnExpiredStoredCursorCanSyncAfterBeingTold(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	h.sendAs(alice, "phone", conv, "c-1", "while you were away")
	old := ids.FromTime(time.Now().Add(-store.InboxRetention - time.Hour))
	if err := h.store.AdvanceCursor(h.ctx, bob, "phone", old); err != nil {
		t.Fatal(err)
	}
	_, err := h.syncPage(bob, "phone", "", 0)
	wantCode(t, err, errs.FailedPrecondition)
	// The client reloads history and syncs from scratch, as the error says:
	// that must work rather than fail forever on the stored cursor.
	p, err := h.syncPage(bob, "phone", "", 0)
	if err != nil {
		t.Fatalf("sync from scratch after the expiry was reported: %v", err)
	}
	if len(p.Messages) != 1 {
		t.Fatalf("sync from scratch = %+v", p.Messages)
	}
}

func TestGarbageCursorsAreInvalidArgument(t *testing.T) {
	h := newHarness(t)
	for _, c := range []string{
		"nope", "v1.", "v1.!!!!", "v2.AAAAAAAAAAE", "V1.AAAAAAAAAAE", "v1.AAAAAAAAAA", "v1.AAAAAAAAAAAAAAA",
		"v1.AAAAAAAAAAA", // position zero
		"v1.gAAAAAAAAAA", // negative
		"v1.AAABmqG3nQ8=",
		// A well-formed cursor far in the future was never issued: taking it
		// would park the device beyond every message to come.
		usecase.EncodeCursor(ids.FromTime(time.Now().Add(24 * time.Hour))),
	} {
		_, err := h.syncPage(bob, "phone", c, 0)
		wantCode(t, err, errs.InvalidArgument)
		if e, _ := errs.As(err); e.Details["field"] != "cursor" {
			t.Fatalf("cursor %q: details %v", c, e.Details)
		}
	}
	if _, ok, _ := h.store.Cursor(h.ctx, bob, "phone"); ok {
		t.Fatal("a rejected cursor was stored")
	}
}

func TestSyncPageCarriesReceiptsAndReadStatesFromTheInbox(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	m1 := h.sendAs(alice, "phone", conv, "c-1", "one")
	m2 := h.sendAs(alice, "phone", conv, "c-2", "two")
	bobPhone := usecase.Sender{UserID: bob, DeviceID: "phone"}
	if err := h.receipts.Received(h.ctx, bobPhone, conv, []ids.ID{ids.ID(m1.MessageID), ids.ID(m2.MessageID)}, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.receipts.Read(h.ctx, bobPhone, conv, ids.ID(m1.MessageID)); err != nil {
		t.Fatal(err)
	}

	pa := h.mustSync(alice, "laptop", "", 100)
	if len(pa.Messages) != 2 || len(pa.Receipts) != 2 || len(pa.ReadStates) != 0 {
		t.Fatalf("alice's page: %d messages, %d receipts, %d read states", len(pa.Messages), len(pa.Receipts), len(pa.ReadStates))
	}
	rcv, rd := pa.Receipts[0], pa.Receipts[1]
	if rcv.State != protocol.ReceiptReceived || rcv.UserID != protocol.UserID(bob) || rcv.ConversationID != conv ||
		fmt.Sprint(rcv.MessageIDs) != fmt.Sprint([]protocol.MessageID{m1.MessageID, m2.MessageID}) || rcv.AtMs == 0 {
		t.Fatalf("received receipt in sync = %+v", rcv)
	}
	if rd.State != protocol.ReceiptRead || rd.UserID != protocol.UserID(bob) || rd.UpTo != m1.MessageID || rd.AtMs == 0 {
		t.Fatalf("read receipt in sync = %+v", rd)
	}
	if rcv.Cursor != "" || rd.Cursor != "" {
		t.Fatal("synced receipts carry cursors; the page cursor is the position")
	}

	pb := h.mustSync(bob, "laptop", "", 100)
	if len(pb.Messages) != 2 || len(pb.Receipts) != 0 || len(pb.ReadStates) != 1 {
		t.Fatalf("bob's page: %d messages, %d receipts, %d read states", len(pb.Messages), len(pb.Receipts), len(pb.ReadStates))
	}
	if rs := pb.ReadStates[0]; rs.UpTo != m1.MessageID || rs.Unread != 1 || rs.ConversationID != conv || rs.AtMs == 0 {
		t.Fatalf("read state in sync = %+v", rs)
	}
}

func TestSyncWaitsForAMessageWhoseInboxEntryIsVisibleBeforeIt(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	done := h.seedMessages(conv, []time.Time{time.Now().Add(-time.Minute)})
	// A send in flight: its inbox entry is written, the message not yet.
	inflight := h.gen.Next()
	if err := h.store.Append(h.ctx, []entity.InboxEntry{{UserID: bob, Seq: inflight, Kind: entity.InboxMessage,
		Conversation: conv, MessageID: inflight}}); err != nil {
		t.Fatal(err)
	}
	later := h.gen.Next()
	if err := h.store.Append(h.ctx, []entity.InboxEntry{{UserID: bob, Seq: later, Kind: entity.InboxReadState,
		Conversation: conv, MessageID: done[0], Payload: []byte(`{"conversation_id":"` + string(conv) + `","up_to":"1","unread":0,"at_ms":1}`)}}); err != nil {
		t.Fatal(err)
	}
	// Page size 1 would hand out an exact continuation cursor past the
	// in-flight entry; the device must not pass it before it can be read.
	var cursor string
	for range 10 {
		p := h.mustSync(bob, "phone", cursor, 1)
		if p.Cursor != "" && mustDecodeCursor(t, p.Cursor) >= inflight {
			t.Fatalf("cursor %d passed the in-flight entry %d", mustDecodeCursor(t, p.Cursor), inflight)
		}
		if !p.More {
			break
		}
		cursor = p.Cursor
	}
	// Once the message lands, the next sync delivers it.
	if err := h.store.PutMessage(h.ctx, entity.Message{ID: inflight, Conversation: conv, SenderID: alice, Kind: protocol.KindUser, Body: "late"}); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ := h.syncAll(bob, "phone", cursor, 1)
	found := false
	for _, m := range msgs {
		found = found || ids.ID(m.MessageID) == inflight
	}
	if !found {
		t.Fatalf("the late message never synced: %+v", msgs)
	}
}
