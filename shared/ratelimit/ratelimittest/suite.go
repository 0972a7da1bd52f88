// Package ratelimittest is the contract every ratelimit.Limiter adapter
// passes. It runs against real time with short windows, so a fresh limiter
// (or a fresh key prefix) per call keeps the cases independent.
package ratelimittest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/ratelimit"
)

// Run runs the contract suite; newLimiter returns an empty limiter.
func Run(t *testing.T, newLimiter func(t *testing.T) ratelimit.Limiter) {
	t.Run("AllowsUpToMaxThenRefusesWithRetryAfter", func(t *testing.T) {
		l := newLimiter(t)
		limit := ratelimit.Limit{Max: 3, Window: time.Minute}
		for i := 1; i <= 3; i++ {
			d := allow(t, l, "k", limit)
			if !d.Allowed || d.Count != i {
				t.Fatalf("event %d: %+v, want allowed", i, d)
			}
		}
		d := allow(t, l, "k", limit)
		if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
			t.Fatalf("4th event: %+v, want refused with 0 < retry after ≤ 1m", d)
		}
	})
	t.Run("KeysAreIndependent", func(t *testing.T) {
		l := newLimiter(t)
		limit := ratelimit.Limit{Max: 1, Window: time.Minute}
		allow(t, l, "a", limit)
		if d := allow(t, l, "b", limit); !d.Allowed {
			t.Fatalf("other key refused: %+v", d)
		}
		if d := allow(t, l, "a", limit); d.Allowed {
			t.Fatalf("same key allowed twice: %+v", d)
		}
	})
	t.Run("WindowEndResetsTheCount", func(t *testing.T) {
		l := newLimiter(t)
		limit := ratelimit.Limit{Max: 1, Window: 200 * time.Millisecond}
		allow(t, l, "k", limit)
		if d := allow(t, l, "k", limit); d.Allowed {
			t.Fatalf("second event in window allowed: %+v", d)
		}
		time.Sleep(350 * time.Millisecond)
		if d := allow(t, l, "k", limit); !d.Allowed || d.Count != 1 {
			t.Fatalf("event after window: %+v, want allowed with count 1", d)
		}
	})
	t.Run("ConcurrentCallersNeverExceedMax", func(t *testing.T) {
		l := newLimiter(t)
		limit := ratelimit.Limit{Max: 10, Window: time.Minute}
		var mu sync.Mutex
		allowed := 0
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := l.Allow(context.Background(), "k", limit)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if allowed != 10 {
			t.Fatalf("allowed %d of 50 concurrent events, want exactly 10", allowed)
		}
	})
}

func allow(t *testing.T, l ratelimit.Limiter, key string, limit ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, limit)
	if err != nil {
		t.Fatal(fmt.Errorf("Allow(%q): %w", key, err))
	}
	return d
}
