package cassandra

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
)

// checkShards spreads one hour's checks over this many partitions.
const checkShards = 16

func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

func shardOf(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % checkShards)
}

// ScheduleCheck implements usecase.CheckSchedule. The row lives until
// CheckRetention after it is due.
func (s *Store) ScheduleCheck(ctx context.Context, c entity.Check) error {
	ttl := int(time.Until(c.Due.Add(usecase.CheckRetention)) / time.Second)
	if ttl < 60 {
		ttl = 60
	}
	return s.session.Write(ctx, cqlInsertCheck, s.scope, hourOf(c.Due), shardOf(c.Key), c.Due, string(c.Kind), c.Key, ttl)
}

// DueChecks implements usecase.CheckSchedule: it reads each hour's shards
// from from to to (ordered by due within a shard, not across shards).
func (s *Store) DueChecks(ctx context.Context, from, to time.Time, fn func(entity.Check) error) error {
	for h := hourOf(from); h <= hourOf(to.Add(-time.Millisecond)); h++ {
		for shard := range checkShards {
			if err := s.dueIn(ctx, h, shard, from, to, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) dueIn(ctx context.Context, hour int64, shard int, from, to time.Time, fn func(entity.Check) error) error {
	iter := s.session.Read(ctx, cqlSelectChecks, s.scope, hour, shard, from, to).PageSize(500).Iter()
	sc := iter.Scanner()
	for sc.Next() {
		var c entity.Check
		var kind string
		if err := sc.Scan(&c.Due, &kind, &c.Key); err != nil {
			_ = iter.Close()
			return fmt.Errorf("cassandra: read checks: %w", err)
		}
		c.Due, c.Kind = c.Due.UTC(), entity.CheckKind(kind)
		if err := fn(c); err != nil {
			_ = iter.Close()
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cassandra: read checks: %w", err)
	}
	return nil
}

// CleanupCheckpoint implements usecase.CheckSchedule.
func (s *Store) CleanupCheckpoint(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := s.session.Read(ctx, cqlSelectCP, s.scope).Scan(&t)
	if errors.Is(err, gocql.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("cassandra: read checkpoint: %w", err)
	}
	return utc(t), nil
}

// SetCleanupCheckpoint implements usecase.CheckSchedule; the checks before
// it expire by their TTL.
func (s *Store) SetCleanupCheckpoint(ctx context.Context, t time.Time) error {
	return s.session.Write(ctx, cqlSetCP, s.scope, t)
}

// Limits implements usecase.LimitStore.
func (s *Store) Limits(ctx context.Context) (entity.Limits, error) {
	var m map[string]int64
	err := s.session.Read(ctx, cqlSelectLimits, s.scope).Scan(&m)
	if errors.Is(err, gocql.ErrNotFound) {
		return entity.Limits{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cassandra: read limits: %w", err)
	}
	out := entity.Limits{}
	for k, v := range m {
		out[k] = v
	}
	return out, nil
}

// SetLimits implements usecase.LimitStore; the INSERT replaces the whole map.
func (s *Store) SetLimits(ctx context.Context, l entity.Limits, by ids.ID, at time.Time) error {
	return s.session.Write(ctx, cqlSetLimits, s.scope, map[string]int64(l), at, int64(by))
}
