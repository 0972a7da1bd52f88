package usecase_test

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

func (h *harness) historyPage(user ids.ID, conv protocol.ConversationID, before, after ids.ID, limit int) (*protocol.HistoryPage, error) {
	f := &protocol.History{Header: protocol.Header{ID: h.reqID()}, ConversationID: conv,
		Before: protocol.MessageID(before), After: protocol.MessageID(after), Limit: limit}
	return h.history.Page(h.ctx, user, f)
}

func pageIDs(msgs []protocol.Message) []ids.ID {
	out := make([]ids.ID, len(msgs))
	for i, m := range msgs {
		out[i] = ids.ID(m.MessageID)
	}
	return out
}

func TestHistoryPagesBackAndForthForAMember(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	ms := h.sendN(conv, alice, 10, "m")

	type step struct {
		before, after ids.ID
		want          []ids.ID
		more          bool
	}
	for i, s := range []step{
		{0, 0, ms[6:], true},        // newest
		{ms[6], 0, ms[2:6], true},   // older
		{ms[2], 0, ms[:2], false},   // oldest
		{0, ms[0], ms[1:5], true},   // forward
		{0, ms[5], ms[6:10], false}, // forward to the end (exactly 4 left)
		{0, ms[9], nil, false},      // nothing newer
		{ms[0], 0, nil, false},      // nothing older
	} {
		p, err := h.historyPage(bob, conv, s.before, s.after, 4)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if fmt.Sprint(pageIDs(p.Messages)) != fmt.Sprint(s.want) || p.More != s.more {
			t.Fatalf("step %d (before %d, after %d): got %v more=%v, want %v more=%v",
				i, s.before, s.after, pageIDs(p.Messages), p.More, s.want, s.more)
		}
		if p.ConversationID != conv || p.ID == "" {
			t.Fatalf("step %d: page header %q %q", i, p.ID, p.ConversationID)
		}
	}
	// The sender sees its client ids, the recipient does not.
	pa, _ := h.historyPage(alice, conv, 0, 0, 1)
	pb, _ := h.historyPage(bob, conv, 0, 0, 1)
	if pa.Messages[0].ClientMsgID != "m-9" || pb.Messages[0].ClientMsgID != "" {
		t.Fatalf("client ids: sender %q, recipient %q", pa.Messages[0].ClientMsgID, pb.Messages[0].ClientMsgID)
	}
	// Limit 0 is the default page size.
	if p, _ := h.historyPage(bob, conv, 0, 0, 0); len(p.Messages) != 10 || p.More {
		t.Fatalf("default page: %d messages more=%v", len(p.Messages), p.More)
	}
}

func TestHistoryOfAConversationWithoutTheUserIsNotFound(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	h.sendN(conv, alice, 2, "m")
	p, err := h.historyPage(carol, conv, 0, 0, 10)
	wantCode(t, err, errs.NotFound)
	if p != nil {
		t.Fatalf("page returned with the error: %+v", p)
	}
	_, err = h.historyPage(carol, protocol.GroupConversation(5), 0, 0, 10)
	wantCode(t, err, errs.Unavailable)
}

func TestConversationListIsMostRecentFirstWithLastMessageAndUnread(t *testing.T) {
	h := newHarness(t)
	withBob, withCarol, withDave := direct(t, alice, bob), direct(t, alice, carol), direct(t, alice, dave)
	h.sendN(withBob, bob, 3, "b")        // 3 unread for alice
	h.sendN(withCarol, alice, 2, "a")    // alice's own: 0 unread
	d := h.sendN(withDave, dave, 2, "d") // 2 unread, then 1 after reading one
	lastBob := h.sendN(withBob, alice, 1, "a-reply")
	if err := h.receipts.Read(h.ctx, usecase.Sender{UserID: alice, DeviceID: "phone"}, withDave, d[0]); err != nil {
		t.Fatal(err)
	}

	items, err := h.convs.List(h.ctx, alice, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%s/%d", it.ConversationID, it.Unread))
	}
	want := []string{string(withBob) + "/3", string(withDave) + "/1", string(withCarol) + "/0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("list = %v, want %v", got, want)
	}
	if lm := items[0].LastMessage; lm == nil || ids.ID(lm.MessageID) != lastBob[0] || lm.Body != "a-reply 0" || lm.ClientMsgID != "a-reply-0" {
		t.Fatalf("last message of the first row = %+v", lm)
	}
	if items[1].ReadUpTo != protocol.MessageID(d[0]) || items[0].ReadUpTo != 0 {
		t.Fatalf("read positions %d, %d", items[0].ReadUpTo, items[1].ReadUpTo)
	}
	// The other side sees the same conversation with its own unread count.
	if items, _ := h.convs.List(h.ctx, bob, 0, 10); len(items) != 1 || items[0].Unread != 1 {
		t.Fatalf("bob's list = %+v", items)
	}

	// Paging: two, then the rest below the last one shown.
	first, err := h.convs.List(h.ctx, alice, 0, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	rest, err := h.convs.List(h.ctx, alice, ids.ID(first[1].LastMessage.MessageID), 2)
	if err != nil || len(rest) != 1 || rest[0].ConversationID != withCarol {
		t.Fatalf("second page: %+v, %v", rest, err)
	}
	for _, bad := range []int{0, -1, usecase.MaxConversationsPage + 1} {
		_, err := h.convs.List(h.ctx, alice, 0, bad)
		wantCode(t, err, errs.InvalidArgument)
	}
	if items, err := h.convs.List(h.ctx, carol, 0, usecase.MaxConversationsPage); err != nil || len(items) != 1 || items[0].Unread != 2 {
		t.Fatalf("carol's list = %+v, %v", items, err)
	}
}

func TestCursorRoundTripsAndRejectsForeignStrings(t *testing.T) {
	now := time.Now()
	for _, seq := range []ids.ID{1, 42, ids.FromTime(now), ids.FromTime(now) | 0x3fffff, 1<<63 - 1} {
		c := usecase.EncodeCursor(seq)
		if len(c) > protocol.DefaultLimits().MaxCursorBytes {
			t.Fatalf("cursor %q longer than max_cursor_bytes", c)
		}
		for i := 0; i < len(c); i++ {
			if c[i] <= ' ' || c[i] > '~' {
				t.Fatalf("cursor %q is not printable ASCII", c)
			}
		}
		got, err := usecase.DecodeCursor(c)
		if err != nil || got != seq {
			t.Fatalf("decode(encode(%d)) = %d, %v", seq, got, err)
		}
	}
	if c := usecase.EncodeCursor(0); c != "" {
		t.Fatalf("position zero encodes as %q, want empty", c)
	}
	if seq, err := usecase.DecodeCursor(""); err != nil || seq != 0 {
		t.Fatalf("empty cursor = %d, %v", seq, err)
	}
	raw := func(b ...byte) string { return "v1." + base64.RawURLEncoding.EncodeToString(b) }
	for _, c := range []string{
		"x", "v1", "v1.", "v1.@@@@", "v0." + usecase.EncodeCursor(5)[3:], "v1." + base64.StdEncoding.EncodeToString([]byte{0, 0, 0, 0, 0, 0, 0, 5}),
		raw(0, 0, 0, 0, 0, 0, 5), raw(0, 0, 0, 0, 0, 0, 0, 0, 5), raw(0, 0, 0, 0, 0, 0, 0, 0), raw(0xff, 0, 0, 0, 0, 0, 0, 1),
		" " + usecase.EncodeCursor(5), usecase.EncodeCursor(5) + " ",
	} {
		_, err := usecase.DecodeCursor(c)
		wantCode(t, err, errs.InvalidArgument)
	}
}

func TestClientCursorStaysBehindTheLookbackWindow(t *testing.T) {
	now := time.Now()
	recent, old := ids.FromTime(now.Add(-time.Second)), ids.FromTime(now.Add(-time.Hour))
	if got := mustDecodeCursor(t, usecase.ClientCursor(recent, now)); got != ids.FromTime(now.Add(-usecase.Lookback)) {
		t.Fatalf("cursor for a recent position = %v, want now-Lookback", got.Time())
	}
	if got := mustDecodeCursor(t, usecase.ClientCursor(old, now)); got != old {
		t.Fatalf("cursor for an old position = %d, want it exactly (%d)", got, old)
	}
}
