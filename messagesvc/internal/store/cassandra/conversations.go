package cassandra

import (
	"cmp"
	"context"
	"slices"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// TouchConversation implements store.Conversations with one blind write
// whose write time rises with lastMsgID, so the stored id only grows.
func (s *Store) TouchConversation(ctx context.Context, user ids.ID, conv protocol.ConversationID, lastMsgID ids.ID) error {
	if lastMsgID <= 0 {
		return errs.New(errs.InvalidArgument, "touch conversation: want a positive message id")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := s.query(ctx, s.cql.touchConversation, int64(user), string(conv), int64(lastMsgID), risingMicros(lastMsgID)).Exec()
	return storeErr("touch conversation", err)
}

// Conversations implements store.Conversations. It reads the user's whole
// partition (one row per conversation, paged by the driver) and sorts it:
// the send path pays one blind write per member instead of maintaining a
// sorted index, which would need a read and a delete per touch. Fine for
// thousands of conversations per user.
func (s *Store) Conversations(ctx context.Context, user ids.ID, beforeMsgID ids.ID, limit int) ([]entity.ConversationSummary, error) {
	if limit <= 0 {
		return nil, errs.New(errs.InvalidArgument, "conversations: want a positive limit")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	sc := s.query(ctx, s.cql.selectConversations, int64(user)).Iter().Scanner()
	var all []entity.ConversationSummary
	for sc.Next() {
		var conv string
		var last int64
		if err := sc.Scan(&conv, &last); err != nil {
			return nil, storeErr("read conversations", err)
		}
		if beforeMsgID <= 0 || ids.ID(last) < beforeMsgID {
			all = append(all, entity.ConversationSummary{Conversation: protocol.ConversationID(conv), LastMessageID: ids.ID(last)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, storeErr("read conversations", err)
	}
	slices.SortFunc(all, func(a, b entity.ConversationSummary) int {
		return cmp.Or(cmp.Compare(b.LastMessageID, a.LastMessageID), cmp.Compare(a.Conversation, b.Conversation))
	})
	return all[:min(len(all), limit)], nil
}
