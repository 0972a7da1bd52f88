// Package usecase holds messagesvc's use cases, one file each: send, sync,
// history, typing, receipts and the conversation list.
package usecase

import (
	"context"

	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/routerapi"
)

// Router delivers encoded frames to users' live devices. A failed or
// partial delivery costs nothing: every message is in the inbox already.
type Router interface {
	Deliver(ctx context.Context, items []routerapi.DeliveryItem) ([]routerapi.DeliveryOutcome, error)
}

// Users tells whether accounts exist (authsvc owns them).
type Users interface {
	Exists(ctx context.Context, user ids.ID) (bool, error)
}

// Groups answers group membership (groupsvc owns it, shared/groupapi).
// Implementations may cache; Invalidate drops what a group event changed.
type Groups interface {
	// Roster returns the group's current members, or NotFound.
	Roster(ctx context.Context, group ids.ID) (groupapi.Roster, error)
	// Memberships returns the groups user is a current member of.
	Memberships(ctx context.Context, user ids.ID) ([]groupapi.Membership, error)
	// Invalidate says group's roster changed to version (0: unknown) and
	// with it the memberships of users.
	Invalidate(group ids.ID, version int64, users []ids.ID)
}

// IDs hands out time-ordered ids.
type IDs interface {
	Next() ids.ID
}
