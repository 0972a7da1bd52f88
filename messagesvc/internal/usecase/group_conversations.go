package usecase

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// SetGroups makes the list include the user's groups. Group conversations
// are not kept in each member's list (that would be a write per member per
// message): they come from the user's memberships, each sorted by its
// group's head.
func (uc *Conversations) SetGroups(groups Groups) { uc.groups = groups }

// withGroups merges the user's groups into rows (direct conversations, up
// to limit, below before) and returns the first limit of the merge, most
// recent first, with the first message id the user may see per group.
func (uc *Conversations) withGroups(ctx context.Context, user ids.ID, rows []entity.ConversationSummary, before ids.ID, limit int) ([]entity.ConversationSummary, map[protocol.ConversationID]ids.ID, error) {
	if uc.groups == nil {
		return rows, nil, nil
	}
	ms, err := uc.groups.Memberships(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	// Rows a group conversation had in the list before groups were real
	// are left out: the memberships are the truth.
	rows = slices.DeleteFunc(slices.Clone(rows), func(r entity.ConversationSummary) bool {
		_, ok := r.Conversation.Group()
		return ok
	})
	if len(ms) == 0 {
		return rows, nil, nil
	}
	convs := make([]protocol.ConversationID, len(ms))
	first := make(map[protocol.ConversationID]ids.ID, len(ms))
	for i, m := range ms {
		convs[i] = protocol.GroupConversation(protocol.GroupID(m.Group))
		first[convs[i]] = ids.FromTime(time.UnixMilli(m.JoinedAtMs))
	}
	heads, err := uc.store.GroupHeads(ctx, convs)
	if err != nil {
		return nil, nil, err
	}
	for conv, h := range heads {
		if h.LastMessageID > 0 && (before <= 0 || h.LastMessageID < before) {
			rows = append(rows, entity.ConversationSummary{Conversation: conv, LastMessageID: h.LastMessageID})
		}
	}
	slices.SortFunc(rows, func(a, b entity.ConversationSummary) int {
		return cmp.Or(cmp.Compare(b.LastMessageID, a.LastMessageID), cmp.Compare(a.Conversation, b.Conversation))
	})
	return rows[:min(len(rows), limit)], first, nil
}
