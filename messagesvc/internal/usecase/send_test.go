package usecase_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
)

func TestSendAcksOnlyWhatIsDurablyStored(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	before := time.Now()
	ack := h.sendAs(alice, "phone", conv, "c-1", "hello")

	if ack.ID != "s-c-1" || ack.ConversationID != conv || ack.ClientMsgID != "c-1" || ack.MessageID <= 0 {
		t.Fatalf("ack = %+v", ack)
	}
	if at := ack.SentAtMs.Time(); at.Before(before.Add(-time.Millisecond)) || at.After(time.Now().Add(time.Millisecond)) {
		t.Fatalf("sent_at %v outside the call (%v..now)", at, before)
	}
	id := ids.ID(ack.MessageID)
	// Everything the ack promises is in the store when Send returns.
	msgs, err := h.store.GetMessages(h.ctx, conv, []ids.ID{id})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("message after ack: %v, %v", msgs, err)
	}
	m := msgs[0]
	if m.SenderID != alice || m.SenderDevice != "phone" || m.ClientMsgID != "c-1" || m.Body != "hello" || m.Kind != protocol.KindUser {
		t.Fatalf("stored message = %+v", m)
	}
	for _, u := range []ids.ID{alice, bob} {
		entries := messageEntries(h.inbox(u))
		if len(entries) != 1 || entries[0].MessageID != id || entries[0].Conversation != conv {
			t.Fatalf("inbox of %d = %+v, want one entry for %d", u, entries, id)
		}
		if !hasConversation(h.conversations(u), conv, id) {
			t.Fatalf("conversation list of %d lacks %s with last %d: %+v", u, conv, id, h.conversations(u))
		}
	}
}

func TestSendWithAttachmentsStoresTheirIDs(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	f := &protocol.Send{Header: protocol.Header{ID: "1"}, ConversationID: conv, ClientMsgID: "c-att",
		AttachmentIDs: []protocol.MediaID{77, 78}}
	ack, err := h.send.Send(h.ctx, usecase.Sender{UserID: alice, DeviceID: "phone"}, f)
	if err != nil {
		t.Fatal(err)
	}
	msgs := h.messages(conv)
	if len(msgs) != 1 || msgs[0].ID != ids.ID(ack.MessageID) || !slices.Equal(msgs[0].AttachmentIDs(), []ids.ID{77, 78}) {
		t.Fatalf("stored = %+v", msgs)
	}
}

func TestRetriedSendReturnsTheSameAckAndStoresNothingNew(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	first := h.sendAs(alice, "phone", conv, "c-retry", "once")
	h.flush()
	inboxA, inboxB := len(h.inbox(alice)), len(h.inbox(bob))

	for range 3 {
		again := h.sendAs(alice, "phone", conv, "c-retry", "once")
		if again.MessageID != first.MessageID || again.SentAtMs != first.SentAtMs || again.ClientMsgID != "c-retry" {
			t.Fatalf("retry ack = %+v, first = %+v", again, first)
		}
	}
	// Another device of the same user retrying (after a reconnect) is the same send.
	if again := h.sendAs(alice, "laptop", conv, "c-retry", "once"); again.MessageID != first.MessageID {
		t.Fatalf("retry from another device got %d, want %d", again.MessageID, first.MessageID)
	}
	if n := len(h.messages(conv)); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
	if a, b := len(h.inbox(alice)), len(h.inbox(bob)); a != inboxA || b != inboxB {
		t.Fatalf("inbox sizes after retries %d, %d; before %d, %d", a, b, inboxA, inboxB)
	}
	if pushed := h.flush(); len(pushed) != 0 {
		t.Fatalf("retries of a finished send pushed again: %d items", len(pushed))
	}
}

func TestSameClientIDFromAnotherUserIsAnotherMessage(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	a := h.sendAs(alice, "phone", conv, "c-same", "from alice")
	b := h.sendAs(bob, "phone", conv, "c-same", "from bob")
	if a.MessageID == b.MessageID {
		t.Fatal("two senders' messages share an id: idempotency keys must be per sender")
	}
	if n := len(h.messages(conv)); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}

func TestClientIDReusedInAnotherConversationNeverDuplicatesAMessageID(t *testing.T) {
	h := newHarness(t)
	withBob, withCarol := direct(t, alice, bob), direct(t, alice, carol)
	first := h.sendAs(alice, "phone", withBob, "c-reused", "to bob")
	second := h.sendAs(alice, "phone", withCarol, "c-reused", "to carol")
	if second.ConversationID != withCarol {
		t.Fatalf("ack for the second conversation names %s", second.ConversationID)
	}
	if second.MessageID == first.MessageID {
		t.Fatalf("message %d now exists in both %s and %s", first.MessageID, withBob, withCarol)
	}
	if got := h.messages(withCarol); len(got) != 1 || got[0].Body != "to carol" {
		t.Fatalf("carol's conversation = %+v", got)
	}
	if got := h.messages(withBob); len(got) != 1 || got[0].Body != "to bob" {
		t.Fatalf("bob's conversation = %+v", got)
	}
	// And each retry still finds its own message.
	if again := h.sendAs(alice, "phone", withBob, "c-reused", "to bob"); again.MessageID != first.MessageID {
		t.Fatalf("retry in the first conversation got %d, want %d", again.MessageID, first.MessageID)
	}
	if again := h.sendAs(alice, "phone", withCarol, "c-reused", "to carol"); again.MessageID != second.MessageID {
		t.Fatalf("retry in the second conversation got %d, want %d", again.MessageID, second.MessageID)
	}
}

// claimKey is the idempotency key Send claims for a client message id.
func claimKey(conv protocol.ConversationID, clientID string) string {
	return usecase.DedupKey(conv, clientID)
}

func TestRetryCompletesAClaimedButUnfinishedSendUnderTheClaimedID(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	// The first attempt claimed the key and then died (timeout, crash)
	// before writing anything else.
	claimed := h.gen.Next()
	if _, fresh, err := h.store.ClaimSend(h.ctx, alice, claimKey(conv, "c-half"), claimed); err != nil || !fresh {
		t.Fatalf("claim: fresh=%v err=%v", fresh, err)
	}
	ack := h.sendAs(alice, "phone", conv, "c-half", "finally")
	if ids.ID(ack.MessageID) != claimed {
		t.Fatalf("retry acked %d, want the claimed %d", ack.MessageID, claimed)
	}
	if ack.SentAtMs != protocol.MillisOf(claimed.Time()) {
		t.Fatalf("sent_at %d, want the claimed id's time %d", ack.SentAtMs, protocol.MillisOf(claimed.Time()))
	}
	if msgs := h.messages(conv); len(msgs) != 1 || msgs[0].ID != claimed || msgs[0].Body != "finally" {
		t.Fatalf("messages = %+v", msgs)
	}
	for _, u := range []ids.ID{alice, bob} {
		if e := messageEntries(h.inbox(u)); len(e) != 1 || e[0].MessageID != claimed {
			t.Fatalf("inbox of %d = %+v", u, e)
		}
		if !hasConversation(h.conversations(u), conv, claimed) {
			t.Fatalf("conversation list of %d lacks %s", u, conv)
		}
	}
	// The completed message reaches bob.
	pushed := h.flush()
	if !slices.ContainsFunc(pushed, func(it routerapi.DeliveryItem) bool { return slices.Equal(it.Users, []ids.ID{bob}) }) {
		t.Fatalf("no push to bob after completing the send: %+v", pushed)
	}
}

func TestRetryAfterAFailedWriteAcksOnlyOnceEverythingIsStored(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after string // the write that fails, without or after taking effect
	}{
		{name: "inbox write fails", before: "Append"},
		{name: "inbox write times out after applying", after: "Append"},
		{name: "conversation list write fails", before: "TouchConversation"},
		{name: "message write fails", before: "PutMessage"},
		{name: "message write times out after applying", after: "PutMessage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, options{faults: true, startPusher: true})
			conv := direct(t, alice, bob)
			if tc.before != "" {
				h.faults.before[tc.before] = 1
			} else {
				h.faults.after[tc.after] = 1
			}
			_, err := h.trySend(alice, "phone", conv, "c-fail", "flaky store")
			if err == nil || !errs.CodeOf(err).Retryable() {
				t.Fatalf("first attempt: %v, want a retryable error and no ack", err)
			}
			ack := h.sendAs(alice, "phone", conv, "c-fail", "flaky store")
			msgs := h.messages(conv)
			if len(msgs) != 1 || protocol.MessageID(msgs[0].ID) != ack.MessageID {
				t.Fatalf("after the retry: messages %+v, ack %d", msgs, ack.MessageID)
			}
			for _, u := range []ids.ID{alice, bob} {
				e := messageEntries(h.inbox(u))
				if len(e) == 0 || !slices.ContainsFunc(e, func(x entity.InboxEntry) bool { return protocol.MessageID(x.MessageID) == ack.MessageID }) {
					t.Fatalf("acked message missing from the inbox of %d: %+v", u, e)
				}
				if !hasConversation(h.conversations(u), conv, ids.ID(ack.MessageID)) {
					t.Fatalf("acked message missing from the conversation list of %d", u)
				}
			}
			page := h.mustSync(bob, "phone", "", 0)
			if len(page.Messages) != 1 || page.Messages[0].MessageID != ack.MessageID {
				t.Fatalf("bob's sync = %+v", page.Messages)
			}
			// A further retry is answered from the store and writes nothing.
			n := len(h.inbox(bob))
			if again := h.sendAs(alice, "phone", conv, "c-fail", "flaky store"); again.MessageID != ack.MessageID {
				t.Fatalf("third attempt acked %d, want %d", again.MessageID, ack.MessageID)
			}
			if len(h.inbox(bob)) != n {
				t.Fatal("a retry of a finished send wrote to the inbox")
			}
		})
	}
}

func TestSendToANonexistentUserIsNotFoundAndStoresNothing(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, ghost)
	_, err := h.trySend(alice, "phone", conv, "c-ghost", "anyone there?")
	wantCode(t, err, errs.NotFound)

	if msgs := h.messages(conv); len(msgs) != 0 {
		t.Fatalf("messages stored: %+v", msgs)
	}
	for _, u := range []ids.ID{alice, ghost} {
		if e := h.inbox(u); len(e) != 0 {
			t.Fatalf("inbox of %d: %+v", u, e)
		}
		if c := h.conversations(u); len(c) != 0 {
			t.Fatalf("conversations of %d: %+v", u, c)
		}
	}
	// The idempotency key was not claimed either: once the account exists,
	// the same client id sends a new message.
	candidate := h.gen.Next()
	if owner, fresh, err := h.store.ClaimSend(h.ctx, alice, claimKey(conv, "c-ghost"), candidate); err != nil || !fresh || owner != candidate {
		t.Fatalf("key was claimed by the failed send: owner=%d fresh=%v err=%v", owner, fresh, err)
	}
	if pushed := h.flush(); len(pushed) != 0 {
		t.Fatalf("pushed %d items for a failed send", len(pushed))
	}
}

func TestSendToAConversationWithoutTheSenderIsNotFound(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, bob, carol)
	_, err := h.trySend(alice, "phone", conv, "c-intruder", "hi")
	wantCode(t, err, errs.NotFound)
	if msgs := h.messages(conv); len(msgs) != 0 {
		t.Fatalf("messages stored: %+v", msgs)
	}
	for _, u := range []ids.ID{alice, bob, carol} {
		if e := h.inbox(u); len(e) != 0 {
			t.Fatalf("inbox of %d: %+v", u, e)
		}
	}
}

func TestGroupSendWithoutGroupsvcIsUnavailable(t *testing.T) {
	h := newHarness(t)
	conv := protocol.GroupConversation(42)
	_, err := h.trySend(alice, "phone", conv, "c-group", "hi all")
	wantCode(t, err, errs.Unavailable)
	if !errs.CodeOf(err).Retryable() {
		t.Fatal("unavailable must be retryable")
	}
	if msgs := h.messages(conv); len(msgs) != 0 {
		t.Fatalf("messages stored: %+v", msgs)
	}
}

func TestGroupSendReachesEveryMemberAndRefusesOutsiders(t *testing.T) {
	h := newHarnessWith(t, options{startPusher: true, groups: &groupsStub{members: map[ids.ID][]ids.ID{42: {alice, bob, carol}}}})
	conv := protocol.GroupConversation(42)
	ack := h.sendAs(alice, "phone", conv, "c-g1", "hi all")
	if msgs := h.messages(conv); len(msgs) != 1 {
		t.Fatalf("group message stored %d times, want once", len(msgs))
	}
	for _, u := range []ids.ID{alice, bob, carol} {
		if e := messageEntries(h.inbox(u)); len(e) != 1 || e[0].MessageID != ids.ID(ack.MessageID) {
			t.Fatalf("inbox of %d = %+v", u, e)
		}
	}
	_, err := h.trySend(dave, "phone", conv, "c-g2", "let me in")
	wantCode(t, err, errs.NotFound)
	_, err = h.trySend(alice, "phone", protocol.GroupConversation(43), "c-g3", "no such group")
	wantCode(t, err, errs.NotFound)
	if e := h.inbox(dave); len(e) != 0 {
		t.Fatalf("outsider's inbox: %+v", e)
	}
}

func TestSendPushesToTheRecipientAndToTheSendersOtherDevices(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ack := h.sendAs(alice, "phone", conv, "c-push", "live")
	pushed := h.flush()
	if len(pushed) != 2 {
		t.Fatalf("pushed %d items, want one per member: %+v", len(pushed), pushed)
	}
	byUser := map[ids.ID]routerapi.DeliveryItem{}
	for _, it := range pushed {
		if len(it.Users) != 1 {
			t.Fatalf("item for %v, want one user per item (each has its own cursor)", it.Users)
		}
		byUser[it.Users[0]] = it
	}
	toBob, ok := byUser[bob]
	if !ok {
		t.Fatal("no push to bob")
	}
	if len(toBob.Skip) != 0 {
		t.Fatalf("bob's push skips %+v", toBob.Skip)
	}
	bm, ok := decodePush(t, toBob).(*protocol.MessagePush)
	if !ok {
		t.Fatalf("bob got %T", decodePush(t, toBob))
	}
	if bm.MessageID != ack.MessageID || bm.Body != "live" || bm.SenderID != protocol.UserID(alice) || bm.ConversationID != conv {
		t.Fatalf("bob's message = %+v", bm)
	}
	if bm.ClientMsgID != "" {
		t.Fatalf("recipient sees the sender's client id %q", bm.ClientMsgID)
	}
	if bm.Cursor == "" || bm.ID != "" {
		t.Fatalf("bob's push: cursor %q, id %q; want a cursor and no request id", bm.Cursor, bm.ID)
	}
	mustDecodeCursor(t, bm.Cursor)

	toAlice, ok := byUser[alice]
	if !ok {
		t.Fatal("no push to the sender's other devices")
	}
	if !slices.Equal(toAlice.Skip, []routerapi.Conn{{UserID: alice, DeviceID: "phone"}}) {
		t.Fatalf("sender's push skips %+v, want exactly the sending device", toAlice.Skip)
	}
	am := decodePush(t, toAlice).(*protocol.MessagePush)
	if am.ClientMsgID != "c-push" || am.MessageID != ack.MessageID || am.Cursor == "" {
		t.Fatalf("sender's copy = %+v", am)
	}
}

func TestSendSucceedsWhenTheRouterFailsAndTheMessageWaitsInTheInbox(t *testing.T) {
	h := newHarness(t)
	h.router.setFail(errRouterDown)
	conv := direct(t, alice, bob)
	ack := h.sendAs(alice, "phone", conv, "c-down", "still stored")
	h.flush()
	page := h.mustSync(bob, "phone", "", 0)
	if len(page.Messages) != 1 || page.Messages[0].MessageID != ack.MessageID {
		t.Fatalf("bob's sync = %+v", page.Messages)
	}
}

func TestFullPushQueueDropsThePushCountsItAndTheSendStillSucceeds(t *testing.T) {
	h := newHarnessWith(t, options{pushQueue: 1}) // pusher not running: the queue fills
	conv := direct(t, alice, bob)
	first := h.sendAs(alice, "phone", conv, "c-q1", "queued")
	if d := h.droppedPushes(); d != 0 {
		t.Fatalf("dropped %v after the first send, want 0", d)
	}
	second := h.sendAs(alice, "phone", conv, "c-q2", "dropped push")
	if d := h.droppedPushes(); d != 1 {
		t.Fatalf("dropped %v, want 1", d)
	}
	// Both are stored; the dropped one is only late.
	if n := len(h.messages(conv)); n != 2 {
		t.Fatalf("%d messages stored, want 2", n)
	}
	page := h.mustSync(bob, "phone", "", 0)
	if len(page.Messages) != 2 || page.Messages[1].MessageID != second.MessageID {
		t.Fatalf("bob's sync = %+v", page.Messages)
	}
	// Only the first send's push was queued.
	h.startPusher()
	for deadline := time.Now().Add(5 * time.Second); len(h.router.snapshot()) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queued push never reached the router")
		}
	}
	pushed := h.flush()
	for _, it := range pushed {
		if m, ok := decodePush(t, it).(*protocol.MessagePush); !ok || m.MessageID != first.MessageID {
			t.Fatalf("pushed %s, want only message %d", it.Frame, first.MessageID)
		}
	}
	if len(pushed) != 2 {
		t.Fatalf("pushed %d items, want the first send's 2", len(pushed))
	}
}

func TestConcurrentSendsFromTwoDevicesAllArrive(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	const n = 20
	acks := make([]*protocol.Ack, n)
	errsOut := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			device := []string{"phone", "laptop"}[i%2]
			acks[i], errsOut[i] = h.trySend(alice, device, conv, "c-conc-"+string(rune('a'+i)), "m")
		}()
	}
	wg.Wait()
	got := map[protocol.MessageID]bool{}
	for i, err := range errsOut {
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		got[acks[i].MessageID] = true
	}
	if len(got) != n {
		t.Fatalf("%d distinct message ids for %d sends", len(got), n)
	}
	msgs := h.messages(conv)
	if len(msgs) != n {
		t.Fatalf("%d messages stored, want %d", len(msgs), n)
	}
	for _, m := range msgs {
		if !got[protocol.MessageID(m.ID)] {
			t.Fatalf("stored message %d was never acked", m.ID)
		}
	}
	if e := messageEntries(h.inbox(bob)); len(e) != n {
		t.Fatalf("bob's inbox has %d entries, want %d", len(e), n)
	}
}

func TestConcurrentRetriesOfOneClientIDCreateExactlyOneMessage(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	const n = 20
	acks := make([]*protocol.Ack, n)
	errsOut := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			device := []string{"phone", "laptop"}[i%2]
			acks[i], errsOut[i] = h.trySend(alice, device, conv, "c-storm", "just once")
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errsOut {
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		if acks[i].MessageID != acks[0].MessageID {
			t.Fatalf("retry %d acked %d, retry 0 acked %d", i, acks[i].MessageID, acks[0].MessageID)
		}
	}
	msgs := h.messages(conv)
	if len(msgs) != 1 || protocol.MessageID(msgs[0].ID) != acks[0].MessageID {
		t.Fatalf("stored %+v, want exactly message %d", msgs, acks[0].MessageID)
	}
	// Whatever the interleaving, bob syncs the message exactly once.
	page := h.mustSync(bob, "phone", "", 100)
	if len(page.Messages) != 1 {
		t.Fatalf("bob synced %d messages, want 1", len(page.Messages))
	}
}

func TestAFullPushQueueHoldsTheSendBackForAMomentInsteadOfDropping(t *testing.T) {
	h := newHarnessWith(t, options{pushQueue: 1}) // pusher not running: the queue fills
	conv := direct(t, alice, bob)
	h.sendAs(alice, "phone", conv, "c-w1", "queued")
	// The pusher starts while the second send waits for room.
	time.AfterFunc(100*time.Millisecond, h.startPusher)
	h.sendAs(alice, "phone", conv, "c-w2", "waited")
	if d := h.droppedPushes(); d != 0 {
		t.Fatalf("dropped %v pushes, want none: the queue had room within the wait", d)
	}
	for deadline := time.Now().Add(5 * time.Second); countBodies(h.router.snapshot(), "waited") == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second message was never pushed")
		}
	}
}

func TestAFailedRouterCallIsTriedAgain(t *testing.T) {
	h := newHarnessWith(t, options{startPusher: true})
	h.router.failNext(1, errs.New(errs.Unavailable, "router restarting"))
	conv := direct(t, alice, bob)
	h.sendAs(alice, "phone", conv, "c-r1", "after a retry")
	for deadline := time.Now().Add(5 * time.Second); h.router.callCount() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("router called %d times, want a retry after the failure", h.router.callCount())
		}
	}
	if n := countBodies(h.router.snapshot(), "after a retry"); n < 2 {
		t.Fatalf("the push was offered %d times, want the failed call and its retry", n)
	}
}

// countBodies counts delivery items whose frame carries body.
func countBodies(items []routerapi.DeliveryItem, body string) int {
	n := 0
	for _, it := range items {
		if strings.Contains(string(it.Frame), `"body":"`+body+`"`) {
			n++
		}
	}
	return n
}
