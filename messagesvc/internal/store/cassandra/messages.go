package cassandra

import (
	"cmp"
	"context"
	"math"
	"slices"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// PutMessage implements store.Messages: the bounds (if this process has not
// covered the bucket yet), then the row. Rewriting the same message writes
// the same cells, so a retry is a no-op.
func (s *Store) PutMessage(ctx context.Context, m entity.Message) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b := bucketOf(m.ID)
	if err := s.ensureBounds(ctx, m.Conversation, b); err != nil {
		return err
	}
	err := s.query(ctx, s.cql.insertMessage, string(m.Conversation), b, int64(m.ID), unsetInt(int64(m.SenderID)),
		unsetText(m.SenderDevice), unsetText(m.ClientMsgID), unsetText(m.Kind), unsetText(m.Body),
		unsetList(m.AttachmentIDs()), unsetList(m.SystemUserIDs), unsetText(m.SystemName),
		unsetAttachmentInfo(m.Attachments)).Exec()
	return storeErr("write message", err)
}

// GetMessages implements store.Messages with one IN query per bucket.
func (s *Store) GetMessages(ctx context.Context, conv protocol.ConversationID, msgIDs []ids.ID) ([]entity.Message, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var out []entity.Message
	for b, inBucket := range byBucket(msgIDs) {
		found, err := s.scanMessages(conv, s.query(ctx, s.cql.selectMessages, string(conv), b, inBucket))
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	slices.SortFunc(out, func(a, b entity.Message) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// History implements store.Messages. It reads the conversation's bounds,
// then walks buckets from the one holding the cursor towards the first
// (before/newest) or the last (after) bucket, asking each for just the rows
// still missing plus one, the one that tells whether more exist. A page
// costs one read per bucket walked. Empty buckets between the bounds are
// walked too: a page that crosses a year-long silence costs ~37 reads of
// empty partitions; before the first and after the last message, none.
func (s *Store) History(ctx context.Context, conv protocol.ConversationID, before, after ids.ID, limit int) ([]entity.Message, bool, error) {
	if limit <= 0 || before < 0 || after < 0 || (before > 0 && after > 0) {
		return nil, false, errs.New(errs.InvalidArgument, "history: want a positive limit and at most one of before, after")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	bounds, ok, err := s.readBounds(ctx, conv)
	if err != nil || !ok {
		return nil, false, err
	}
	var page []entity.Message
	if after > 0 {
		for b := max(bucketOf(after), bounds.first); b <= bounds.last && len(page) <= limit; b++ {
			rows, err := s.scanMessages(conv, s.query(ctx, s.cql.historyAfter, string(conv), b, int64(after), limit+1-len(page)))
			if err != nil {
				return nil, false, err
			}
			page = append(page, rows...)
		}
	} else {
		upper, start := ids.ID(math.MaxInt64), bounds.last
		if before > 0 {
			upper, start = before, min(bucketOf(before), bounds.last)
		}
		for b := start; b >= bounds.first && len(page) <= limit; b-- {
			rows, err := s.scanMessages(conv, s.query(ctx, s.cql.historyBefore, string(conv), b, int64(upper), limit+1-len(page)))
			if err != nil {
				return nil, false, err
			}
			page = append(page, rows...)
		}
	}
	more := len(page) > limit
	page = page[:min(len(page), limit)]
	if after == 0 {
		slices.Reverse(page) // walked newest first; pages are ascending
	}
	return page, more, nil
}

func (s *Store) scanMessages(conv protocol.ConversationID, q *gocql.Query) ([]entity.Message, error) {
	sc := q.Iter().Scanner()
	var out []entity.Message
	for sc.Next() {
		var id, sender int64
		var attachments, systemUsers []int64
		var info []attachmentUDT
		m := entity.Message{Conversation: conv}
		if err := sc.Scan(&id, &sender, &m.SenderDevice, &m.ClientMsgID, &m.Kind, &m.Body, &attachments,
			&systemUsers, &m.SystemName, &info); err != nil {
			return nil, storeErr("read messages", err)
		}
		m.ID, m.SenderID = ids.ID(id), ids.ID(sender)
		m.Attachments, m.SystemUserIDs = toAttachments(attachments, info), toIDs(systemUsers)
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, storeErr("read messages", err)
	}
	return out, nil
}

func toIDs(v []int64) []ids.ID {
	if len(v) == 0 {
		return nil
	}
	out := make([]ids.ID, len(v))
	for i, x := range v {
		out[i] = ids.ID(x)
	}
	return out
}
