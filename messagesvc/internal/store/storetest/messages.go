package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

func (s *suite) putRoundTrip(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv := s.group()
	full := entity.Message{ID: s.ids.Next(), Conversation: conv, SenderID: s.ids.Next(), SenderDevice: "laptop",
		ClientMsgID: unique("client-"), Kind: protocol.KindUser, Body: "héllo, wörld ✓",
		Attachments: []entity.Attachment{{ID: s.ids.Next()}, {ID: s.ids.Next()}, {ID: s.ids.Next()}}}
	event := entity.Message{ID: s.ids.Next(), Conversation: conv, SenderID: s.ids.Next(),
		Kind: protocol.KindMemberAdded, SystemUserIDs: []ids.ID{s.ids.Next(), s.ids.Next()}, SystemName: "Team"}
	bare := entity.Message{ID: s.ids.Next(), Conversation: conv, SenderID: s.ids.Next(), Kind: protocol.KindUser, Body: "x"}
	put(t, st, full, event, bare)
	got, err := st.GetMessages(c, conv, []ids.ID{bare.ID, full.ID, event.ID})
	if err != nil || len(got) != 3 {
		t.Fatalf("GetMessages = %+v, %v", got, err)
	}
	for i, want := range []entity.Message{full, event, bare} {
		if !equalMessages(got[i], want) {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
}

func (s *suite) putIdempotent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, a, _ := s.direct(t)
	m := message(conv, a, s.ids.Next())
	put(t, st, m, m)
	page, more, err := st.History(c, conv, 0, 0, 10)
	if err != nil || more || len(page) != 1 || !equalMessages(page[0], m) {
		t.Fatalf("History after two puts = %+v, %v, %v; want just %+v", page, more, err, m)
	}
}

func (s *suite) getMessagesOrderAndMissing(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, a, b := s.direct(t)
	other := s.group()
	var msgs []entity.Message
	for i, d := range []float64{200, 100, 40, 12, 2, 0.001} { // many buckets apart
		msgs = append(msgs, message(conv, []ids.ID{a, b}[i%2], idAt(daysAgo(d), 1)))
	}
	foreign := message(other, a, idAt(daysAgo(40), 2))
	put(t, st, msgs...)
	put(t, st, foreign)
	missing := idAt(daysAgo(40), 3)
	ask := []ids.ID{msgs[4].ID, missing, msgs[0].ID, foreign.ID, msgs[2].ID, msgs[4].ID, msgs[5].ID}
	got, err := st.GetMessages(c, conv, ask)
	if err != nil {
		t.Fatal(err)
	}
	want := []entity.Message{msgs[0], msgs[2], msgs[4], msgs[5]}
	if !slices.EqualFunc(got, want, equalMessages) {
		t.Fatalf("GetMessages = %v, want %v (ascending, found only, each once)", messageIDs(got), messageIDs(want))
	}
	if got, err := st.GetMessages(c, conv, nil); err != nil || len(got) != 0 {
		t.Fatalf("GetMessages(nil) = %v, %v", got, err)
	}
	if got, err := st.GetMessages(c, s.group(), []ids.ID{msgs[0].ID}); err != nil || len(got) != 0 {
		t.Fatalf("GetMessages of unknown conversation = %v, %v", got, err)
	}
}

// buildHistory stores 26 messages of one conversation at 13 times up to 290
// days apart (so across many 10-day buckets, with empty buckets between),
// plus a second conversation at the same times that must never leak in.
func (s *suite) buildHistory(t *testing.T, st store.Store) (protocol.ConversationID, []entity.Message) {
	t.Helper()
	conv, a, b := s.direct(t)
	noise := s.group()
	var all []entity.Message
	for _, d := range []float64{290, 250, 200, 120, 95, 60, 45, 30, 21, 10, 3, 1, 0.001} {
		at := daysAgo(d)
		for n := 1; n <= 2; n++ {
			all = append(all, message(conv, []ids.ID{a, b}[n%2], idAt(at, 2*n)))
			put(t, st, message(noise, a, idAt(at, 2*n+1)))
		}
	}
	// Stored in a scrambled order: nothing may depend on write order.
	for _, i := range shuffled(len(all)) {
		put(t, st, all[i])
	}
	return conv, all
}

func (s *suite) historyEmpty(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, a, _ := s.direct(t)
	for _, q := range []struct{ before, after ids.ID }{{0, 0}, {s.ids.Next(), 0}, {0, idAt(daysAgo(30), 0)}} {
		page, more, err := st.History(c, conv, q.before, q.after, 10)
		if err != nil || more || len(page) != 0 {
			t.Fatalf("History(before=%d, after=%d) of an empty conversation = %v, %v, %v", q.before, q.after, page, more, err)
		}
	}
	// A conversation with one message: every page around it is exact.
	m := message(conv, a, s.ids.Next())
	put(t, st, m)
	checkPage(t, st, conv, m.ID, 0, 10, nil, false)
	checkPage(t, st, conv, 0, m.ID, 10, nil, false)
	checkPage(t, st, conv, 0, 0, 1, []entity.Message{m}, false)
}

func (s *suite) historyNewestAndEdges(t *testing.T) {
	st := s.newStore(t)
	conv, all := s.buildHistory(t, st)
	n := len(all)
	checkPage(t, st, conv, 0, 0, 5, all[n-5:], true)
	checkPage(t, st, conv, 0, 0, n+1, all, false)
	checkPage(t, st, conv, ids.FromTime(now().Add(time.Hour)), 0, 3, all[n-3:], true) // before above everything
	checkPage(t, st, conv, all[0].ID, 0, 5, nil, false)                               // nothing below the first
	checkPage(t, st, conv, 0, all[n-1].ID, 5, nil, false)                             // nothing above the last
	checkPage(t, st, conv, all[1].ID, 0, 5, all[:1], false)
	checkPage(t, st, conv, 0, all[n-2].ID, 5, all[n-1:], false)
	checkPage(t, st, conv, 0, 1, 3, all[:3], true)                 // after below everything: the oldest
	checkPage(t, st, conv, all[9].ID+1, 0, 4, all[6:10], true)     // before between two ids
	checkPage(t, st, conv, 0, all[9].ID+1, 4, all[10:14], true)    // after between two ids
	checkPage(t, st, conv, all[12].ID, 0, 12, all[:12], false)     // exactly the rest, backwards
	checkPage(t, st, conv, 0, all[n-13].ID, 12, all[n-12:], false) // exactly the rest, forwards
}

func (s *suite) historyBackward(t *testing.T) {
	st := s.newStore(t)
	conv, all := s.buildHistory(t, st)
	for _, limit := range []int{1, 3, 4, 7} {
		var got []entity.Message
		var before ids.ID
		for pages := 0; ; pages++ {
			if pages > len(all) {
				t.Fatalf("limit %d: paging backwards does not end", limit)
			}
			rest := len(all) - len(got)
			want := all[max(0, rest-limit):rest]
			page := checkPage(t, st, conv, before, 0, limit, want, rest > limit)
			got = append(slices.Clone(page), got...)
			if rest <= limit {
				break
			}
			before = page[0].ID
		}
		if !slices.EqualFunc(got, all, equalMessages) {
			t.Fatalf("limit %d: paged backwards %v, want %v", limit, messageIDs(got), messageIDs(all))
		}
	}
}

func (s *suite) historyForward(t *testing.T) {
	st := s.newStore(t)
	conv, all := s.buildHistory(t, st)
	for _, limit := range []int{1, 3, 4, 7} {
		var got []entity.Message
		after := ids.FromTime(daysAgo(300))
		for pages := 0; ; pages++ {
			if pages > len(all) {
				t.Fatalf("limit %d: paging forwards does not end", limit)
			}
			done := len(got)
			want := all[done:min(len(all), done+limit)]
			page := checkPage(t, st, conv, 0, after, limit, want, len(all)-done > limit)
			got = append(got, page...)
			if len(all)-done <= limit {
				break
			}
			after = page[len(page)-1].ID
		}
		if !slices.EqualFunc(got, all, equalMessages) {
			t.Fatalf("limit %d: paged forwards %v, want %v", limit, messageIDs(got), messageIDs(all))
		}
	}
}

// historyMoreExact pages with limits that divide the conversation evenly:
// the last full page must say more=false, not send the client for an empty one.
func (s *suite) historyMoreExact(t *testing.T) {
	st := s.newStore(t)
	conv, all := s.buildHistory(t, st)
	n := len(all)
	checkPage(t, st, conv, 0, 0, n, all, false)
	checkPage(t, st, conv, 0, 0, n/2, all[n/2:], true)
	checkPage(t, st, conv, all[n/2].ID, 0, n/2, all[:n/2], false)
	checkPage(t, st, conv, 0, 1, n/2, all[:n/2], true)
	checkPage(t, st, conv, 0, all[n/2-1].ID, n/2, all[n/2:], false)
}

// checkPage asserts one History call and returns its page.
func checkPage(t *testing.T, st store.Store, conv protocol.ConversationID, before, after ids.ID, limit int,
	want []entity.Message, wantMore bool) []entity.Message {
	t.Helper()
	page, more, err := st.History(ctx(t), conv, before, after, limit)
	if err != nil {
		t.Fatalf("History(before=%d, after=%d, limit=%d): %v", before, after, limit, err)
	}
	if !slices.EqualFunc(page, want, equalMessages) || more != wantMore {
		t.Fatalf("History(before=%d, after=%d, limit=%d) = %v more=%v; want %v more=%v",
			before, after, limit, messageIDs(page), more, messageIDs(want), wantMore)
	}
	return page
}
