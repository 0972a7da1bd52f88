package usecase

import (
	"context"
	"slices"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// DefaultGroupPointerMax is the default largest group whose messages get a
// per-member inbox pointer.
const DefaultGroupPointerMax = 64

// GroupFanout configures how group messages reach their members.
type GroupFanout struct {
	// PointerMax is the largest group (in members) whose messages get one
	// inbox pointer per member. Larger groups get none: members pull the
	// group's messages after their position on sync, so a message costs
	// the same writes whatever the group's size. Zero selects
	// DefaultGroupPointerMax; negative means no pointers at all.
	PointerMax int
}

func (f GroupFanout) pointerMax() int {
	if f.PointerMax == 0 {
		return DefaultGroupPointerMax
	}
	return f.PointerMax
}

// SetGroupFanout sets how group messages are fanned out.
func (uc *SendMessage) SetGroupFanout(f GroupFanout) { uc.fanout = f }

// deliver persists msg for members and queues its push: per member for a
// direct conversation, once for everybody for a group.
func (uc *SendMessage) deliver(ctx context.Context, msg entity.Message, members []ids.ID, from Sender) error {
	if _, ok := msg.Conversation.Group(); !ok {
		entries, err := uc.persist(ctx, msg, members)
		if err != nil {
			return err
		}
		uc.pusher.Message(msg, entries, from)
		return nil
	}
	if err := persistGroup(ctx, uc.store, uc.ids, msg, members, uc.fanout.pointerMax(), nil); err != nil {
		return err
	}
	uc.pusher.GroupMessage(msg, members, &from)
	return nil
}

// persistGroup writes a group message: an inbox pointer per member when
// the group has at most pointerMax members (none otherwise: members pull),
// a pointer for each of extra whatever the size (removed members, who
// no longer pull), the group's head, and last the message itself, which
// therefore means a complete send (as SendMessage.persist). Every write is
// idempotent. Writes per message: the message, the head, and
// min(members, 0 if above pointerMax) + len(extra) pointers.
func persistGroup(ctx context.Context, st store.Store, gen IDs, msg entity.Message, members []ids.ID, pointerMax int, extra []ids.ID) error {
	pulled := len(members) > pointerMax
	targets := slices.Clone(extra)
	if !pulled {
		targets = append(targets, members...)
	}
	if len(targets) > 0 {
		entries := make([]entity.InboxEntry, 0, len(targets))
		for _, u := range uniq(targets) {
			entries = append(entries, entity.InboxEntry{UserID: u, Seq: gen.Next(), Kind: entity.InboxMessage,
				Conversation: msg.Conversation, MessageID: msg.ID})
		}
		if err := st.Append(ctx, entries); err != nil {
			return err
		}
	}
	if err := st.TouchGroup(ctx, msg.Conversation, msg.ID, pulled); err != nil {
		return err
	}
	return st.PutMessage(ctx, msg)
}

// firstVisible is the first message id member may read: the history
// policy is "members see what was sent from the moment they (last)
// joined" (groupapi.Member.Sees).
func firstVisible(m groupapi.Member) ids.ID { return ids.FromTime(time.UnixMilli(m.JoinedAtMs)) }

// visibleAfter is the exclusive lower bound of what member may read.
func visibleAfter(m groupapi.Member) ids.ID { return max(firstVisible(m)-1, 0) }
