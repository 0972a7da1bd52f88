package embedded

import (
	"bytes"
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// TouchConversation implements store.Conversations. Besides user | conv →
// last id it keeps an index user | last id | conv, moved on every raise, so
// the list is a range scan: on a local B+tree a delete is cheap, unlike
// Cassandra's tombstones.
func (s *Store) TouchConversation(ctx context.Context, user ids.ID, conv protocol.ConversationID, lastMsgID ids.ID) error {
	if lastMsgID <= 0 {
		return errs.New(errs.InvalidArgument, "touch conversation: want a positive message id")
	}
	u := be64(int64(user))
	k := key(u, []byte(conv))
	return s.write(ctx, "touch conversation", func(tx *bolt.Tx) error {
		convs, byLast := tx.Bucket(bucketConvs), tx.Bucket(bucketConvsByLast)
		if v := convs.Get(k); len(v) == 8 {
			if get64(v) >= int64(lastMsgID) {
				return nil
			}
			if err := byLast.Delete(key(u, v, []byte(conv))); err != nil {
				return err
			}
		}
		last := be64(int64(lastMsgID))
		if err := convs.Put(k, last); err != nil {
			return err
		}
		return byLast.Put(key(u, last, []byte(conv)), nil)
	})
}

// Conversations implements store.Conversations as a backwards range scan
// of the index from beforeMsgID (or the user's newest).
func (s *Store) Conversations(ctx context.Context, user ids.ID, beforeMsgID ids.ID, limit int) ([]entity.ConversationSummary, error) {
	if limit <= 0 {
		return nil, errs.New(errs.InvalidArgument, "conversations: want a positive limit")
	}
	u := be64(int64(user))
	upper := binary.BigEndian.AppendUint64(nil, uint64(user)+1) // past the user's keys
	if beforeMsgID > 0 {
		upper = key(u, be64(int64(beforeMsgID)))
	}
	var out []entity.ConversationSummary
	err := s.view(ctx, "read conversations", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketConvsByLast).Cursor()
		k, _ := c.Seek(upper)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, u) && len(out) < limit; k, _ = c.Prev() {
			out = append(out, entity.ConversationSummary{Conversation: protocol.ConversationID(k[16:]),
				LastMessageID: ids.ID(get64(k[8:16]))})
		}
		return nil
	})
	return out, err
}
