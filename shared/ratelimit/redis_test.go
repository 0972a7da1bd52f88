package ratelimit_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/parleychat/parley/shared/ratelimit"
	"github.com/parleychat/parley/shared/ratelimit/ratelimittest"
	"github.com/parleychat/parley/shared/stackenv"
)

func redisLimiter(t *testing.T, addrs []string) ratelimit.Limiter {
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs})
	t.Cleanup(func() { _ = client.Close() })
	// A fresh prefix per case isolates parallel test runs on the shared server.
	var b [8]byte
	_, _ = rand.Read(b[:])
	return ratelimit.NewRedis(client, "test:ratelimit:"+hex.EncodeToString(b[:])+":")
}

func TestRedisContract(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisAddr)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Limiter {
		return redisLimiter(t, []string{env[stackenv.RedisAddr]})
	})
}

func TestRedisClusterContract(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisClusterAddrs)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Limiter {
		return redisLimiter(t, stackenv.Split(env[stackenv.RedisClusterAddrs]))
	})
}
