package ratelimit_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/ratelimit"
	"github.com/parleychat/parley/shared/ratelimit/ratelimittest"
)

func TestMemoryContract(t *testing.T) {
	ratelimittest.Run(t, func(*testing.T) ratelimit.Limiter { return ratelimit.NewMemory(nil) })
}

func TestMemorySweepsEndedWindows(t *testing.T) {
	now := time.Unix(0, 0)
	m := ratelimit.NewMemory(func() time.Time { return now })
	for i := range 5000 {
		_, _ = m.Allow(t.Context(), strconv.Itoa(i), ratelimit.Limit{Max: 1, Window: time.Second})
		now = now.Add(10 * time.Millisecond)
	}
	if n := m.Len(); n > 2048 {
		t.Fatalf("%d windows kept, want ended ones swept", n)
	}
}
