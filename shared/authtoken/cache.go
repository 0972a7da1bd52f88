package authtoken

import (
	"crypto/sha256"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// tokenCache remembers tokens that verified, so a client presenting the same
// access token again (every API call through the gateway) costs a map lookup
// instead of an Ed25519 verification. It is keyed by the SHA-256 of the whole
// token: any change to header, claims or signature is a miss, and the cache
// holds 32 bytes per token instead of the token itself (~500 bytes, for as
// many entries as there are connected clients). A hit is re-checked
// against the clock and the live key set, so expiry and key removal still
// apply. Reads are lock-free (sync.Map); the size is bounded.
type tokenCache struct {
	max      int64
	size     atomic.Int64
	m        sync.Map // sha256(token) → Claims
	sweeping atomic.Bool
}

func newTokenCache(max int) *tokenCache {
	if max <= 0 {
		return nil
	}
	return &tokenCache{max: int64(max)}
}

// get returns the cached claims of token if it is still unexpired at now
// (with leeway) and its key is still trusted.
func (c *tokenCache) get(token string, now time.Time, leeway time.Duration, trusted func(kid string) bool) (Claims, bool) {
	key := sha256.Sum256([]byte(token))
	v, ok := c.m.Load(key)
	if !ok {
		return Claims{}, false
	}
	cl := v.(Claims)
	if !now.Before(cl.ExpiresAt.Add(leeway)) || !trusted(cl.KeyID) {
		if _, loaded := c.m.LoadAndDelete(key); loaded {
			c.size.Add(-1)
		}
		return Claims{}, false
	}
	cl.Roles = slices.Clone(cl.Roles) // callers may change their copy
	return cl, true
}

func (c *tokenCache) put(token string, cl Claims, now time.Time) {
	if c.size.Load() >= c.max {
		c.sweep(now)
	}
	cl.Roles = slices.Clone(cl.Roles)
	if _, loaded := c.m.LoadOrStore(sha256.Sum256([]byte(token)), cl); !loaded {
		c.size.Add(1)
	}
}

// sweep drops expired entries, then arbitrary ones until a quarter of the
// room is free. One goroutine sweeps at a time; the others skip.
func (c *tokenCache) sweep(now time.Time) {
	if !c.sweeping.CompareAndSwap(false, true) {
		return
	}
	defer c.sweeping.Store(false)
	target := c.max * 3 / 4
	c.m.Range(func(k, v any) bool {
		if !now.Before(v.(Claims).ExpiresAt) {
			if _, loaded := c.m.LoadAndDelete(k); loaded {
				c.size.Add(-1)
			}
		}
		return true
	})
	c.m.Range(func(k, _ any) bool {
		if c.size.Load() <= target {
			return false
		}
		if _, loaded := c.m.LoadAndDelete(k); loaded {
			c.size.Add(-1)
		}
		return true
	})
}
