package usecase

import (
	"context"
	"slices"
	"unicode/utf8"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// GroupEvents turns groupsvc's changes into system messages in the group
// conversation, stored once and fanned out like any group message, and
// drops the cached roster the change made stale.
type GroupEvents struct {
	store  store.Store
	groups Groups
	ids    IDs
	pusher *Pusher
	fanout GroupFanout
}

// NewGroupEvents returns the group-event use case.
func NewGroupEvents(s store.Store, groups Groups, gen IDs, pusher *Pusher, fanout GroupFanout) *GroupEvents {
	return &GroupEvents{store: s, groups: groups, ids: gen, pusher: pusher, fanout: fanout}
}

// Limits of a group event.
const (
	maxEventUsers    = 10_000
	maxEventNameChar = 256
)

var eventKinds = []string{groupapi.EventGroupCreated, groupapi.EventMemberAdded, groupapi.EventMemberRemoved,
	groupapi.EventMemberLeft, groupapi.EventGroupRenamed, groupapi.EventRoleChanged, groupapi.EventGroupUpdated,
	groupapi.EventGroupDeleted}

// eventKeyPrefix scopes an event's idempotency key; the key is claimed in
// the group's name (the group id as "sender"), which no user's sends use.
const eventKeyPrefix = "group-event:"

// Post records ev. The cached roster is dropped first, so from now on the
// group's messages reach only its current members. The system message goes
// to the current members and to ev.Removed, whose inboxes always get it:
// it is the last thing they receive from the group. A retried post with
// the same EventID stores nothing new and answers the original message id.
func (uc *GroupEvents) Post(ctx context.Context, ev groupapi.GroupEvent) (groupapi.GroupEventResult, error) {
	if err := validateEvent(ev); err != nil {
		return groupapi.GroupEventResult{}, err
	}
	conv := ev.Conversation()
	uc.groups.Invalidate(ev.Group, ev.RosterVersion, append(slices.Clone(ev.Users), ev.Removed...))
	msg := entity.Message{ID: uc.ids.Next(), Conversation: conv, SenderID: ev.Actor, Kind: ev.Kind,
		SystemUserIDs: ev.Users, SystemName: ev.Name}
	owner, fresh, err := uc.store.ClaimSend(ctx, ev.Group, DedupKey(conv, eventKeyPrefix+ev.EventID.String()), msg.ID)
	if err != nil {
		return groupapi.GroupEventResult{}, err
	}
	if !fresh {
		prior, err := uc.store.GetMessages(ctx, conv, []ids.ID{owner})
		if err != nil {
			return groupapi.GroupEventResult{}, err
		}
		if len(prior) == 1 {
			return groupapi.GroupEventResult{MessageID: owner}, nil
		}
		msg.ID = owner // the first post stopped midway: finish it
	}
	var members []ids.ID
	roster, err := uc.groups.Roster(ctx, ev.Group)
	switch {
	case errs.Is(err, errs.NotFound): // deleted: only Removed hear of it
	case err != nil:
		return groupapi.GroupEventResult{}, err
	default:
		members = slices.DeleteFunc(memberIDs(roster), func(u ids.ID) bool { return slices.Contains(ev.Removed, u) })
	}
	if ev.Kind == groupapi.EventGroupCreated {
		uc.groups.Invalidate(ev.Group, ev.RosterVersion, members)
	}
	if err := persistGroup(ctx, uc.store, uc.ids, msg, members, uc.fanout.pointerMax(), ev.Removed); err != nil {
		return groupapi.GroupEventResult{}, err
	}
	uc.pusher.GroupMessage(msg, append(members, ev.Removed...), nil)
	return groupapi.GroupEventResult{MessageID: msg.ID}, nil
}

func validateEvent(ev groupapi.GroupEvent) error {
	bad := func(field, why string) error {
		return errs.New(errs.InvalidArgument, field+": "+why).WithDetail("field", field)
	}
	switch {
	case ev.Group <= 0:
		return bad("group", "a group id is required")
	case ev.EventID <= 0:
		return bad("event_id", "an event id is required")
	case !slices.Contains(eventKinds, ev.Kind):
		return bad("kind", "not a group event kind")
	case ev.Actor <= 0:
		return bad("actor", "a user id is required")
	case ev.RosterVersion < 0:
		return bad("roster_version", "must not be negative")
	case len(ev.Users) > maxEventUsers || len(ev.Removed) > maxEventUsers:
		return errs.Newf(errs.InvalidArgument, "users, removed: at most %d each", maxEventUsers).WithDetail("field", "users")
	case !utf8.ValidString(ev.Name) || utf8.RuneCountInString(ev.Name) > maxEventNameChar:
		return bad("name", "valid UTF-8 of at most 256 characters")
	}
	for _, u := range append(slices.Clone(ev.Users), ev.Removed...) {
		if u <= 0 {
			return bad("users", "user ids must be positive")
		}
	}
	return nil
}
