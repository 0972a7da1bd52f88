package usecase

import (
	"context"
	"slices"

	"github.com/parleychat/parley/messagesvc/internal/entity"
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
	before, after := ids.ID(f.Before), ids.ID(f.After)
	var first ids.ID // the first message user may read (groups: since joining)
	if _, ok := f.ConversationID.Group(); ok {
		_, member, err := uc.access.Group(ctx, user, f.ConversationID)
		if err != nil {
			return nil, err
		}
		first = firstVisible(member)
		if after > 0 {
			after = max(after, visibleAfter(member))
		}
	} else if _, err := uc.access.Members(ctx, user, f.ConversationID); err != nil {
		return nil, err
	}
	page := &protocol.HistoryPage{Header: protocol.Header{ID: f.ID}, ConversationID: f.ConversationID}
	if before > 0 && before <= first {
		return page, nil
	}
	msgs, more, err := uc.store.History(ctx, f.ConversationID, before, after, uc.limit.PageSize(f.Limit))
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(msgs, func(m entity.Message) bool { return m.ID >= first }); i != 0 {
		// Paging back reached the join: nothing older is visible.
		if i < 0 {
			i = len(msgs)
		}
		msgs, more = msgs[i:], false
	}
	page.More = more
	for _, m := range msgs {
		page.Messages = append(page.Messages, forUser(m, protocol.UserID(user)))
	}
	return page, nil
}
