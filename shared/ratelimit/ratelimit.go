// Package ratelimit counts events per key in fixed windows: the first event
// for a key opens a window of Limit.Window; up to Limit.Max events are
// allowed in it; later ones are refused with the time until the window ends.
// Memory is the in-process adapter (one replica, embedded mode); Redis shares
// the counts between replicas. Both pass ratelimittest.Run.
package ratelimit

import (
	"context"
	"time"
)

// Limit is at most Max events per Window.
type Limit struct {
	Max    int
	Window time.Duration
}

// Decision is the answer for one event.
type Decision struct {
	Allowed bool
	// Count is the number of events in the current window, this one included.
	Count int
	// RetryAfter is how long until the window ends (when not Allowed).
	RetryAfter time.Duration
}

// Limiter counts an event for key and decides whether it is within limit.
// Implementations are safe for concurrent use; counting is atomic, so
// concurrent callers never both get the last allowed slot.
type Limiter interface {
	Allow(ctx context.Context, key string, limit Limit) (Decision, error)
}

func decide(count int, ttl time.Duration, l Limit) Decision {
	d := Decision{Allowed: count <= l.Max, Count: count}
	if !d.Allowed {
		d.RetryAfter = max(ttl, time.Millisecond)
	}
	return d
}
