package embedded

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepBatch bounds one sweeping transaction, so the sweeper never holds
// the write lock for long.
const sweepBatch = 1000

func (s *Store) sweepLoop(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if n, err := s.SweepExpired(s.now()); err != nil {
				s.logger.Warn("sweeping expired inbox entries and dedup keys failed", slog.Any("err", err))
			} else if n > 0 {
				s.logger.Debug("swept expired inbox entries and dedup keys", slog.Int("count", n))
			}
		}
	}
}

// SweepExpired deletes inbox entries and dedup claims that expired before
// now (Cassandra does this with TTLs) and returns how many it deleted.
// Reads already ignore them; this only returns their space.
func (s *Store) SweepExpired(now time.Time) (int, error) {
	total := 0
	for _, sweep := range []func(time.Time, []byte) (int, []byte, error){s.sweepInbox, s.sweepDedup} {
		var from []byte
		for {
			n, next, err := sweep(now, from)
			total += n
			if err != nil {
				return total, err
			}
			if next == nil {
				break
			}
			from = next
		}
	}
	return total, nil
}

// sweepInbox deletes, per user from the key from on, the entries below the
// floor: a seek to each user's first key, then on to the next user, so it
// reads only what it deletes plus one key per user. It returns where to
// continue, nil when done.
func (s *Store) sweepInbox(now time.Time, from []byte) (int, []byte, error) {
	floor := be64(int64(inboxFloor(now)))
	n := 0
	var next []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		n, next = 0, nil
		c := tx.Bucket(bucketInbox).Cursor()
		for k, _ := c.Seek(from); k != nil; {
			user := copyBytes(k[:8])
			if bytes.Compare(k[8:], floor) < 0 { // the user's oldest entry expired
				if n == sweepBatch {
					next = copyBytes(k)
					return nil
				}
				if err := c.Delete(); err != nil {
					return err
				}
				n++
				k, _ = c.Seek(user) // the user's next oldest
				continue
			}
			u := binary.BigEndian.Uint64(user) // the rest of this user's entries are live
			if u == ^uint64(0) {
				return nil
			}
			k, _ = c.Seek(binary.BigEndian.AppendUint64(nil, u+1))
		}
		return nil
	})
	return n, next, err
}

// sweepDedup deletes claims whose expiry (the index key's prefix) passed.
func (s *Store) sweepDedup(now time.Time, _ []byte) (int, []byte, error) {
	limit := be64(now.UnixMilli())
	var n int
	err := s.db.Update(func(tx *bolt.Tx) error {
		idx, claims := tx.Bucket(bucketDedupExpiry), tx.Bucket(bucketDedup)
		var expired [][]byte
		c := idx.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) <= 0 && len(expired) < sweepBatch; k, _ = c.Next() {
			expired = append(expired, copyBytes(k))
		}
		for _, k := range expired {
			if err := idx.Delete(k); err != nil {
				return err
			}
			if err := claims.Delete(k[8:]); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	if err != nil || n < sweepBatch {
		return n, nil, err
	}
	return n, []byte{}, nil
}
