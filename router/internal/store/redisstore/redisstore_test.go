package redisstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/router/internal/store"
	"github.com/parleychat/parley/router/internal/store/storetest"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/stackenv"
)

var prefixSeq atomic.Int64

// uniquePrefix isolates one test's keys from every other run and test.
func uniquePrefix() string {
	return fmt.Sprintf("test:%d:%d:", time.Now().UnixNano(), prefixSeq.Add(1))
}

func client(t *testing.T, addrs ...string) redis.UniversalClient {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, IsClusterMode: len(addrs) > 1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestRegistryContractOnStandaloneRedis(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisAddr)
	rdb := client(t, env[stackenv.RedisAddr])
	storetest.Run(t, func(*testing.T) store.Registry { return New(rdb, uniquePrefix()) })
}

func TestRegistryContractOnRedisCluster(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisClusterAddrs)
	rdb := client(t, stackenv.Split(env[stackenv.RedisClusterAddrs])...)
	storetest.Run(t, func(*testing.T) store.Registry { return New(rdb, uniquePrefix()) })
}

func TestAnnounceAfterStoreLostItsDataReportsUnknown(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisAddr)
	rdb := client(t, env[stackenv.RedisAddr])
	r := New(rdb, uniquePrefix())
	ctx := context.Background()
	g := entity.Gateway{ID: "gw-a", Region: "eu", Addr: "127.0.0.1:1"}
	if _, err := r.Announce(ctx, g, time.Minute); err != nil {
		t.Fatal(err)
	}
	if known, _ := r.Announce(ctx, g, time.Minute); !known {
		t.Fatal("heartbeat reported unknown")
	}
	// What a Redis restart without persistence looks like to the registry.
	if err := rdb.Del(ctx, r.expKey(), r.infoKey()).Err(); err != nil {
		t.Fatal(err)
	}
	if known, err := r.Announce(ctx, g, time.Minute); err != nil || known {
		t.Fatalf("after data loss: known=%v err=%v, want unknown so the gateway re-attaches", known, err)
	}
}

func TestUnreachableRedisFailsFastWithRetryableError(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	r := New(rdb, "x:")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	checks := map[string]error{
		"lookup": func() error { _, err := r.Lookup(ctx, []ids.ID{1}); return err }(),
		"attach": r.Attach(ctx, "gw", []entity.Conn{{UserID: 1, DeviceID: "d"}}),
		"ping":   r.Ping(ctx),
	}
	_, checks["announce"] = r.Announce(ctx, entity.Gateway{ID: "gw", Region: "eu", Addr: "127.0.0.1:1"}, time.Second)
	for name, err := range checks {
		if errs.CodeOf(err) != errs.Unavailable || !errs.CodeOf(err).Retryable() {
			t.Errorf("%s: err = %v, want retryable unavailable", name, err)
		}
	}
}
