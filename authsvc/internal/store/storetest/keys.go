package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
)

func (s *suite) signingKeys(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	head, keys, err := st.SigningKeys(ctx)
	if err != nil || head != "" || len(keys) != 0 {
		t.Fatalf("empty store: head=%q keys=%d err=%v", head, len(keys), err)
	}
	k1 := entity.NewSigningKey(now(), now())
	if err := st.AddSigningKey(ctx, "", k1); err != nil {
		t.Fatal(err)
	}
	k2 := entity.NewSigningKey(now(), now().Add(time.Minute))
	if err := st.AddSigningKey(ctx, "", k2); !errors.Is(err, entity.ErrConflict) {
		t.Fatalf("add with stale head: %v, want ErrConflict", err)
	}
	if err := st.AddSigningKey(ctx, k1.ID, k2); err != nil {
		t.Fatal(err)
	}
	head, keys, err = st.SigningKeys(ctx)
	if err != nil || head != k2.ID || len(keys) != 2 {
		t.Fatalf("after two adds: head=%q keys=%d err=%v", head, len(keys), err)
	}
	for _, k := range keys {
		want := k1
		if k.ID == k2.ID {
			want = k2
		}
		if !k.Private.Equal(want.Private) || !k.ActivatesAt.Equal(want.ActivatesAt) || !k.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("key %s read back as %+v", k.ID, k)
		}
	}
	if err := st.DeleteSigningKey(ctx, k1.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSigningKey(ctx, k1.ID); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	head, keys, _ = st.SigningKeys(ctx)
	if head != k2.ID || len(keys) != 1 || keys[0].ID != k2.ID {
		t.Fatalf("after delete: head=%q keys=%v", head, keys)
	}
}

func (s *suite) concurrentKeyRotation(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	first := entity.NewSigningKey(now(), now())
	if err := st.AddSigningKey(ctx, "", first); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.AddSigningKey(ctx, first.ID, entity.NewSigningKey(now(), now()))
		}()
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, entity.ErrConflict):
			t.Fatalf("rotator %d: %v", i, err)
		}
	}
	_, keys, _ := st.SigningKeys(ctx)
	if wins != 1 || len(keys) != 2 {
		t.Fatalf("%d rotations won and %d keys stored, want 1 and 2", wins, len(keys))
	}
}
