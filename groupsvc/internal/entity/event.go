package entity

import "github.com/parleychat/parley/shared/groupapi"

// Event is one change waiting in a group's outbox: the GroupEvent posted to
// messagesvc, and the per-user index entries the change writes, so the
// dispatcher can repeat them (idempotently) if the writer died after the
// group's own write.
type Event struct {
	groupapi.GroupEvent
	// Put are the index entries the change adds or updates; the users in
	// Removed lose theirs. For group_deleted, Removed is filled from the
	// roster when the event is dispatched (it can be the whole group).
	Put []Membership `json:"put,omitempty"`
}
