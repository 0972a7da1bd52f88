package usecase_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
)

const team ids.ID = 77

var teamConv = protocol.GroupConversation(protocol.GroupID(team))

// groupHarness is a harness with one group, team, of alice, bob and carol,
// and groups above pointerMax members fanned out without pointers.
func groupHarness(t *testing.T, pointerMax int) (*harness, *groupsStub) {
	t.Helper()
	g := &groupsStub{members: map[ids.ID][]ids.ID{team: {alice, bob, carol}}}
	return newHarnessWith(t, options{startPusher: true, groups: g, pointerMax: pointerMax}), g
}

func pushedMessageIDs(t *testing.T, items []routerapi.DeliveryItem, user ids.ID) []ids.ID {
	t.Helper()
	var out []ids.ID
	for _, it := range items {
		if !slices.Contains(it.Users, user) {
			continue
		}
		if p, ok := decodePush(t, it).(*protocol.MessagePush); ok {
			out = append(out, ids.ID(p.MessageID))
		}
	}
	return out
}

func TestSmallGroupMessageIsStoredOnceWithOnePointerPerMemberAndOneSharedPushFrame(t *testing.T) {
	h, _ := groupHarness(t, 0) // default: 64
	ack := h.sendAs(alice, "phone", teamConv, "c-1", "hi team")
	if msgs := h.messages(teamConv); len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	for _, u := range []ids.ID{alice, bob, carol} {
		if e := messageEntries(h.inbox(u)); len(e) != 1 || e[0].MessageID != ids.ID(ack.MessageID) {
			t.Fatalf("inbox of %d: %+v, want one pointer", u, e)
		}
		if rows := h.conversations(u); len(rows) != 0 {
			t.Fatalf("per-member conversation rows for %d: %+v; a group keeps one head instead", u, rows)
		}
	}
	items := h.flush()
	if len(items) != 2 {
		t.Fatalf("pushed %d items, want 2 (the others at once, the sender's devices): %+v", len(items), items)
	}
	var others, own routerapi.DeliveryItem
	for _, it := range items {
		if slices.Contains(it.Users, alice) {
			own = it
		} else {
			others = it
		}
	}
	if !slices.Equal(sortedIDs(others.Users), []ids.ID{bob, carol}) || len(others.Skip) != 0 {
		t.Fatalf("item for the others: users %v skip %v, want bob and carol in one item", others.Users, others.Skip)
	}
	p := decodePush(t, others).(*protocol.MessagePush)
	if p.Cursor != "" || p.ClientMsgID != "" || p.Body != "hi team" {
		t.Fatalf("shared frame %+v: want no per-user cursor and no client message id", p)
	}
	if len(own.Users) != 1 || !slices.Equal(own.Skip, []routerapi.Conn{{UserID: alice, DeviceID: "phone"}}) ||
		decodePush(t, own).(*protocol.MessagePush).ClientMsgID != "c-1" {
		t.Fatalf("sender's item %+v: want alice's other devices, with the client message id", own)
	}
}

func sortedIDs(v []ids.ID) []ids.ID {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}

func TestLargeGroupStoresNoPointersAndMembersPullItInOrderWithTheirInbox(t *testing.T) {
	h, _ := groupHarness(t, 2) // team has 3 members: above the pointer max
	var want []ids.ID
	for i := range 5 {
		ack := h.sendAs(alice, "phone", teamConv, "g"+string(rune('a'+i)), "group")
		want = append(want, ids.ID(ack.MessageID))
		if i%2 == 0 { // interleave direct messages, which go through bob's inbox
			d := h.sendAs(carol, "phone", direct(t, bob, carol), "d"+string(rune('a'+i)), "direct")
			want = append(want, ids.ID(d.MessageID))
		}
	}
	for _, u := range []ids.ID{alice, bob} {
		for _, e := range messageEntries(h.inbox(u)) {
			if e.Conversation == teamConv {
				t.Fatalf("inbox of %d holds a pointer to a large group's message: %+v", u, e)
			}
		}
	}
	// Bob's new device pages through everything in small pages.
	var got []ids.ID
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("sync does not end")
		}
		p := h.mustSync(bob, "tablet", cursor, 3)
		if len(p.Messages) > 3 {
			t.Fatalf("page of %d messages, limit 3", len(p.Messages))
		}
		for _, m := range p.Messages {
			got = append(got, ids.ID(m.MessageID))
		}
		cursor = p.Cursor
		if !p.More {
			break
		}
	}
	// The last cursor stays behind the lookback, so a further sync may
	// repeat recent messages; clients drop them by id.
	if !slices.Equal(uniqIDs(got), sortedIDs(want)) {
		t.Fatalf("synced %v\nwant every message once in id order %v", got, sortedIDs(want))
	}
	if !slices.IsSorted(got) {
		t.Fatalf("sync order %v: want position order", got)
	}
}

func uniqIDs(v []ids.ID) []ids.ID {
	out := sortedIDs(v)
	return slices.Compact(out)
}

func TestRemovedMemberGetsNotFoundAndReceivesNothingMore(t *testing.T) {
	for _, pointerMax := range []int{64, 2} {
		h, g := groupHarness(t, pointerMax)
		before := h.sendAs(alice, "phone", teamConv, "c-before", "before")
		h.flush()
		g.set(team, alice, bob) // carol removed
		if _, err := h.events().Post(h.ctx, groupapi.GroupEvent{Group: team, EventID: 900, Kind: groupapi.EventMemberRemoved,
			Actor: alice, Users: []ids.ID{carol}, Removed: []ids.ID{carol}, RosterVersion: 2}); err != nil {
			t.Fatal(err)
		}
		h.flush()
		after := h.sendAs(alice, "phone", teamConv, "c-after", "after")
		if pushed := pushedMessageIDs(t, h.flush(), carol); slices.Contains(pushed, ids.ID(after.MessageID)) {
			t.Fatalf("pointer max %d: removed member got a push of a later message", pointerMax)
		}
		for _, e := range messageEntries(h.inbox(carol)) {
			if e.MessageID == ids.ID(after.MessageID) {
				t.Fatalf("pointer max %d: removed member's inbox got a later message", pointerMax)
			}
		}
		p := h.mustSync(carol, "phone", "", 100)
		for _, m := range p.Messages {
			if m.MessageID == after.MessageID {
				t.Fatalf("pointer max %d: removed member synced a later message", pointerMax)
			}
		}
		if !slices.ContainsFunc(p.Messages, func(m protocol.Message) bool { return m.Kind == groupapi.EventMemberRemoved }) {
			t.Fatalf("pointer max %d: the removal event is not the removed member's last message: %+v", pointerMax, p.Messages)
		}
		_, err := h.trySend(carol, "phone", teamConv, "c-carol", "still here?")
		wantCode(t, err, errs.NotFound)
		_, err = h.history.Page(h.ctx, carol, &protocol.History{Header: protocol.Header{ID: "h"}, ConversationID: teamConv, After: before.MessageID})
		wantCode(t, err, errs.NotFound)
		err = h.receipts.Read(h.ctx, usecase.Sender{UserID: carol, DeviceID: "phone"}, teamConv, ids.ID(before.MessageID))
		wantCode(t, err, errs.NotFound)
		if n := len(h.messages(teamConv)); n != 3 {
			t.Fatalf("pointer max %d: %d messages stored, want 3 (nothing from the removed member)", pointerMax, n)
		}
	}
}

// events returns the group-event use case on the harness's store.
func (h *harness) events() *usecase.GroupEvents {
	return usecase.NewGroupEvents(h.store, h.groupsPort, h.gen, h.pusher, usecase.GroupFanout{PointerMax: h.pointerMax})
}

func TestMembersSeeHistoryFromWhenTheyJoined(t *testing.T) {
	h, g := groupHarness(t, 2)
	old := h.sendAs(alice, "phone", teamConv, "c-old", "before dave")
	time.Sleep(3 * time.Millisecond)
	joined := time.Now()
	g.join(team, dave, joined)
	g.set(team, alice, bob, carol, dave)
	time.Sleep(3 * time.Millisecond)
	fresh := h.sendAs(alice, "phone", teamConv, "c-new", "welcome dave")
	page, err := h.history.Page(h.ctx, dave, &protocol.History{Header: protocol.Header{ID: "h"}, ConversationID: teamConv})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 || page.Messages[0].MessageID != fresh.MessageID || page.More {
		t.Fatalf("dave's history %+v more=%v: want only the message after he joined", page.Messages, page.More)
	}
	page, err = h.history.Page(h.ctx, dave, &protocol.History{Header: protocol.Header{ID: "h"}, ConversationID: teamConv, Before: fresh.MessageID})
	if err != nil || len(page.Messages) != 0 || page.More {
		t.Fatalf("dave paging back before his join: %+v, %v", page, err)
	}
	page, err = h.history.Page(h.ctx, dave, &protocol.History{Header: protocol.Header{ID: "h"}, ConversationID: teamConv, After: old.MessageID - 1})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].MessageID != fresh.MessageID {
		t.Fatalf("dave paging forward from before his join: %+v, %v", page, err)
	}
	if page, _ := h.history.Page(h.ctx, bob, &protocol.History{Header: protocol.Header{ID: "h"}, ConversationID: teamConv}); len(page.Messages) != 2 {
		t.Fatalf("bob sees %d messages, want both", len(page.Messages))
	}
	p := h.mustSync(dave, "phone", "", 100)
	if len(p.Messages) != 1 || p.Messages[0].MessageID != fresh.MessageID {
		t.Fatalf("dave's sync %+v: want only the message after he joined", p.Messages)
	}
	err = h.receipts.Received(h.ctx, usecase.Sender{UserID: dave, DeviceID: "phone"}, teamConv, []ids.ID{ids.ID(old.MessageID)}, "")
	wantCode(t, err, errs.NotFound)
}

func TestGroupEventIsStoredOnceReachesMembersAndRemovedAndIsIdempotent(t *testing.T) {
	h, g := groupHarness(t, 1)
	g.set(team, alice, bob) // carol left
	ev := groupapi.GroupEvent{Group: team, EventID: 501, Kind: groupapi.EventMemberLeft, Actor: carol,
		Users: []ids.ID{carol}, Removed: []ids.ID{carol}, RosterVersion: 7}
	res, err := h.events().Post(h.ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	msgs := h.messages(teamConv)
	if len(msgs) != 1 || msgs[0].ID != res.MessageID || msgs[0].Kind != groupapi.EventMemberLeft ||
		msgs[0].SenderID != carol || !slices.Equal(msgs[0].SystemUserIDs, []ids.ID{carol}) {
		t.Fatalf("stored %+v, want one member_left message", msgs)
	}
	if !slices.Contains(g.invalidated, team) {
		t.Fatal("the event did not drop the cached roster")
	}
	// Large group: no pointers for members, one for the removed member.
	if e := messageEntries(h.inbox(carol)); len(e) != 1 || e[0].MessageID != res.MessageID {
		t.Fatalf("removed member's inbox: %+v", e)
	}
	if e := messageEntries(h.inbox(bob)); len(e) != 0 {
		t.Fatalf("member's inbox in a large group: %+v", e)
	}
	items := h.flush()
	if len(items) != 1 || !slices.Equal(sortedIDs(items[0].Users), []ids.ID{alice, bob, carol}) {
		t.Fatalf("pushed %+v: want one item for the members and the removed member", items)
	}
	again, err := h.events().Post(h.ctx, ev)
	if err != nil || again.MessageID != res.MessageID {
		t.Fatalf("retried post: %+v, %v; want the original id %d", again, err, res.MessageID)
	}
	if n := len(h.messages(teamConv)); n != 1 {
		t.Fatalf("retried post stored %d messages", n)
	}
	// Deleted group: the roster is gone, everybody is in Removed.
	g.set(team)
	del, err := h.events().Post(h.ctx, groupapi.GroupEvent{Group: team, EventID: 502, Kind: groupapi.EventGroupDeleted,
		Actor: alice, Removed: []ids.ID{alice, bob}, RosterVersion: 8})
	if err != nil {
		t.Fatal(err)
	}
	if e := messageEntries(h.inbox(bob)); len(e) != 1 || e[0].MessageID != del.MessageID {
		t.Fatalf("bob's inbox after the deletion: %+v", e)
	}
	for _, bad := range []groupapi.GroupEvent{
		{EventID: 1, Kind: groupapi.EventMemberAdded, Actor: alice},
		{Group: team, Kind: groupapi.EventMemberAdded, Actor: alice},
		{Group: team, EventID: 1, Kind: "party", Actor: alice},
		{Group: team, EventID: 1, Kind: groupapi.EventMemberAdded},
		{Group: team, EventID: 1, Kind: groupapi.EventMemberAdded, Actor: alice, Users: []ids.ID{0}},
	} {
		_, err := h.events().Post(h.ctx, bad)
		wantCode(t, err, errs.InvalidArgument)
	}
}

// receiptsOf returns the receipts logged in user's inbox.
func (h *harness) receiptsOf(user ids.ID) []protocol.Receipt {
	var out []protocol.Receipt
	for _, e := range h.inbox(user) {
		if e.Kind == entity.InboxReceipt {
			var r protocol.Receipt
			if err := json.Unmarshal(e.Payload, &r); err != nil {
				h.t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out
}

// waitReceipts waits until user's inbox holds n receipts.
func (h *harness) waitReceipts(user ids.ID, n int) []protocol.Receipt {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rs := h.receiptsOf(user)
		if len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d receipts for %d after 5s, want %d: %+v", len(rs), user, n, rs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestGroupReceiptsGiveTheSenderReceivedAndReadCountsFromWatermarks(t *testing.T) {
	h, _ := groupHarness(t, 0)
	m1 := ids.ID(h.sendAs(alice, "phone", teamConv, "c-1", "one").MessageID)
	m2 := ids.ID(h.sendAs(alice, "phone", teamConv, "c-2", "two").MessageID)
	bobDev, carolDev := usecase.Sender{UserID: bob, DeviceID: "phone"}, usecase.Sender{UserID: carol, DeviceID: "phone"}
	if err := h.receipts.Received(h.ctx, bobDev, teamConv, []ids.ID{m1, m2}, ""); err != nil {
		t.Fatal(err)
	}
	r := h.waitReceipts(alice, 1)[0]
	want := []protocol.ReceiptCount{{MessageID: protocol.MessageID(m1), Received: 1, Of: 2}, {MessageID: protocol.MessageID(m2), Received: 1, Of: 2}}
	if r.State != usecase.StateReceived || r.UserID != 0 || !slices.Equal(r.Counts, want) {
		t.Fatalf("receipt %+v\nwant received counts %+v", r, want)
	}
	// A repeated ack moves nothing and tells nobody.
	if err := h.receipts.Received(h.ctx, bobDev, teamConv, []ids.ID{m1}, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.receipts.Read(h.ctx, carolDev, teamConv, m2); err != nil {
		t.Fatal(err)
	}
	r = h.waitReceipts(alice, 2)[1]
	want = []protocol.ReceiptCount{{MessageID: protocol.MessageID(m1), Received: 2, Read: 1, Of: 2}, {MessageID: protocol.MessageID(m2), Received: 2, Read: 1, Of: 2}}
	if r.State != usecase.StateRead || r.UpTo != protocol.MessageID(m2) || !slices.Equal(r.Counts, want) {
		t.Fatalf("read receipt %+v\nwant counts %+v", r, want)
	}
	time.Sleep(30 * time.Millisecond) // several windows: nothing else comes
	if rs := h.receiptsOf(alice); len(rs) != 2 {
		t.Fatalf("alice has %d receipts, want 2 (the repeated ack notified): %+v", len(rs), rs)
	}
	if rs := h.receiptsOf(bob); len(rs) != 0 {
		t.Fatalf("bob got receipts for messages he did not send: %+v", rs)
	}
	err := h.receipts.Received(h.ctx, bobDev, teamConv, []ids.ID{h.gen.Next()}, "")
	wantCode(t, err, errs.NotFound)
	err = h.receipts.Received(h.ctx, usecase.Sender{UserID: alice, DeviceID: "phone"}, teamConv, []ids.ID{m1}, "")
	wantCode(t, err, errs.InvalidArgument)

	readers, err := h.receipts.GroupReaders(h.ctx, bob, teamConv, m1)
	if err != nil {
		t.Fatal(err)
	}
	if readers.Of != 2 || len(readers.Received) != 2 || len(readers.Read) != 1 || readers.Read[0].UserID != protocol.UserID(carol) || readers.Read[0].AtMs == 0 {
		t.Fatalf("readers %+v: want both received, carol read", readers)
	}
	_, err = h.receipts.GroupReaders(h.ctx, dave, teamConv, m1)
	wantCode(t, err, errs.NotFound)
}

func TestGroupReadersAreRefusedAboveTheReadersMax(t *testing.T) {
	h, g := groupHarness(t, 0)
	big := []ids.ID{alice, bob, carol, dave, 2001} // 5 > ReadersMax 4 in the harness
	g.set(team, big...)
	m := ids.ID(h.sendAs(alice, "phone", teamConv, "c-1", "one").MessageID)
	_, err := h.receipts.GroupReaders(h.ctx, bob, teamConv, m)
	wantCode(t, err, errs.LimitExceeded)
}

func TestConversationListHasGroupsByTheirNewestMessageWithUnreadCounts(t *testing.T) {
	h, _ := groupHarness(t, 2)
	h.sendAs(bob, "phone", direct(t, alice, bob), "d-1", "direct")
	h.sendAs(bob, "phone", teamConv, "g-1", "group one")
	last := h.sendAs(carol, "phone", teamConv, "g-2", "group two")
	items, err := h.convs.List(h.ctx, alice, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].ConversationID != teamConv || items[0].LastMessage == nil ||
		items[0].LastMessage.MessageID != last.MessageID || items[0].Unread != 2 || items[1].Unread != 1 {
		t.Fatalf("list %+v: want the group first with 2 unread, then the direct chat", items)
	}
	page, err := h.convs.List(h.ctx, alice, ids.ID(last.MessageID), 10)
	if err != nil || len(page) != 1 || page[0].ConversationID == teamConv {
		t.Fatalf("page before the group's newest: %+v, %v", page, err)
	}
	if items, _ := h.convs.List(h.ctx, dave, 0, 10); len(items) != 0 {
		t.Fatalf("outsider's list: %+v", items)
	}
}

func TestGroupPushesNeverExceedTheRoutersUsersPerCall(t *testing.T) {
	big := make([]ids.ID, 12_000)
	for i := range big {
		big[i] = ids.ID(10_000 + i)
	}
	big[0] = alice
	g := &groupsStub{members: map[ids.ID][]ids.ID{team: big}}
	// The pusher starts only after everything is queued, so its workers
	// find many large messages waiting at once.
	h := newHarnessWith(t, options{groups: g})
	for i := range 5 {
		h.sendAs(alice, "phone", teamConv, "big"+string(rune('a'+i)), "to many")
	}
	h.startPusher()
	items := h.flush()
	h.router.mu.Lock()
	perCall := slices.Clone(h.router.users)
	h.router.mu.Unlock()
	for i, n := range perCall {
		if n > 10_000 {
			t.Fatalf("router call %d carried %d users; the router refuses more than 10,000", i, n)
		}
	}
	got := map[ids.ID]int{}
	for _, it := range items {
		if len(it.Users) > 5_000 {
			t.Fatalf("item of %d users", len(it.Users))
		}
		p, ok := decodePush(t, it).(*protocol.MessagePush)
		if !ok {
			continue
		}
		for _, u := range it.Users {
			if u == big[1] || u == big[len(big)-1] {
				got[ids.ID(p.MessageID)]++
			}
		}
	}
	if len(got) != 5 {
		t.Fatalf("pushes reached first and last member for %d messages, want 5", len(got))
	}
	for id, n := range got {
		if n != 2 {
			t.Fatalf("message %d reached the first and last member %d times in all, want once each", id, n)
		}
	}
}
