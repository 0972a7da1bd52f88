package usecase

import (
	"context"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// Change is one change of a group, written as one unit: the group's new
// state, the member rows put and deleted, and the outbox events, applied
// only if the group is still at version Expect (0: the group must not
// exist yet). The adapter writes the group, members and outbox atomically
// (one bbolt transaction; one conditional batch on the group's Cassandra
// partition) and then the per-user index from the events.
type Change struct {
	Group  entity.Group // Version = Expect + 1
	Expect int64
	Put    []entity.Member
	Delete []ids.ID
	Events []entity.Event
}

// GroupStore keeps groups, members, the per-user index and the outbox.
type GroupStore interface {
	// Apply writes c, or returns entity.ErrConflict when the group is no
	// longer at c.Expect (or already exists, for Expect 0).
	Apply(ctx context.Context, c Change) error
	// Group returns the group, deleted ones included (Deleted set).
	Group(ctx context.Context, id ids.ID) (entity.Group, error)
	// Member returns one member row, entity.ErrNotFound if none.
	Member(ctx context.Context, group, user ids.ID) (entity.Member, error)
	// Members returns members with user ids above after, ascending, at
	// most limit (0: all).
	Members(ctx context.Context, group, after ids.ID, limit int) ([]entity.Member, error)
	// Memberships returns the user's index entries with group ids above
	// after, ascending, at most limit (0: all).
	Memberships(ctx context.Context, user, after ids.ID, limit int) ([]entity.Membership, error)

	// PendingGroups lists groups that may have undelivered events.
	PendingGroups(ctx context.Context, limit int) ([]ids.ID, error)
	// Outbox returns the group's undelivered events, oldest first.
	Outbox(ctx context.Context, group ids.ID) ([]entity.Event, error)
	// SyncMemberships writes the per-user index entries of ev again
	// (idempotent; an older event never undoes a newer one).
	SyncMemberships(ctx context.Context, ev entity.Event) error
	// Ack removes a delivered event from the outbox.
	Ack(ctx context.Context, group, event ids.ID) error
	// PurgeMembers drops the member rows of a deleted group.
	PurgeMembers(ctx context.Context, group ids.ID) error
	// ForgetIfIdle drops the group from the pending list if its outbox is empty.
	ForgetIfIdle(ctx context.Context, group ids.ID) error
}

// LimitStore keeps the platform limits and their audit log.
type LimitStore interface {
	// PlatformLimits returns the stored limits, entity.ErrNotFound if no
	// admin ever set them.
	PlatformLimits(ctx context.Context) (entity.PlatformLimits, error)
	// SetPlatformLimits stores l with its audit entries if the stored
	// version is still expect (0: none stored), else entity.ErrConflict.
	SetPlatformLimits(ctx context.Context, l entity.PlatformLimits, expect int64, audit []entity.AuditEntry) error
	// Audit returns entries with ids below before (0: from the newest),
	// newest first, at most limit.
	Audit(ctx context.Context, before ids.ID, limit int) ([]entity.AuditEntry, error)
}

// Users answers whether accounts exist (authsvc).
type Users interface {
	Exists(ctx context.Context, user ids.ID) (bool, error)
}

// Messages takes group events (messagesvc).
type Messages interface {
	PostGroupEvent(ctx context.Context, ev groupapi.GroupEvent) error
}
