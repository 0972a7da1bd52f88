// Package store declares messagesvc's storage ports. The Cassandra and
// embedded adapters implement all of them and pass storetest.
//
// Every method is safe for concurrent use and idempotent: a retry after a
// timeout (the write may or may not have happened) leaves the same state.
// Failures of the backing store are *errs.Error with code Unavailable or
// DeadlineExceeded (retryable); a missing thing is NotFound.
package store

import (
	"context"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Dedup maps a sender's client message id to the message it created.
type Dedup interface {
	// ClaimSend records key → candidate unless the key is already claimed.
	// It returns the id that owns the key: candidate and fresh=true for the
	// first claim, the earlier id and fresh=false for a retry. Exactly one of
	// any number of concurrent claims of one key is fresh. Keys are kept for
	// at least DedupTTL.
	ClaimSend(ctx context.Context, sender ids.ID, clientMsgID string, candidate ids.ID) (owner ids.ID, fresh bool, err error)
}

// DedupTTL is how long a client message id stays claimed.
const DedupTTL = 48 * time.Hour

// Messages stores each message once, partitioned by conversation and time
// bucket, newest first.
type Messages interface {
	// PutMessage writes m; writing the same message again is a no-op.
	PutMessage(ctx context.Context, m entity.Message) error
	// GetMessages returns the messages of conv with the given ids, in
	// ascending id order; ids not found are left out.
	GetMessages(ctx context.Context, conv protocol.ConversationID, msgIDs []ids.ID) ([]entity.Message, error)
	// History pages conv by id: with before > 0 the newest messages below
	// before, with after > 0 the oldest above after, with neither the newest.
	// The page is in ascending id order; more says whether further messages
	// exist in the paging direction. Pages cross time buckets; it never scans
	// further back than the conversation's first message.
	History(ctx context.Context, conv protocol.ConversationID, before, after ids.ID, limit int) (page []entity.Message, more bool, err error)
}

// Inbox is each user's append-only event log.
type Inbox interface {
	// Append writes entries (of any users); an entry written twice (same
	// user and seq) stays one entry.
	Append(ctx context.Context, entries []entity.InboxEntry) error
	// ReadAfter returns up to limit entries of user with Seq > after, in
	// ascending Seq order, and whether more follow. Entries older than the
	// inbox retention are gone; after == 0 reads from the retention start.
	ReadAfter(ctx context.Context, user ids.ID, after ids.ID, limit int) (entries []entity.InboxEntry, more bool, err error)
}

// InboxRetention is how long inbox entries live before they expire.
const InboxRetention = 14 * 24 * time.Hour

// Cursors keeps each device's position in its user's inbox.
type Cursors interface {
	// Cursor returns the device's stored position; ok is false for a device
	// never seen.
	Cursor(ctx context.Context, user ids.ID, device string) (seq ids.ID, ok bool, err error)
	// AdvanceCursor moves the position forward; a lower seq never moves it
	// back (concurrent and late calls are safe).
	AdvanceCursor(ctx context.Context, user ids.ID, device string, seq ids.ID) error
}

// Receipts keeps per-recipient received/read times of messages and per-user
// read watermarks.
type Receipts interface {
	// MarkReceived records that user received msgIDs of conv at at. The first
	// time wins: a repeated or late ack never moves a timestamp. It returns
	// the ids whose received time this call set.
	MarkReceived(ctx context.Context, conv protocol.ConversationID, user ids.ID, msgIDs []ids.ID, at time.Time) (newly []ids.ID, err error)
	// AdvanceRead moves user's read watermark in conv to upTo at at, if
	// upTo is above it. It returns the watermark after the call and whether
	// this call moved it. A lower or equal upTo changes nothing.
	AdvanceRead(ctx context.Context, user ids.ID, conv protocol.ConversationID, upTo ids.ID, at time.Time) (after entity.Watermark, moved bool, err error)
	// ReadWatermark returns user's read watermark in conv (zero if none).
	ReadWatermark(ctx context.Context, user ids.ID, conv protocol.ConversationID) (entity.Watermark, error)
	// Deliveries returns the per-recipient state of msgIDs in conv, for the
	// recipients recorded by MarkReceived; a recipient's ReadAt comes from
	// its read watermark (read iff watermark >= message id).
	Deliveries(ctx context.Context, conv protocol.ConversationID, msgIDs []ids.ID) ([]entity.Delivery, error)
}

// Conversations keeps each user's conversation list.
type Conversations interface {
	// TouchConversation records that conv has a message lastMsgID for user;
	// the stored last id only grows.
	TouchConversation(ctx context.Context, user ids.ID, conv protocol.ConversationID, lastMsgID ids.ID) error
	// Conversations lists user's conversations, most recent first, up to
	// limit, starting below beforeMsgID when it is set (paging).
	Conversations(ctx context.Context, user ids.ID, beforeMsgID ids.ID, limit int) ([]entity.ConversationSummary, error)
}

// Store is everything an adapter provides.
type Store interface {
	Dedup
	Messages
	Inbox
	Cursors
	Receipts
	Conversations
	Groups
	Ping(ctx context.Context) error
	Close() error
}
