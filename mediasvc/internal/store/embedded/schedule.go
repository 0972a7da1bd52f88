package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// checkKey orders checks by due time: due unix ms (8 bytes) | kind | 0 | key.
func checkKey(c entity.Check) []byte {
	k := be64(c.Due.UnixMilli())
	k = append(k, c.Kind...)
	k = append(k, 0)
	return append(k, c.Key...)
}

func parseCheckKey(k []byte) (entity.Check, error) {
	if len(k) < 10 {
		return entity.Check{}, fmt.Errorf("embedded store: bad check key %x", k)
	}
	kind, key, ok := bytes.Cut(k[8:], []byte{0})
	if !ok {
		return entity.Check{}, fmt.Errorf("embedded store: bad check key %x", k)
	}
	due := time.UnixMilli(int64(binary.BigEndian.Uint64(k[:8]))).UTC()
	return entity.Check{Due: due, Kind: entity.CheckKind(kind), Key: string(key)}, nil
}

// ScheduleCheck implements usecase.CheckSchedule.
func (s *Store) ScheduleCheck(ctx context.Context, c entity.Check) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucketChecks).Put(checkKey(c), nil) })
}

// DueChecks implements usecase.CheckSchedule, in due order. The checks are
// read first and fn runs outside the transaction, so fn may write.
func (s *Store) DueChecks(ctx context.Context, from, to time.Time, fn func(entity.Check) error) error {
	const page = 500
	start := be64(from.UnixMilli())
	end := be64(to.UnixMilli())
	for {
		var batch []entity.Check
		var next []byte
		err := s.view(ctx, func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketChecks).Cursor()
			for k, _ := c.Seek(start); k != nil && bytes.Compare(k[:8], end) < 0; k, _ = c.Next() {
				if len(batch) == page {
					next = append([]byte(nil), k...)
					return nil
				}
				chk, err := parseCheckKey(k)
				if err != nil {
					return err
				}
				batch = append(batch, chk)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range batch {
			if err := fn(c); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		start = next
	}
}

// CleanupCheckpoint implements usecase.CheckSchedule.
func (s *Store) CleanupCheckpoint(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyCheckpoint); len(v) == 8 {
			t = time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC()
		}
		return nil
	})
	return t, err
}

// SetCleanupCheckpoint implements usecase.CheckSchedule; it also deletes
// the checks due before t (a bbolt delete leaves no tombstone behind).
func (s *Store) SetCleanupCheckpoint(ctx context.Context, t time.Time) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Put(keyCheckpoint, be64(t.UnixMilli())); err != nil {
			return err
		}
		c := tx.Bucket(bucketChecks).Cursor()
		end := be64(t.UnixMilli())
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], end) < 0; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Limits implements usecase.LimitStore.
func (s *Store) Limits(ctx context.Context) (entity.Limits, error) {
	out := entity.Limits{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyLimits)
		if v == nil {
			return nil
		}
		r, err := decode[limitsRecord](v)
		for t, n := range r.Limits {
			out[t] = n
		}
		return err
	})
	return out, err
}

// SetLimits implements usecase.LimitStore.
func (s *Store) SetLimits(ctx context.Context, l entity.Limits, by ids.ID, at time.Time) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyLimits, encode(limitsRecord{Limits: l, UpdatedAt: at, UpdatedBy: int64(by)}))
	})
}
