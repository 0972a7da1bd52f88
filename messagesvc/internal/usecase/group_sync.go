package usecase

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// SetGroups lets sync pull the messages of large groups (those fanned out
// without inbox pointers); without it sync reads the inbox only.
func (uc *Sync) SetGroups(groups Groups, access *Access) { uc.groups, uc.access = groups, access }

// pulled is one group's messages after a device's position.
type pulled struct {
	msgs []entity.Message
	more bool
}

// pullGroups reads, for every group user is a current member of whose
// newest pulled message is after the position, up to limit of its
// messages after max(position, the member's join, the inbox retention).
// Message ids and inbox positions are both time-ordered ids, so one cursor
// is the device's position in its inbox and in every group at once. The
// membership list only nominates groups: each is checked against the
// roster (dropped at once by a group event), so a removed member pulls
// nothing new even while a stale membership list is cached.
func (uc *Sync) pullGroups(ctx context.Context, user, after ids.ID, now time.Time, limit int) ([]pulled, error) {
	if uc.groups == nil {
		return nil, nil
	}
	ms, err := uc.groups.Memberships(ctx, user)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	convs := make([]protocol.ConversationID, len(ms))
	for i, m := range ms {
		convs[i] = protocol.GroupConversation(protocol.GroupID(m.Group))
	}
	heads, err := uc.store.GroupHeads(ctx, convs)
	if err != nil {
		return nil, err
	}
	from := max(after, ids.FromTime(now.Add(-store.InboxRetention)))
	var out []pulled
	for _, conv := range convs {
		if heads[conv].LastPullID <= from {
			continue
		}
		_, member, err := uc.access.Group(ctx, user, conv)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		msgs, more, err := uc.store.History(ctx, conv, 0, max(from, visibleAfter(member)), limit)
		if err != nil {
			return nil, err
		}
		if len(msgs) > 0 {
			out = append(out, pulled{msgs: msgs, more: more})
		}
	}
	return out, nil
}

// mergePulled merges inbox entries (and whether more follow them) with
// pulled group messages into one page of at most limit events in position
// order (an inbox entry's position is its seq, a pulled message's its id).
// A source with more to read bounds the page at its last position, so
// nothing a later page would find sorts before the page's end. The pulled
// messages become message entries, returned with the messages by id.
func mergePulled(entries []entity.InboxEntry, more bool, groups []pulled, limit int) ([]entity.InboxEntry, bool, map[ids.ID]entity.Message) {
	if len(groups) == 0 {
		return entries, more, nil
	}
	bound := ids.ID(1<<63 - 1)
	if more && len(entries) > 0 {
		bound = entries[len(entries)-1].Seq
	}
	known := map[ids.ID]entity.Message{}
	merged := slices.Clone(entries)
	for _, g := range groups {
		if g.more {
			more = true
			bound = min(bound, g.msgs[len(g.msgs)-1].ID)
		}
		for _, m := range g.msgs {
			known[m.ID] = m
			merged = append(merged, entity.InboxEntry{UserID: 0, Seq: m.ID, Kind: entity.InboxMessage,
				Conversation: m.Conversation, MessageID: m.ID})
		}
	}
	slices.SortStableFunc(merged, func(a, b entity.InboxEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	cut := len(merged)
	for i, e := range merged {
		if e.Seq > bound {
			cut = i
			more = true
			break
		}
	}
	if cut > limit {
		cut, more = limit, true
	}
	return merged[:cut], more, known
}
