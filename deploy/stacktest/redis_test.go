package stacktest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleychat/parley/shared/stackenv"
)

// TestRedisStandalone proves the standalone Redis: SET/GET and a pipeline, under a
// unique key prefix (isolation by prefix, as cluster mode has only DB 0).
func TestRedisStandalone(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisAddr)
	rdb := redis.NewClient(&redis.Options{Addr: env[stackenv.RedisAddr]})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	prefix := uniqueName(t, "stacktest:") + ":"
	t.Cleanup(func() { deleteKeys(t, rdb, prefix+"*") })

	if err := rdb.Set(ctx, prefix+"greeting", "hello", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := rdb.Get(ctx, prefix+"greeting").Result(); err != nil || got != "hello" {
		t.Fatalf("GET = %q, %v; want hello", got, err)
	}
	if _, err := rdb.Get(ctx, prefix+"absent").Result(); err != redis.Nil {
		t.Errorf("GET of a missing key: err = %v, want redis.Nil", err)
	}

	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 5 {
			p.Set(ctx, fmt.Sprintf("%sp%d", prefix, i), i, time.Minute)
		}
		p.Incr(ctx, prefix+"counter")
		p.Incr(ctx, prefix+"counter")
		return nil
	})
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	if n := cmds[len(cmds)-1].(*redis.IntCmd).Val(); n != 2 {
		t.Errorf("counter after two INCR = %d, want 2", n)
	}
	vals, err := rdb.MGet(ctx, prefix+"p0", prefix+"p4").Result()
	if err != nil || fmt.Sprint(vals) != "[0 4]" {
		t.Errorf("MGET = %v, %v; want [0 4]", vals, err)
	}
}

// TestRedisCluster proves the 3-master Redis Cluster through the universal client the
// services use: keys spread over slots, a hash-tagged multi-key MGET, and the
// CROSSSLOT error a multi-key command across slots gets.
func TestRedisCluster(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisClusterAddrs)
	addrs := stackenv.Split(env[stackenv.RedisClusterAddrs])
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("NewUniversalClient with %d addresses returned %T, want *redis.ClusterClient", len(addrs), rdb)
	}
	var masters atomic.Int32 // ForEachMaster calls fn concurrently
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		masters.Add(1)
		return m.Ping(ctx).Err()
	})
	if err != nil || masters.Load() != 3 {
		t.Fatalf("masters: %d reachable, err %v; want 3", masters.Load(), err)
	}

	prefix := uniqueName(t, "stacktest:")
	// Plain keys spread over slots (and so over masters).
	slots := map[int64]bool{}
	for i := range 20 {
		key := fmt.Sprintf("%s:k%d", prefix, i)
		if err := rdb.Set(ctx, key, i, time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		t.Cleanup(func() { rdb.Del(context.Background(), key) })
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatalf("CLUSTER KEYSLOT: %v", err)
		}
		slots[slot] = true
		if got, err := rdb.Get(ctx, key).Int(); err != nil || got != i {
			t.Fatalf("GET %s = %d, %v; want %d", key, got, err, i)
		}
	}
	if len(slots) < 2 {
		t.Errorf("20 keys landed in %d slot(s); want them spread", len(slots))
	}

	// Keys sharing a hash tag live in one slot, so multi-key commands work on them.
	tag := "{" + prefix + ":u42}"
	a, b := tag+":presence", tag+":session"
	t.Cleanup(func() { rdb.Del(context.Background(), a, b) })
	if err := rdb.MSet(ctx, a, "online", b, "s-1").Err(); err != nil {
		t.Fatalf("MSET of hash-tagged keys: %v", err)
	}
	vals, err := rdb.MGet(ctx, a, b).Result()
	if err != nil || fmt.Sprint(vals) != "[online s-1]" {
		t.Fatalf("MGET of hash-tagged keys = %v, %v; want [online s-1]", vals, err)
	}

	// Without a shared tag, the server refuses a multi-key command across slots.
	x, y := prefix+":k0", prefix+":k1"
	if sx, sy := rdb.ClusterKeySlot(ctx, x).Val(), rdb.ClusterKeySlot(ctx, y).Val(); sx == sy {
		t.Fatalf("test keys %s and %s share slot %d; pick others", x, y, sx)
	}
	_, err = rdb.Do(ctx, "MGET", x, y).Result()
	if err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Errorf("raw cross-slot MGET: err = %v, want a CROSSSLOT error", err)
	}
}

// deleteKeys removes the keys matching pattern (SCAN, never KEYS).
func deleteKeys(t *testing.T, rdb *redis.Client, pattern string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, pattern, 100).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("clean up %s: %v", pattern, err)
	}
}
