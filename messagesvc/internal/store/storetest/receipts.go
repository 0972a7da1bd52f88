package storetest

import (
	"cmp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

func markReceived(t *testing.T, st store.Store, conv protocol.ConversationID, user ids.ID, msgIDs []ids.ID, at time.Time, wantNewly ...ids.ID) {
	t.Helper()
	newly, err := st.MarkReceived(ctx(t), conv, user, msgIDs, at)
	if err != nil {
		t.Fatalf("MarkReceived(%v): %v", msgIDs, err)
	}
	if !slices.Equal(sortedIDs(newly), sortedIDs(wantNewly)) {
		t.Fatalf("MarkReceived(%v) newly = %v, want %v", msgIDs, newly, wantNewly)
	}
}

// checkDeliveries asserts Deliveries, ignoring row order.
func checkDeliveries(t *testing.T, st store.Store, conv protocol.ConversationID, msgIDs []ids.ID, want []entity.Delivery) {
	t.Helper()
	got, err := st.Deliveries(ctx(t), conv, msgIDs)
	if err != nil {
		t.Fatalf("Deliveries: %v", err)
	}
	byKey := func(a, b entity.Delivery) int {
		return cmp.Or(cmp.Compare(a.MessageID, b.MessageID), cmp.Compare(a.UserID, b.UserID))
	}
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byKey)
	slices.SortFunc(want, byKey)
	equal := func(a, b entity.Delivery) bool {
		return a.MessageID == b.MessageID && a.UserID == b.UserID && a.ReceivedAt.Equal(b.ReceivedAt) && a.ReadAt.Equal(b.ReadAt)
	}
	if !slices.EqualFunc(got, want, equal) {
		t.Fatalf("Deliveries(%v)\n got %+v\nwant %+v", msgIDs, got, want)
	}
}

func (s *suite) markReceivedFirstWins(t *testing.T) {
	st := s.newStore(t)
	conv, _, bob := s.direct(t)
	m1, m2, m3 := idAt(daysAgo(30), 1), idAt(daysAgo(2), 1), idAt(daysAgo(0.01), 1) // different buckets
	m4 := idAt(daysAgo(0.01), 2)
	t1 := now()
	t2, t3 := t1.Add(time.Second), t1.Add(2*time.Second)
	markReceived(t, st, conv, bob, []ids.ID{m1, m2}, t1, m1, m2)
	markReceived(t, st, conv, bob, []ids.ID{m2, m3}, t2, m3)           // m2 again: only m3 is new
	markReceived(t, st, conv, bob, []ids.ID{m1, m2, m3}, t3)           // a duplicate ack sets nothing
	markReceived(t, st, conv, bob, []ids.ID{m1}, t1.Add(-time.Minute)) // a late ack with an earlier time
	markReceived(t, st, conv, bob, []ids.ID{m4, m4}, t3, m4)           // the same id twice in one ack
	markReceived(t, st, conv, bob, nil, t3)
	checkDeliveries(t, st, conv, []ids.ID{m4, m1, m2, m3}, []entity.Delivery{
		{MessageID: m1, UserID: bob, ReceivedAt: t1},
		{MessageID: m2, UserID: bob, ReceivedAt: t1},
		{MessageID: m3, UserID: bob, ReceivedAt: t2},
		{MessageID: m4, UserID: bob, ReceivedAt: t3},
	})
}

func (s *suite) markReceivedPerRecipient(t *testing.T) {
	st := s.newStore(t)
	conv := s.group()
	carol, dave := s.ids.Next(), s.ids.Next()
	m1, m2 := s.ids.Next(), s.ids.Next()
	t1 := now()
	t2 := t1.Add(time.Second)
	markReceived(t, st, conv, carol, []ids.ID{m1, m2}, t1, m1, m2)
	markReceived(t, st, conv, dave, []ids.ID{m2}, t2, m2)       // another recipient of the same message
	markReceived(t, st, s.group(), carol, []ids.ID{m1}, t2, m1) // the same id in another conversation
	checkDeliveries(t, st, conv, []ids.ID{m1, m2}, []entity.Delivery{
		{MessageID: m1, UserID: carol, ReceivedAt: t1},
		{MessageID: m2, UserID: carol, ReceivedAt: t1},
		{MessageID: m2, UserID: dave, ReceivedAt: t2},
	})
	checkDeliveries(t, st, conv, []ids.ID{s.ids.Next()}, nil)
}

// markReceivedConcurrent races acks of the same messages: whichever wins,
// one time is recorded per message and every message was reported newly
// received by at least one call. (Which call reports it, and whether a
// second racing call does too, is the adapter's business; see its docs.)
func (s *suite) markReceivedConcurrent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, _, bob := s.direct(t)
	msgIDs := []ids.ID{s.ids.Next(), s.ids.Next(), s.ids.Next()}
	const n = 10
	base := now()
	ats := make([]time.Time, n)
	for i := range ats {
		ats[i] = base.Add(time.Duration(i) * time.Millisecond)
	}
	var mu sync.Mutex
	reported := map[ids.ID]int{}
	var errs []error
	parallel(n, func(i int) {
		newly, err := st.MarkReceived(c, conv, bob, msgIDs, ats[i])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		for _, id := range newly {
			reported[id]++
		}
	})
	if len(errs) > 0 {
		t.Fatalf("MarkReceived errors: %v", errs)
	}
	got, err := st.Deliveries(c, conv, msgIDs)
	if err != nil || len(got) != len(msgIDs) {
		t.Fatalf("Deliveries = %+v, %v; want one row per message", got, err)
	}
	for _, d := range got {
		if reported[d.MessageID] < 1 {
			t.Errorf("message %d was never reported newly received", d.MessageID)
		}
		if !slices.ContainsFunc(ats, d.ReceivedAt.Equal) {
			t.Errorf("message %d received at %v, not one of the acks' times", d.MessageID, d.ReceivedAt)
		}
	}
	// Settled: a further ack sets nothing.
	markReceived(t, st, conv, bob, msgIDs, base.Add(time.Hour))
}

func checkWatermark(t *testing.T, st store.Store, user ids.ID, conv protocol.ConversationID, want entity.Watermark) {
	t.Helper()
	got, err := st.ReadWatermark(ctx(t), user, conv)
	if err != nil || got.UpTo != want.UpTo || !got.At.Equal(want.At) {
		t.Fatalf("ReadWatermark = %+v, %v; want %+v", got, err, want)
	}
}

func advanceRead(t *testing.T, st store.Store, user ids.ID, conv protocol.ConversationID, upTo ids.ID, at time.Time,
	wantAfter entity.Watermark, wantMoved bool) {
	t.Helper()
	after, moved, err := st.AdvanceRead(ctx(t), user, conv, upTo, at)
	if err != nil || after.UpTo != wantAfter.UpTo || !after.At.Equal(wantAfter.At) || moved != wantMoved {
		t.Fatalf("AdvanceRead(%d, %v) = %+v, %v, %v; want %+v, %v", upTo, at, after, moved, err, wantAfter, wantMoved)
	}
}

func (s *suite) watermarkZero(t *testing.T) {
	st := s.newStore(t)
	conv, alice, bob := s.direct(t)
	checkWatermark(t, st, alice, conv, entity.Watermark{})
	checkWatermark(t, st, bob, conv, entity.Watermark{})
	checkWatermark(t, st, alice, s.group(), entity.Watermark{})
}

func (s *suite) advanceReadForward(t *testing.T) {
	st := s.newStore(t)
	conv, alice, bob := s.direct(t)
	low, mid, high := s.ids.Next(), s.ids.Next(), s.ids.Next()
	t1 := now()
	t2, t3 := t1.Add(time.Second), t1.Add(2*time.Second)
	atMid := entity.Watermark{UpTo: mid, At: t1}
	advanceRead(t, st, alice, conv, mid, t1, atMid, true)
	checkWatermark(t, st, alice, conv, atMid)
	advanceRead(t, st, alice, conv, low, t2, atMid, false) // lower: nothing changes
	advanceRead(t, st, alice, conv, mid, t2, atMid, false) // equal: not even the time
	checkWatermark(t, st, alice, conv, atMid)
	advanceRead(t, st, alice, conv, high, t3, entity.Watermark{UpTo: high, At: t3}, true)
	checkWatermark(t, st, bob, conv, entity.Watermark{})        // per user
	checkWatermark(t, st, alice, s.group(), entity.Watermark{}) // per conversation
}

func (s *suite) advanceReadConcurrent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, alice, _ := s.direct(t)
	const n = 20
	upTos := make([]ids.ID, n)
	for i := range upTos {
		upTos[i] = s.ids.Next()
	}
	base := now()
	order := shuffled(n)
	type result struct {
		after entity.Watermark
		moved bool
		err   error
	}
	results := make([]result, n)
	parallel(n, func(i int) {
		k := order[i]
		after, moved, err := st.AdvanceRead(c, alice, conv, upTos[k], base.Add(time.Duration(k)*time.Millisecond))
		results[k] = result{after, moved, err}
	})
	for k, r := range results {
		if r.err != nil {
			t.Fatalf("AdvanceRead %d: %v", k, r.err)
		}
		if r.after.UpTo < upTos[k] {
			t.Errorf("AdvanceRead(%d) returned watermark %d below it", upTos[k], r.after.UpTo)
		}
	}
	top := entity.Watermark{UpTo: upTos[n-1], At: base.Add((n - 1) * time.Millisecond)}
	if r := results[n-1]; !r.moved || r.after.UpTo != top.UpTo || !r.after.At.Equal(top.At) {
		t.Errorf("the highest advance = %+v moved=%v; want %+v moved", r.after, r.moved, top)
	}
	checkWatermark(t, st, alice, conv, top)
}

func (s *suite) deliveries(t *testing.T) {
	st := s.newStore(t)
	conv := s.group()
	erin, frank, grace := s.ids.Next(), s.ids.Next(), s.ids.Next()
	m1, m2, m3 := idAt(daysAgo(40), 1), idAt(daysAgo(1), 1), idAt(daysAgo(0.01), 1)
	t1 := now()
	t2, t3 := t1.Add(time.Second), t1.Add(2*time.Second)
	markReceived(t, st, conv, erin, []ids.ID{m1, m2, m3}, t1, m1, m2, m3)
	markReceived(t, st, conv, frank, []ids.ID{m1}, t2, m1)
	advanceRead(t, st, erin, conv, m2, t3, entity.Watermark{UpTo: m2, At: t3}, true)
	// grace read everything but never acked receipt: not a recorded recipient.
	advanceRead(t, st, grace, conv, m3, t3, entity.Watermark{UpTo: m3, At: t3}, true)
	checkDeliveries(t, st, conv, []ids.ID{m3, m2, m1}, []entity.Delivery{
		{MessageID: m1, UserID: erin, ReceivedAt: t1, ReadAt: t3},
		{MessageID: m2, UserID: erin, ReceivedAt: t1, ReadAt: t3}, // read iff watermark >= id
		{MessageID: m3, UserID: erin, ReceivedAt: t1},
		{MessageID: m1, UserID: frank, ReceivedAt: t2},
	})
	checkDeliveries(t, st, conv, []ids.ID{m2}, []entity.Delivery{{MessageID: m2, UserID: erin, ReceivedAt: t1, ReadAt: t3}})
	checkDeliveries(t, st, conv, nil, nil)
}
