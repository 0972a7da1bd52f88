package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/stackenv"
)

// redisCPU returns the Redis server's used CPU seconds (user + sys) as
// INFO reports them, so a benchmark can state Redis CPU per lookup.
func redisCPU(ctx context.Context, b *testing.B, rdb redis.UniversalClient) float64 {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

// BenchmarkLookupBatched measures batched lookups of users with one device
// each on one live gateway: users/s, client p99 per batch, Redis CPU per user.
//
//	go test -run x -bench LookupBatched -benchtime 20000x ./router/internal/store/redisstore/
func BenchmarkLookupBatched(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchLookup(b, workers) })
	}
}

func benchLookup(b *testing.B, workers int) {
	env := stackenv.Require(b, stackenv.RedisAddr)
	rdb := redis.NewClient(&redis.Options{Addr: env[stackenv.RedisAddr], PoolSize: 32})
	defer rdb.Close()
	ctx := context.Background()
	r := New(rdb, fmt.Sprintf("bench:%d:", time.Now().UnixNano()))
	if _, err := r.Announce(ctx, entity.Gateway{ID: "gw", Region: "eu", Addr: "127.0.0.1:1"}, time.Hour); err != nil {
		b.Fatal(err)
	}
	const population, batch = 100_000, 100
	users := make([]ids.ID, population)
	conns := make([]entity.Conn, 0, 1000)
	for i := range users {
		users[i] = ids.ID(i + 1)
		conns = append(conns, entity.Conn{UserID: users[i], DeviceID: "d"})
		if len(conns) == cap(conns) {
			if err := r.Attach(ctx, "gw", conns); err != nil {
				b.Fatal(err)
			}
			conns = conns[:0]
		}
	}
	var mu sync.Mutex
	var latencies []time.Duration
	cpu0 := redisCPU(ctx, b, rdb)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := max(1, b.N/workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, per)
			for i := 0; i < per; i++ {
				off := ((w*per + i) * batch) % (population - batch)
				t0 := time.Now()
				got, err := r.Lookup(ctx, users[off:off+batch])
				local = append(local, time.Since(t0))
				if err != nil || len(got) != batch {
					b.Errorf("lookup: %d routes, %v", len(got), err)
					return
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := redisCPU(ctx, b, rdb) - cpu0
	looked := float64(per * workers * batch)
	slices.Sort(latencies)
	b.ReportMetric(looked/elapsed.Seconds(), "users/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs/batch")
	b.ReportMetric(cpu/looked*1e6, "redis-cpu-µs/user")
}
