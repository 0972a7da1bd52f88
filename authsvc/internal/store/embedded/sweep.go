package embedded

import (
	"bytes"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepBatch bounds one sweeping transaction, so the sweeper never holds the
// write lock for long.
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
			if n, err := s.SweepExpired(time.Now()); err != nil {
				s.logger.Warn("sweeping expired refresh tokens failed", slog.Any("err", err))
			} else if n > 0 {
				s.logger.Debug("swept expired refresh tokens", slog.Int("count", n))
			}
		}
	}
}

// SweepExpired deletes refresh tokens that expired before now (Cassandra
// does this with TTLs) and returns how many it deleted. Used tokens are kept
// until they expire, so reuse is detected for as long as a token could work.
func (s *Store) SweepExpired(now time.Time) (int, error) {
	total := 0
	limit := be64(now.UnixNano())
	for {
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			idx, tokens := tx.Bucket(bucketRefreshExpiry), tx.Bucket(bucketRefresh)
			var expired [][]byte
			c := idx.Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0 && len(expired) < sweepBatch; k, _ = c.Next() {
				expired = append(expired, append([]byte(nil), k...))
			}
			for _, k := range expired {
				if err := idx.Delete(k); err != nil {
					return err
				}
				if err := tokens.Delete(k[8:]); err != nil {
					return err
				}
			}
			n = len(expired)
			return nil
		})
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}
