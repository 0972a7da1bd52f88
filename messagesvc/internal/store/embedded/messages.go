package embedded

import (
	"bytes"
	"context"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// PutMessage implements store.Messages. A message already stored is left
// as it is: messages are written once.
func (s *Store) PutMessage(ctx context.Context, m entity.Message) error {
	k := key(convPrefix(string(m.Conversation)), be64(int64(m.ID)))
	v := encode(toMessageRecord(m))
	return s.write(ctx, "write message", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMessages)
		if b.Get(k) != nil {
			return nil
		}
		return b.Put(k, v)
	})
}

// GetMessages implements store.Messages with one point lookup per id.
func (s *Store) GetMessages(ctx context.Context, conv protocol.ConversationID, msgIDs []ids.ID) ([]entity.Message, error) {
	want := slices.Clone(msgIDs)
	slices.Sort(want)
	want = slices.Compact(want)
	prefix := convPrefix(string(conv))
	var out []entity.Message
	err := s.view(ctx, "read messages", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMessages)
		for _, id := range want {
			if v := b.Get(key(prefix, be64(int64(id)))); v != nil {
				r, err := decode[messageRecord](v)
				if err != nil {
					return err
				}
				out = append(out, r.entity(conv, id))
			}
		}
		return nil
	})
	return out, err
}

// History implements store.Messages as one range scan of the
// conversation's keys, from the cursor towards its first (or last)
// message; it reads limit+1 to know whether more exist.
func (s *Store) History(ctx context.Context, conv protocol.ConversationID, before, after ids.ID, limit int) ([]entity.Message, bool, error) {
	if limit <= 0 || before < 0 || after < 0 || (before > 0 && after > 0) {
		return nil, false, errs.New(errs.InvalidArgument, "history: want a positive limit and at most one of before, after")
	}
	prefix := convPrefix(string(conv))
	var page []entity.Message
	err := s.view(ctx, "read history", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMessages).Cursor()
		var k, v []byte
		step := c.Next
		if after > 0 {
			k, v = c.Seek(key(prefix, be64(int64(after)+1)))
		} else {
			upper := ids.ID(math.MaxInt64)
			if before > 0 {
				upper = before
			}
			step = c.Prev
			if k, _ = c.Seek(key(prefix, be64(int64(upper)))); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(page) <= limit; k, v = step() {
			r, err := decode[messageRecord](v)
			if err != nil {
				return err
			}
			page = append(page, r.entity(conv, ids.ID(get64(k[len(prefix):]))))
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	more := len(page) > limit
	page = page[:min(len(page), limit)]
	if after == 0 {
		slices.Reverse(page) // scanned newest first; pages are ascending
	}
	return page, more, nil
}
