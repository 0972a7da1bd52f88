// Package usecase holds messagesvc's use cases, one file each: send, sync,
// history, typing, receipts and the conversation list.
package usecase

import (
	"context"

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

// Groups answers group membership (groupsvc owns it).
type Groups interface {
	// Members returns the current members of group, or NotFound.
	Members(ctx context.Context, group ids.ID) ([]ids.ID, error)
}

// IDs hands out time-ordered ids.
type IDs interface {
	Next() ids.ID
}
