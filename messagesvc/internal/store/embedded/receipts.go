package embedded

import (
	"bytes"
	"context"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// MarkReceived implements store.Receipts in one transaction: an id gets
// this call's time iff it has none, so newly is exact even under races.
func (s *Store) MarkReceived(ctx context.Context, conv protocol.ConversationID, user ids.ID, msgIDs []ids.ID, at time.Time) ([]ids.ID, error) {
	want := slices.Clone(msgIDs)
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) == 0 {
		return nil, nil
	}
	prefix, u, atMs := convPrefix(string(conv)), be64(int64(user)), be64(at.UnixMilli())
	var newly []ids.ID
	err := s.write(ctx, "write received times", func(tx *bolt.Tx) error {
		newly = newly[:0]
		b := tx.Bucket(bucketReceipts)
		for _, id := range want {
			k := key(prefix, be64(int64(id)), u)
			if b.Get(k) != nil {
				continue
			}
			if err := b.Put(k, atMs); err != nil {
				return err
			}
			newly = append(newly, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Clip(newly), nil
}

// AdvanceRead implements store.Receipts: read and raise in one transaction.
func (s *Store) AdvanceRead(ctx context.Context, user ids.ID, conv protocol.ConversationID, upTo ids.ID, at time.Time) (entity.Watermark, bool, error) {
	if upTo <= 0 {
		return entity.Watermark{}, false, errs.New(errs.InvalidArgument, "advance read: want a positive message id")
	}
	k := key(be64(int64(user)), []byte(conv))
	var after entity.Watermark
	var moved bool
	err := s.write(ctx, "write read watermark", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWatermarks)
		if cur, ok := watermark(b.Get(k)); ok && cur.UpTo >= upTo {
			after, moved = cur, false
			return nil
		}
		after, moved = entity.Watermark{UpTo: upTo, At: time.UnixMilli(at.UnixMilli()).UTC()}, true
		return b.Put(k, key(be64(int64(upTo)), be64(at.UnixMilli())))
	})
	if err != nil {
		return entity.Watermark{}, false, err
	}
	return after, moved, nil
}

func watermark(v []byte) (entity.Watermark, bool) {
	if len(v) != 16 {
		return entity.Watermark{}, false
	}
	return entity.Watermark{UpTo: ids.ID(get64(v[:8])), At: time.UnixMilli(get64(v[8:])).UTC()}, true
}

// ReadWatermark implements store.Receipts.
func (s *Store) ReadWatermark(ctx context.Context, user ids.ID, conv protocol.ConversationID) (entity.Watermark, error) {
	var wm entity.Watermark
	err := s.view(ctx, "read read watermark", func(tx *bolt.Tx) error {
		wm, _ = watermark(tx.Bucket(bucketWatermarks).Get(key(be64(int64(user)), []byte(conv))))
		return nil
	})
	return wm, err
}

// Deliveries implements store.Receipts: a prefix scan per message for its
// recipients, and each recipient's watermark once, in one read transaction.
func (s *Store) Deliveries(ctx context.Context, conv protocol.ConversationID, msgIDs []ids.ID) ([]entity.Delivery, error) {
	want := slices.Clone(msgIDs)
	slices.Sort(want)
	want = slices.Compact(want)
	prefix := convPrefix(string(conv))
	var out []entity.Delivery
	err := s.view(ctx, "read receipts", func(tx *bolt.Tx) error {
		c, marks := tx.Bucket(bucketReceipts).Cursor(), tx.Bucket(bucketWatermarks)
		read := map[ids.ID]entity.Watermark{}
		for _, id := range want {
			p := key(prefix, be64(int64(id)))
			for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(v) == 8; k, v = c.Next() {
				user := ids.ID(get64(k[len(p):]))
				wm, ok := read[user]
				if !ok {
					wm, _ = watermark(marks.Get(key(be64(int64(user)), []byte(conv))))
					read[user] = wm
				}
				d := entity.Delivery{MessageID: id, UserID: user, ReceivedAt: time.UnixMilli(get64(v)).UTC()}
				if wm.UpTo >= id {
					d.ReadAt = wm.At
				}
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}
