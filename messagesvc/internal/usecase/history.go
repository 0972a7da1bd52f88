package usecase

import (
	"context"

	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// History pages one conversation by message id for its members.
type History struct {
	store  store.Store
	access *Access
	limit  protocol.Limits
}

// NewHistory returns the history use case.
func NewHistory(s store.Store, access *Access, limits protocol.Limits) *History {
	return &History{store: s, access: access, limit: limits}
}

// Page answers a history frame.
func (uc *History) Page(ctx context.Context, user ids.ID, f *protocol.History) (*protocol.HistoryPage, error) {
	if _, err := uc.access.Members(ctx, user, f.ConversationID); err != nil {
		return nil, err
	}
	msgs, more, err := uc.store.History(ctx, f.ConversationID, ids.ID(f.Before), ids.ID(f.After), uc.limit.PageSize(f.Limit))
	if err != nil {
		return nil, err
	}
	page := &protocol.HistoryPage{Header: protocol.Header{ID: f.ID}, ConversationID: f.ConversationID, More: more}
	for _, m := range msgs {
		page.Messages = append(page.Messages, forUser(m, protocol.UserID(user)))
	}
	return page, nil
}
