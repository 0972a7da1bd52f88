package usecase

import (
	"context"
	"slices"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Access decides who is in a conversation: the two users of a direct one,
// the current members of a group (asked of groupsvc).
type Access struct {
	users  Users
	groups Groups // nil when groupsvc is not configured
}

// NewAccess returns the membership rules; groups may be nil.
func NewAccess(users Users, groups Groups) *Access { return &Access{users: users, groups: groups} }

// Members returns everyone in conv if user is one of them. A user outside
// the conversation (or removed from the group) learns nothing more than
// not_found.
func (a *Access) Members(ctx context.Context, user ids.ID, conv protocol.ConversationID) ([]ids.ID, error) {
	if low, high, ok := conv.Direct(); ok {
		if user != ids.ID(low) && user != ids.ID(high) {
			return nil, errs.New(errs.NotFound, "no such conversation")
		}
		return []ids.ID{ids.ID(low), ids.ID(high)}, nil
	}
	roster, _, err := a.Group(ctx, user, conv)
	if err != nil {
		return nil, err
	}
	return memberIDs(roster), nil
}

// Group returns the roster of group conversation conv and user's
// membership in it, or not_found when user is not a current member.
func (a *Access) Group(ctx context.Context, user ids.ID, conv protocol.ConversationID) (groupapi.Roster, groupapi.Member, error) {
	group, ok := conv.Group()
	if !ok {
		return groupapi.Roster{}, groupapi.Member{}, errs.New(errs.InvalidArgument, "conversation_id: not a group conversation id").WithDetail("field", "conversation_id")
	}
	if a.groups == nil {
		return groupapi.Roster{}, groupapi.Member{}, errs.New(errs.Unavailable, "group conversations are not available on this server")
	}
	roster, err := a.groups.Roster(ctx, ids.ID(group))
	if errs.Is(err, errs.NotFound) {
		return groupapi.Roster{}, groupapi.Member{}, errs.New(errs.NotFound, "no such conversation")
	}
	if err != nil {
		return groupapi.Roster{}, groupapi.Member{}, err
	}
	i := slices.IndexFunc(roster.Members, func(m groupapi.Member) bool { return m.User == user })
	if i < 0 {
		return groupapi.Roster{}, groupapi.Member{}, errs.New(errs.NotFound, "no such conversation")
	}
	return roster, roster.Members[i], nil
}

func memberIDs(r groupapi.Roster) []ids.ID {
	out := make([]ids.ID, len(r.Members))
	for i, m := range r.Members {
		out[i] = m.User
	}
	return out
}

// Others returns members without user.
func Others(members []ids.ID, user ids.ID) []ids.ID {
	out := make([]ids.ID, 0, len(members))
	for _, m := range members {
		if m != user {
			out = append(out, m)
		}
	}
	return out
}

// checkRecipientsExist refuses a direct conversation with an unknown user,
// so nothing is stored for a recipient who does not exist.
func (a *Access) checkRecipientsExist(ctx context.Context, conv protocol.ConversationID, sender ids.ID) error {
	low, high, ok := conv.Direct()
	if !ok {
		return nil
	}
	other := ids.ID(low)
	if other == sender {
		other = ids.ID(high)
	}
	exists, err := a.users.Exists(ctx, other)
	if err != nil {
		return err
	}
	if !exists {
		return errs.New(errs.NotFound, "no such user").WithDetail("field", "conversation_id")
	}
	return nil
}
