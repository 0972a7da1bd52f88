// Package groupapi is the contract between groupsvc and the services that
// depend on group membership (messagesvc, mediasvc), in both directions:
//
//   - groupsvc serves rosters on its internal listener (PathRoster,
//     PathMember) so messagesvc can check access and fan out;
//   - messagesvc serves PathGroupEvents on its internal listener so groupsvc
//     can post membership and settings changes into the conversation as
//     system messages. The event also tells messagesvc that the roster of
//     the group changed (RosterVersion), so a cached roster is dropped at
//     once: a removed member stops receiving immediately.
//
// Every route requires a service token (shared/svcauth). None of them lives
// under a prefix the gateway relays to the public (/internal/v1/groups,
// /internal/v1/messages, ...): only services may call them.
package groupapi

import (
	"time"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Routes on groupsvc's internal listener.
const (
	// PathRoster answers GET with the group's Roster, or not_found when the
	// group does not exist (or was deleted).
	PathRoster = "/internal/v1/rosters/:group"
	// PathMember answers GET with one current Member, or not_found when the
	// group does not exist or the user is not a current member of it.
	PathMember = "/internal/v1/rosters/:group/members/:user"
	// PathMemberships answers GET with the user's Memberships: every group
	// the user is a current member of (sync of large groups pulls from it).
	PathMemberships = "/internal/v1/memberships/:user"
)

// Routes on messagesvc's internal listener.
const (
	// PathGroupEvents takes a GroupEvent (POST) and answers GroupEventResult.
	PathGroupEvents = "/internal/v1/group-events"
)

// Roles of a group member.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Roster is a group's current membership at one version.
type Roster struct {
	Group ids.ID `json:"group"`
	// Version increases with every membership change of the group; a
	// roster with a higher version replaces a cached one.
	Version int64    `json:"version"`
	Members []Member `json:"members"`
}

// Member is one current member of a group.
type Member struct {
	User ids.ID `json:"user"`
	Role string `json:"role"`
	// JoinedAtMs is when the member (last) joined, in Unix milliseconds.
	JoinedAtMs int64 `json:"joined_at_ms"`
}

// Memberships lists the groups a user is a current member of.
type Memberships struct {
	User   ids.ID       `json:"user"`
	Groups []Membership `json:"groups"`
}

// Membership is one group of a user.
type Membership struct {
	Group      ids.ID `json:"group"`
	Role       string `json:"role"`
	JoinedAtMs int64  `json:"joined_at_ms"`
}

// Sees reports whether the member may read message: the history policy is
// "members see what was sent from the moment they joined", and message ids
// are time-ordered, so the boundary is the first id of the join millisecond.
func (m Member) Sees(message ids.ID) bool {
	return message >= ids.FromTime(time.UnixMilli(m.JoinedAtMs))
}

// Group event kinds, as the Kind of the system message clients see
// (shared/protocol PROTOCOL.md: Message.kind).
const (
	EventGroupCreated  = "group_created"
	EventMemberAdded   = "member_added"
	EventMemberRemoved = "member_removed"
	EventMemberLeft    = "member_left"
	EventGroupRenamed  = "group_renamed"
	EventRoleChanged   = "role_changed"
	EventGroupUpdated  = "group_updated" // topic, avatar or per-group limit
	EventGroupDeleted  = "group_deleted"
)

// GroupEvent is a change groupsvc made, posted to messagesvc so it appears
// in the conversation as a system message (stored once, fanned out like any
// group message) and so messagesvc drops its cached roster.
type GroupEvent struct {
	Group ids.ID `json:"group"`
	// EventID is groupsvc's id for the change: a retried post with the same
	// EventID stores nothing new and answers the original message id.
	EventID ids.ID `json:"event_id"`
	Kind    string `json:"kind"`
	// Actor is the member who caused the change (the sender of the system
	// message).
	Actor ids.ID `json:"actor"`
	// Users are the members added, removed or whose role changed.
	Users []ids.ID `json:"users,omitempty"`
	// Name is the group name after group_created or group_renamed.
	Name string `json:"name,omitempty"`
	// RosterVersion is the roster version after the change.
	RosterVersion int64 `json:"roster_version"`
	// Removed are users who lost access with this change (removed, left,
	// or everyone on group_deleted); messagesvc delivers the event to them
	// too, as the last thing they receive from the group.
	Removed []ids.ID `json:"removed,omitempty"`
}

// GroupEventResult answers a GroupEvent.
type GroupEventResult struct {
	MessageID ids.ID `json:"message_id"`
}

// Conversation is the group's conversation id in messagesvc.
func (e GroupEvent) Conversation() protocol.ConversationID {
	return protocol.GroupConversation(protocol.GroupID(e.Group))
}
