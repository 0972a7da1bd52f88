package storetest

import (
	"testing"

	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
)

func checkCursor(t *testing.T, st store.Store, user ids.ID, device string, want ids.ID, wantOK bool) {
	t.Helper()
	got, ok, err := st.Cursor(ctx(t), user, device)
	if err != nil || got != want || ok != wantOK {
		t.Fatalf("Cursor(%d, %q) = %d, %v, %v; want %d, %v", user, device, got, ok, err, want, wantOK)
	}
}

func advance(t *testing.T, st store.Store, user ids.ID, device string, seq ids.ID) {
	t.Helper()
	if err := st.AdvanceCursor(ctx(t), user, device, seq); err != nil {
		t.Fatalf("AdvanceCursor(%d, %q, %d): %v", user, device, seq, err)
	}
}

func (s *suite) cursorUnknown(t *testing.T) {
	st := s.newStore(t)
	user := s.ids.Next()
	checkCursor(t, st, user, "phone", 0, false)
	advance(t, st, user, "phone", s.ids.Next())
	checkCursor(t, st, user, "laptop", 0, false)        // another device of the user
	checkCursor(t, st, s.ids.Next(), "phone", 0, false) // the same device name of another user
}

func (s *suite) cursorForward(t *testing.T) {
	st := s.newStore(t)
	user := s.ids.Next()
	low, mid, high := s.ids.Next(), s.ids.Next(), s.ids.Next()
	advance(t, st, user, "phone", mid)
	checkCursor(t, st, user, "phone", mid, true)
	advance(t, st, user, "phone", low) // a late ack never moves it back
	checkCursor(t, st, user, "phone", mid, true)
	advance(t, st, user, "phone", mid)
	checkCursor(t, st, user, "phone", mid, true)
	advance(t, st, user, "phone", high)
	checkCursor(t, st, user, "phone", high, true)
	advance(t, st, user, "tablet", low) // devices are independent
	checkCursor(t, st, user, "tablet", low, true)
	checkCursor(t, st, user, "phone", high, true)
}

func (s *suite) cursorConcurrent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	user := s.ids.Next()
	const n = 30
	seqs := make([]ids.ID, n)
	for i := range seqs {
		seqs[i] = s.ids.Next()
	}
	order := shuffled(n)
	errs := make([]error, n)
	parallel(n, func(i int) { errs[i] = st.AdvanceCursor(c, user, "phone", seqs[order[i]]) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("AdvanceCursor %d: %v", i, err)
		}
	}
	checkCursor(t, st, user, "phone", seqs[n-1], true)
}
