package http_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/ratelimit"
)

func TestUploadRate429WithRetryAfterPerUserAcrossBothPaths(t *testing.T) {
	e := newEnv(t, withBackend(minIO), withUploadRate(3, time.Minute))
	alice, bob := newUser(), newUser()
	e.upload(alice, textOf(10), "a.txt")
	e.upload(alice, textOf(11), "b.txt")
	// A presigned upload counts against the same limit.
	check(t, e.createUpload(alice, 12, ""), 201, "")
	r := e.call("POST", "?name=d.txt", as(alice), raw(textOf(13)))
	check(t, r, 429, "rate_limited")
	wait, err := strconv.ParseInt(r.header.Get("Retry-After"), 10, 64)
	if err != nil || wait < 1 || wait > 60 {
		t.Fatalf("Retry-After %q: want 1–60 seconds", r.header.Get("Retry-After"))
	}
	details, _ := r.errField("details").(map[string]any)
	if ms, _ := strconv.ParseInt(details["retry_after_ms"].(string), 10, 64); ms <= 0 || ms > 60_000 {
		t.Fatalf("details %v: want retry_after_ms in (0, 60000]", details)
	}
	if r.errField("retryable") != true {
		t.Fatalf("not retryable: %s", r.raw)
	}
	check(t, e.createUpload(alice, 14, ""), 429, "rate_limited")
	// Other users are not affected; the window's end lifts the limit.
	e.upload(bob, textOf(15), "f.txt")
	e.clock.Add(time.Minute + time.Second)
	e.upload(alice, textOf(16), "g.txt")
}

func TestUploadRateZeroIsUnlimited(t *testing.T) {
	e := newEnv(t)
	alice := newUser()
	for i := range 70 {
		e.upload(alice, textOf(i+1), "x.txt")
	}
}

// downLimiter is a rate limiter whose store (Redis) does not answer.
type downLimiter struct{}

func (downLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("redis: connection refused")
}

func TestUploadRateLimiterDown503RetryableAndNothingStored(t *testing.T) {
	e := newEnv(t, withUploadRate(3, time.Minute), withLimiter(downLimiter{}))
	r := e.call("POST", "?name=a.txt", as(newUser()), raw(textOf(10)))
	check(t, r, 503, "unavailable")
	if r.errField("retryable") != true {
		t.Fatalf("not retryable: %s", r.raw)
	}
	e.meta.mu.Lock()
	defer e.meta.mu.Unlock()
	if len(e.meta.created) != 0 {
		t.Fatalf("records created for a refused upload: %v", e.meta.created)
	}
}
