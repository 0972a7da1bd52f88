package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
)

func equalEntries(a, b entity.InboxEntry) bool {
	return a.UserID == b.UserID && a.Seq == b.Seq && a.Kind == b.Kind && a.Conversation == b.Conversation &&
		a.MessageID == b.MessageID && bytes.Equal(a.Payload, b.Payload)
}

func seqs(entries []entity.InboxEntry) []ids.ID {
	out := make([]ids.ID, len(entries))
	for i, e := range entries {
		out[i] = e.Seq
	}
	return out
}

func appendEntries(t *testing.T, st store.Store, entries ...entity.InboxEntry) {
	t.Helper()
	if err := st.Append(ctx(t), entries); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// checkRead asserts one ReadAfter call and returns its entries.
func checkRead(t *testing.T, st store.Store, user, after ids.ID, limit int, want []entity.InboxEntry, wantMore bool) []entity.InboxEntry {
	t.Helper()
	got, more, err := st.ReadAfter(ctx(t), user, after, limit)
	if err != nil {
		t.Fatalf("ReadAfter(after=%d, limit=%d): %v", after, limit, err)
	}
	if !slices.EqualFunc(got, want, equalEntries) || more != wantMore {
		t.Fatalf("ReadAfter(after=%d, limit=%d) = %v more=%v; want %v more=%v", after, limit, seqs(got), more, seqs(want), wantMore)
	}
	return got
}

func (s *suite) inboxRoundTrip(t *testing.T) {
	st := s.newStore(t)
	conv, user, peer := s.direct(t)
	entries := []entity.InboxEntry{
		{UserID: user, Seq: s.ids.Next(), Kind: entity.InboxMessage, Conversation: conv, MessageID: s.ids.Next()},
		{UserID: user, Seq: s.ids.Next(), Kind: entity.InboxReceipt, Conversation: conv, MessageID: s.ids.Next(),
			Payload: []byte(`{"conversation_id":"` + string(conv) + `","state":"read"}`)},
		{UserID: user, Seq: s.ids.Next(), Kind: entity.InboxReadState, Conversation: s.group(),
			Payload: []byte{0, 1, 0xfe, 0xff, '"', 0}},
	}
	// One call may carry entries of several users.
	theirs := entity.InboxEntry{UserID: peer, Seq: s.ids.Next(), Kind: entity.InboxMessage, Conversation: conv, MessageID: s.ids.Next()}
	appendEntries(t, st, entries[2], theirs, entries[0], entries[1])
	checkRead(t, st, user, 0, 10, entries, false)
	checkRead(t, st, peer, 0, 10, []entity.InboxEntry{theirs}, false)
	if err := st.Append(ctx(t), nil); err != nil {
		t.Fatalf("Append(nil): %v", err)
	}
}

func (s *suite) inboxIdempotent(t *testing.T) {
	st := s.newStore(t)
	conv, user, _ := s.direct(t)
	var entries []entity.InboxEntry
	for range 3 {
		entries = append(entries, entity.InboxEntry{UserID: user, Seq: s.ids.Next(), Kind: entity.InboxMessage,
			Conversation: conv, MessageID: s.ids.Next()})
	}
	appendEntries(t, st, entries[0], entries[1])
	appendEntries(t, st, entries[0], entries[1], entries[2], entries[2])
	checkRead(t, st, user, 0, 10, entries, false)
}

// datedEntries returns user's entries at times up to 13 days back (so on
// many day partitions, with empty days between), in seq order.
func (s *suite) datedEntries(t *testing.T, user ids.ID) []entity.InboxEntry {
	t.Helper()
	conv := s.group()
	var out []entity.InboxEntry
	for i, d := range []float64{13, 9, 5, 5, 2, 1.0 / 24, 0} {
		seq := idAt(daysAgo(d), 10+i)
		out = append(out, entity.InboxEntry{UserID: user, Seq: seq, Kind: entity.InboxMessage,
			Conversation: conv, MessageID: seq + 1000, Payload: []byte(fmt.Sprint("p", i))})
	}
	return out
}

func (s *suite) inboxPaging(t *testing.T) {
	st := s.newStore(t)
	user := s.ids.Next()
	all := s.datedEntries(t, user)
	for _, i := range shuffled(len(all)) { // write order must not matter
		appendEntries(t, st, all[i])
	}
	n := len(all)
	checkRead(t, st, user, 0, 100, all, false)
	checkRead(t, st, user, 0, n, all, false) // exactly all: no more
	checkRead(t, st, user, 0, n-1, all[:n-1], true)
	checkRead(t, st, user, all[2].Seq, 2, all[3:5], true)
	checkRead(t, st, user, all[n-1].Seq, 5, nil, false)
	checkRead(t, st, user, idAt(daysAgo(7), 0), 10, all[2:], false) // after falls on an empty day
	for _, limit := range []int{1, 2, 3} {
		var got []entity.InboxEntry
		var after ids.ID
		for pages := 0; len(got) < n; pages++ {
			if pages > n {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			want := all[len(got):min(n, len(got)+limit)]
			page := checkRead(t, st, user, after, limit, want, len(got)+len(want) < n)
			got = append(got, page...)
			after = page[len(page)-1].Seq
		}
	}
}

func (s *suite) inboxIsolation(t *testing.T) {
	st := s.newStore(t)
	alice, bob := s.ids.Next(), s.ids.Next()
	mine, theirs := s.datedEntries(t, alice), s.datedEntries(t, bob)
	for i := range mine {
		theirs[i].Seq = mine[i].Seq + 1 // interleaved, same days
		appendEntries(t, st, mine[i], theirs[i])
	}
	checkRead(t, st, alice, 0, 100, mine, false)
	checkRead(t, st, bob, 0, 100, theirs, false)
	checkRead(t, st, s.ids.Next(), 0, 100, nil, false)
}

func (s *suite) inboxRetention(t *testing.T) {
	st := s.newStore(t)
	user := s.ids.Next()
	conv := s.group()
	expired := entity.InboxEntry{UserID: user, Seq: idAt(now().Add(-store.InboxRetention-time.Hour), 1),
		Kind: entity.InboxMessage, Conversation: conv, MessageID: s.ids.Next()}
	live := entity.InboxEntry{UserID: user, Seq: idAt(daysAgo(1), 1), Kind: entity.InboxMessage,
		Conversation: conv, MessageID: s.ids.Next()}
	appendEntries(t, st, expired, live)
	checkRead(t, st, user, 0, 10, []entity.InboxEntry{live}, false)
	checkRead(t, st, user, idAt(now().Add(-store.InboxRetention-2*time.Hour), 0), 10, []entity.InboxEntry{live}, false)
}
