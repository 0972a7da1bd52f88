package storetest

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parleychat/parley/shared/ids"
)

func (s *suite) claimFirstThenOwner(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	sender, key := s.ids.Next(), unique("client-")
	first, second := s.ids.Next(), s.ids.Next()
	owner, fresh, err := st.ClaimSend(c, sender, key, first)
	if err != nil || owner != first || !fresh {
		t.Fatalf("first claim = %d, %v, %v; want %d, true", owner, fresh, err, first)
	}
	owner, fresh, err = st.ClaimSend(c, sender, key, second)
	if err != nil || owner != first || fresh {
		t.Fatalf("retry = %d, %v, %v; want %d, false", owner, fresh, err, first)
	}
}

func (s *suite) claimConcurrent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	sender, key := s.ids.Next(), unique("client-")
	const n = 20
	candidates := make([]ids.ID, n)
	for i := range candidates {
		candidates[i] = s.ids.Next()
	}
	owners := make([]ids.ID, n)
	var freshCount atomic.Int32
	var mu sync.Mutex
	var errs []error
	parallel(n, func(i int) {
		owner, fresh, err := st.ClaimSend(c, sender, key, candidates[i])
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return
		}
		owners[i] = owner
		if fresh {
			freshCount.Add(1)
			if owner != candidates[i] {
				t.Errorf("fresh claim %d returned owner %d", candidates[i], owner)
			}
		}
	})
	if len(errs) > 0 {
		t.Fatalf("ClaimSend errors: %v", errs)
	}
	if got := freshCount.Load(); got != 1 {
		t.Fatalf("%d of %d concurrent claims were fresh, want exactly 1", got, n)
	}
	for i, o := range owners {
		if o != owners[0] {
			t.Fatalf("claim %d saw owner %d, claim 0 saw %d", i, o, owners[0])
		}
	}
	// The key stays with the winner.
	if owner, fresh, err := st.ClaimSend(c, sender, key, s.ids.Next()); err != nil || fresh || owner != owners[0] {
		t.Fatalf("later claim = %d, %v, %v; want %d, false", owner, fresh, err, owners[0])
	}
}

func (s *suite) claimIndependent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	alice, bob := s.ids.Next(), s.ids.Next()
	key1, key2 := unique("client-"), unique("client-")
	claims := []struct {
		sender ids.ID
		key    string
	}{{alice, key1}, {alice, key2}, {bob, key1}}
	got := make([]ids.ID, len(claims))
	for i, cl := range claims {
		cand := s.ids.Next()
		owner, fresh, err := st.ClaimSend(c, cl.sender, cl.key, cand)
		if err != nil || !fresh || owner != cand {
			t.Fatalf("claim %d (%d, %s) = %d, %v, %v; want %d, true", i, cl.sender, cl.key, owner, fresh, err, cand)
		}
		got[i] = cand
	}
	for i, cl := range claims {
		owner, fresh, err := st.ClaimSend(c, cl.sender, cl.key, s.ids.Next())
		if err != nil || fresh || owner != got[i] {
			t.Fatalf("retry of claim %d = %d, %v, %v; want %d, false", i, owner, fresh, err, got[i])
		}
	}
}
