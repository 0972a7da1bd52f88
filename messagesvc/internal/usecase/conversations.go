package usecase

import (
	"context"

	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// ConversationItem is one row of a user's conversation list.
type ConversationItem struct {
	ConversationID protocol.ConversationID `json:"conversation_id"`
	LastMessage    *protocol.Message       `json:"last_message,omitempty"`
	// Unread counts messages from others after the read watermark, capped
	// at 100 ("99+").
	Unread   int                `json:"unread"`
	ReadUpTo protocol.MessageID `json:"read_up_to,omitempty"`
}

// Conversations lists a user's conversations, most recent first.
type Conversations struct {
	store    store.Store
	receipts *Receipts
	groups   Groups // nil: direct conversations only (group_conversations.go)
}

// NewConversations returns the conversation list use case.
func NewConversations(s store.Store, receipts *Receipts) *Conversations {
	return &Conversations{store: s, receipts: receipts}
}

// MaxConversationsPage bounds one page of the list.
const MaxConversationsPage = 100

// List returns up to limit conversations with their last message below
// before (0: the newest), each with its unread count.
func (uc *Conversations) List(ctx context.Context, user ids.ID, before ids.ID, limit int) ([]ConversationItem, error) {
	if limit <= 0 || limit > MaxConversationsPage {
		return nil, errs.Newf(errs.InvalidArgument, "limit: want 1..%d", MaxConversationsPage).WithDetail("field", "limit")
	}
	rows, err := uc.store.Conversations(ctx, user, before, limit)
	if err != nil {
		return nil, err
	}
	rows, visibleFrom, err := uc.withGroups(ctx, user, rows, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]ConversationItem, 0, len(rows))
	for _, r := range rows {
		item := ConversationItem{ConversationID: r.Conversation}
		first := visibleFrom[r.Conversation]
		if msgs, err := uc.store.GetMessages(ctx, r.Conversation, []ids.ID{r.LastMessageID}); err != nil {
			return nil, err
		} else if len(msgs) == 1 && msgs[0].ID >= first {
			m := forUser(msgs[0], protocol.UserID(user))
			item.LastMessage = &m
		}
		wm, err := uc.store.ReadWatermark(ctx, user, r.Conversation)
		if err != nil {
			return nil, err
		}
		item.ReadUpTo = protocol.MessageID(wm.UpTo)
		if item.Unread, err = uc.receipts.Unread(ctx, user, r.Conversation, max(wm.UpTo, first-1)); err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, nil
}
