package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis counts in Redis (standalone or Cluster: each key is one Redis key, so
// it lives in one slot), shared by every replica.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter storing its counters under prefix+key.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// allowScript increments the counter and opens the window on the first hit,
// atomically; it also repairs a key that lost its expiry, so a counter can
// never block a key forever. Returns {count, milliseconds left}.
var allowScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	res, err := allowScript.Run(ctx, r.client, []string{r.prefix + key}, l.Window.Milliseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("ratelimit: redis: unexpected reply %v", res)
	}
	return decide(int(res[0]), time.Duration(res[1])*time.Millisecond, l), nil
}

// Ping checks that Redis answers, for the readiness probe.
func (r *Redis) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }
