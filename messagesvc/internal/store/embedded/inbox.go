package embedded

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// inboxFloor is the lowest live seq at now: an entry expires at its seq
// time + InboxRetention, as the Cassandra adapter's TTL does.
func inboxFloor(now time.Time) ids.ID { return ids.FromTime(now.Add(-store.InboxRetention)) }

// Append implements store.Inbox; an entry already expired is not written.
func (s *Store) Append(ctx context.Context, entries []entity.InboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	type kv struct{ k, v []byte }
	floor := inboxFloor(s.now())
	rows := make([]kv, 0, len(entries))
	for _, e := range entries {
		if e.Seq >= floor {
			rows = append(rows, kv{key(be64(int64(e.UserID)), be64(int64(e.Seq))), encode(toInboxRecord(e))})
		}
	}
	return s.write(ctx, "append to inbox", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInbox)
		for _, r := range rows {
			if err := b.Put(r.k, r.v); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadAfter implements store.Inbox as one range scan of the user's keys
// from after (or the retention start), reading limit+1 to know whether
// more follow. Expired entries the sweeper has not deleted yet are skipped
// by starting above the floor.
func (s *Store) ReadAfter(ctx context.Context, user ids.ID, after ids.ID, limit int) ([]entity.InboxEntry, bool, error) {
	if limit <= 0 || after < 0 {
		return nil, false, errs.New(errs.InvalidArgument, "read inbox: want a positive limit and cursor")
	}
	prefix := be64(int64(user))
	start := max(after+1, inboxFloor(s.now()))
	var out []entity.InboxEntry
	err := s.view(ctx, "read inbox", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketInbox).Cursor()
		for k, v := c.Seek(key(prefix, be64(int64(start)))); k != nil && bytes.HasPrefix(k, prefix) && len(out) <= limit; k, v = c.Next() {
			r, err := decode[inboxRecord](v)
			if err != nil {
				return err
			}
			e := r.entity(user, ids.ID(get64(k[8:])))
			e.Payload = copyBytes(e.Payload)
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}
