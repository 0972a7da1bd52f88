package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var fast = Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestHashVerifiesSamePasswordOnly(t *testing.T) {
	h, err := NewHasher(fast, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding = %q", enc)
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse battery", enc); !ok || rehash || err != nil {
		t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, "correct horse batterY", enc); ok {
		t.Fatal("wrong password verified")
	}
	other, _ := h.Hash(ctx, "correct horse battery")
	if other == enc {
		t.Fatal("same salt twice")
	}
}

func TestOldParamsStillVerifyAndAskForRehash(t *testing.T) {
	old, _ := NewHasher(Params{MemoryKiB: 32, Time: 2, Threads: 1}, 1, nil)
	enc, _ := old.Hash(context.Background(), "password-123")
	cur, _ := NewHasher(fast, 1, nil)
	ok, rehash, err := cur.Verify(context.Background(), "password-123", enc)
	if !ok || !rehash || err != nil {
		t.Fatalf("ok=%v rehash=%v err=%v", ok, rehash, err)
	}
}

func TestMalformedAndHostileHashesAreRejected(t *testing.T) {
	h, _ := NewHasher(fast, 1, nil)
	for _, enc := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", // 4 GiB
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5"} {
		if _, _, err := h.Verify(context.Background(), "x", enc); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%q: err = %v", enc, err)
		}
	}
}

func TestConcurrentHashesAreBounded(t *testing.T) {
	var running, peak atomic.Int32
	h, _ := NewHasher(fast, 2, nil)
	// Every Hash and Verify runs between acquire and release; count who is inside.
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = h.acquire(context.Background())
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			h.release()
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Fatalf("peak concurrency %d, want ≤ 2", p)
	}
}

func TestHashWaitingForSlotGivesUpWithContext(t *testing.T) {
	h, _ := NewHasher(fast, 1, nil)
	_ = h.acquire(context.Background()) // hold the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "whatever-password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultParamsAreOWASP(t *testing.T) {
	if p := DefaultParams(); p != (Params{MemoryKiB: 19456, Time: 2, Threads: 1}) {
		t.Fatalf("defaults = %+v", p)
	}
}

// BenchmarkVerifyDefault is the Argon2id cost of one sign-in at the default
// parameters (the part of sign-in that dominates its latency).
func BenchmarkVerifyDefault(b *testing.B) {
	h, _ := NewHasher(DefaultParams(), 1, nil)
	enc, _ := h.Hash(context.Background(), "correct horse battery")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, _ := h.Verify(context.Background(), "correct horse battery", enc); !ok {
			b.Fatal("mismatch")
		}
	}
}
