package embedded

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// The group buckets are created by the first write that needs them (a
// read of a missing bucket is empty), so older data files open unchanged.
var (
	bucketGroupHeads   = []byte("group_heads")   // conv → last message id | last pull id
	bucketGroupMembers = []byte("group_members") // conv 0x00 | user → received up to | at | read up to | at (unix ms)
)

// TouchGroup implements store.Groups.
func (s *Store) TouchGroup(ctx context.Context, conv protocol.ConversationID, lastMsgID ids.ID, pulled bool) error {
	if lastMsgID <= 0 {
		return errs.New(errs.InvalidArgument, "touch group: want a positive message id")
	}
	return s.write(ctx, "touch group", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketGroupHeads)
		if err != nil {
			return err
		}
		head := groupHead(b.Get([]byte(conv)))
		head.LastMessageID = max(head.LastMessageID, lastMsgID)
		if pulled {
			head.LastPullID = max(head.LastPullID, lastMsgID)
		}
		return b.Put([]byte(conv), key(be64(int64(head.LastMessageID)), be64(int64(head.LastPullID))))
	})
}

func groupHead(v []byte) entity.GroupHead {
	if len(v) != 16 {
		return entity.GroupHead{}
	}
	return entity.GroupHead{LastMessageID: ids.ID(get64(v[:8])), LastPullID: ids.ID(get64(v[8:]))}
}

// GroupHeads implements store.Groups.
func (s *Store) GroupHeads(ctx context.Context, convs []protocol.ConversationID) (map[protocol.ConversationID]entity.GroupHead, error) {
	out := make(map[protocol.ConversationID]entity.GroupHead, len(convs))
	err := s.view(ctx, "read group heads", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroupHeads)
		if b == nil {
			return nil
		}
		for _, c := range convs {
			if v := b.Get([]byte(c)); v != nil {
				out[c] = groupHead(v)
			}
		}
		return nil
	})
	return out, err
}

// AdvanceMember implements store.Groups: read and raise in one transaction.
func (s *Store) AdvanceMember(ctx context.Context, conv protocol.ConversationID, user ids.ID, mark entity.MemberMark, upTo ids.ID, at time.Time) (bool, error) {
	if upTo <= 0 || (mark != entity.MarkReceived && mark != entity.MarkRead) {
		return false, errs.New(errs.InvalidArgument, "advance member: want a positive message id and a known mark")
	}
	k := key(convPrefix(string(conv)), be64(int64(user)))
	var moved bool
	err := s.write(ctx, "write member state", func(tx *bolt.Tx) error {
		moved = false
		b, err := tx.CreateBucketIfNotExists(bucketGroupMembers)
		if err != nil {
			return err
		}
		st := memberState(user, b.Get(k))
		wm := &st.Received
		if mark == entity.MarkRead {
			wm = &st.Read
		}
		if wm.UpTo >= upTo {
			return nil
		}
		*wm = entity.Watermark{UpTo: upTo, At: time.UnixMilli(at.UnixMilli()).UTC()}
		moved = true
		return b.Put(k, key(be64(int64(st.Received.UpTo)), be64(st.Received.At.UnixMilli()),
			be64(int64(st.Read.UpTo)), be64(st.Read.At.UnixMilli())))
	})
	return moved, err
}

func memberState(user ids.ID, v []byte) entity.MemberState {
	st := entity.MemberState{UserID: user}
	if len(v) != 32 {
		return st
	}
	if up := get64(v[:8]); up > 0 {
		st.Received = entity.Watermark{UpTo: ids.ID(up), At: time.UnixMilli(get64(v[8:16])).UTC()}
	}
	if up := get64(v[16:24]); up > 0 {
		st.Read = entity.Watermark{UpTo: ids.ID(up), At: time.UnixMilli(get64(v[24:])).UTC()}
	}
	return st
}

// MemberStates implements store.Groups as one prefix scan.
func (s *Store) MemberStates(ctx context.Context, conv protocol.ConversationID) ([]entity.MemberState, error) {
	prefix := convPrefix(string(conv))
	var out []entity.MemberState
	err := s.view(ctx, "read member states", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroupMembers)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) == len(prefix)+8 {
				out = append(out, memberState(ids.ID(get64(k[len(prefix):])), v))
			}
		}
		return nil
	})
	return out, err
}
