// Package entity holds messagesvc's vocabulary: messages, the per-user
// inbox log that drives sync, device cursors, and read/received state. No I/O.
package entity

import (
	"time"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Message is one stored message. It is written once, whatever the number of
// recipients; inboxes hold pointers to it.
type Message struct {
	ID           ids.ID
	Conversation protocol.ConversationID
	SenderID     ids.ID
	// SenderDevice is the device that sent it (not shown to recipients).
	SenderDevice string
	// ClientMsgID is the sender's idempotency key.
	ClientMsgID string
	// Kind is protocol.KindUser or a group event kind (protocol.Kind*).
	Kind        string
	Body        string
	Attachments []Attachment
	// SystemUserIDs and SystemName carry a group event's payload.
	SystemUserIDs []ids.ID
	SystemName    string
}

// Attachment is one media a message carries, with the metadata mediasvc
// returned when the message attached it (only the ID when messagesvc runs
// without mediasvc). Stored with the message, so pushes, sync and history
// show it without asking mediasvc.
type Attachment struct {
	ID     ids.ID
	Mime   string
	Size   int64
	Name   string
	Width  int
	Height int
}

// AttachmentIDs returns the ids of m's attachments.
func (m Message) AttachmentIDs() []ids.ID {
	out := make([]ids.ID, len(m.Attachments))
	for i, a := range m.Attachments {
		out[i] = a.ID
	}
	return out
}

// SentAt is when the message was accepted: its id's time.
func (m Message) SentAt() time.Time { return m.ID.Time() }

// InboxKind says what an inbox entry records.
type InboxKind string

// Inbox entry kinds.
const (
	InboxMessage   InboxKind = "message"    // a message for this user (MessageID in Conversation)
	InboxReceipt   InboxKind = "receipt"    // a receipt about this user's messages
	InboxReadState InboxKind = "read_state" // this user's own read position moved (multi-device sync)
)

// InboxEntry is one event in a user's append-only inbox log. Seq orders the
// log and is the cursor a device resumes from; entries are never deleted,
// they expire (TTL), so reading after a cursor never scans tombstones.
type InboxEntry struct {
	UserID       ids.ID
	Seq          ids.ID
	Kind         InboxKind
	Conversation protocol.ConversationID
	// MessageID is the message (InboxMessage) or the watermark (receipts
	// with UpTo, read states).
	MessageID ids.ID
	// Payload is the encoded receipt or read-state body for those kinds
	// (a protocol.Receipt or protocol.ReadState without envelope); empty for
	// messages, which are read from the message store.
	Payload []byte
}

// Watermark is a monotonic position in a conversation with the time it was
// reached: "read up to UpTo at At".
type Watermark struct {
	UpTo ids.ID
	At   time.Time
}

// Delivery is one recipient's state of one message.
type Delivery struct {
	MessageID  ids.ID
	UserID     ids.ID
	ReceivedAt time.Time // zero: not yet received
	ReadAt     time.Time // zero: not yet read
}

// ConversationSummary is one row of a user's conversation list.
type ConversationSummary struct {
	Conversation  protocol.ConversationID
	LastMessageID ids.ID
}
