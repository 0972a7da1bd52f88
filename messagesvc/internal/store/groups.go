package store

import (
	"context"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Groups keeps per group conversation the state that replaces per-member
// rows: the head (newest message, newest pulled message) and each member's
// received/read watermarks, one row per member and group.
type Groups interface {
	// TouchGroup raises conv's head to lastMsgID and, with pulled, its
	// LastPullID too. Stored ids only grow: a lower or equal id changes
	// nothing, so concurrent and late calls are safe.
	TouchGroup(ctx context.Context, conv protocol.ConversationID, lastMsgID ids.ID, pulled bool) error
	// GroupHeads returns the heads of convs; a conversation without one is
	// left out.
	GroupHeads(ctx context.Context, convs []protocol.ConversationID) (map[protocol.ConversationID]entity.GroupHead, error)
	// AdvanceMember moves user's mark watermark in conv to upTo at at if
	// upTo is above it, and reports whether this call moved it. A lower or
	// equal upTo changes nothing (repeated and late acks are no-ops).
	AdvanceMember(ctx context.Context, conv protocol.ConversationID, user ids.ID, mark entity.MemberMark, upTo ids.ID, at time.Time) (moved bool, err error)
	// MemberStates returns every member state recorded in conv (any order).
	MemberStates(ctx context.Context, conv protocol.ConversationID) ([]entity.MemberState, error)
}
