package protocol

import "github.com/parleychat/parley/shared/errs"

// Received tells the server that this device has stored the given messages
// of one conversation. It drives "received" receipts to the sender and, with
// Cursor, advances the device's inbox cursor. No reply unless it fails.
type Received struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	MessageIDs     []MessageID    `json:"message_ids"`
	// Cursor, when set, says the device has stored every event up to it.
	Cursor string `json:"cursor,omitempty"`
}

func (*Received) FrameType() string { return TypeReceived }

func (f *Received) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	dst = idsField(dst, "message_ids", f.MessageIDs)
	return optStringField(dst, "cursor", f.Cursor)
}

func (f *Received) Validate(lim Limits) error {
	c := newChecker(f, lim)
	c.conversation(f.ConversationID)
	c.required("message_ids", len(f.MessageIDs) > 0)
	c.overLimit(errs.InvalidArgument, "message_ids", "max_ack_ids", len(f.MessageIDs), lim.MaxAckIDs, "ids")
	checkIDs(&c, "message_ids", f.MessageIDs)
	c.token("cursor", "max_cursor_bytes", f.Cursor, lim.MaxCursorBytes)
	return c.result()
}

// Read moves the user's read watermark in one conversation: every message
// with id <= UpTo is read. Watermarks only move forward; a lower one is
// ignored. No reply unless it fails.
type Read struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	UpTo           MessageID      `json:"up_to"`
}

func (*Read) FrameType() string { return TypeRead }

func (f *Read) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	return idField(dst, "up_to", f.UpTo)
}

func (f *Read) Validate(lim Limits) error {
	c := newChecker(f, lim)
	c.conversation(f.ConversationID)
	c.required("up_to", f.UpTo != 0)
	checkIDs(&c, "up_to", []MessageID{f.UpTo})
	return c.result()
}

// Typing says the user is (Active) or stopped (not Active) typing. Clients
// repeat Active every few seconds while typing; nothing is stored and no
// reply is sent unless it fails.
type Typing struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	Active         bool           `json:"active"`
}

func (*Typing) FrameType() string { return TypeTyping }

func (f *Typing) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	return boolField(dst, "active", f.Active)
}

func (f *Typing) Validate(lim Limits) error {
	c := newChecker(f, lim)
	c.conversation(f.ConversationID)
	return c.result()
}

// Receipt states.
const (
	ReceiptReceived = "received"
	ReceiptRead     = "read"
)

// Receipt tells the sender's devices that their messages were received or
// read. A "received" receipt lists MessageIDs; a "read" receipt carries the
// reader's watermark UpTo. UserID is the member who received or read; it is
// absent when a group receipt only updates Counts.
type Receipt struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	State          string         `json:"state"`
	UserID         UserID         `json:"user_id,omitempty"`
	MessageIDs     []MessageID    `json:"message_ids,omitempty"`
	UpTo           MessageID      `json:"up_to,omitempty"`
	// Counts are group aggregates for the sender's messages this receipt
	// touched: "received by N of M, read by K of M".
	Counts []ReceiptCount `json:"counts,omitempty"`
	AtMs   UnixMillis     `json:"at_ms"`
	Cursor string         `json:"cursor,omitempty"`
}

// ReceiptCount is one message's aggregate in a group. Of counts the members
// other than the sender when the message was sent.
type ReceiptCount struct {
	MessageID MessageID `json:"message_id"`
	Received  int       `json:"received"`
	Read      int       `json:"read"`
	Of        int       `json:"of"`
}

func (*Receipt) FrameType() string { return TypeReceipt }

func (f *Receipt) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	dst = stringField(dst, "state", f.State)
	dst = optIDField(dst, "user_id", f.UserID)
	dst = idsField(dst, "message_ids", f.MessageIDs)
	dst = optIDField(dst, "up_to", f.UpTo)
	dst = objectsField(dst, "counts", f.Counts)
	dst = intField(dst, "at_ms", f.AtMs)
	return optStringField(dst, "cursor", f.Cursor)
}

func (r *ReceiptCount) appendFields(dst []byte) []byte {
	dst = idField(dst, "message_id", r.MessageID)
	dst = intField(dst, "received", r.Received)
	dst = intField(dst, "read", r.Read)
	return intField(dst, "of", r.Of)
}

// ReadState syncs the user's own read position to their other devices: the
// watermark and how many messages remain unread after it.
type ReadState struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	UpTo           MessageID      `json:"up_to"`
	Unread         int            `json:"unread"`
	AtMs           UnixMillis     `json:"at_ms"`
	Cursor         string         `json:"cursor,omitempty"`
}

func (*ReadState) FrameType() string { return TypeReadState }

func (f *ReadState) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	dst = idField(dst, "up_to", f.UpTo)
	dst = intField(dst, "unread", f.Unread)
	dst = intField(dst, "at_ms", f.AtMs)
	return optStringField(dst, "cursor", f.Cursor)
}

// TypingState relays another member's Typing. Show it for TTLMs unless a
// newer TypingState arrives; Active false hides it at once.
type TypingState struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	UserID         UserID         `json:"user_id"`
	Active         bool           `json:"active"`
	TTLMs          int64          `json:"ttl_ms,omitempty"`
}

func (*TypingState) FrameType() string { return TypeTypingState }

func (f *TypingState) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	dst = idField(dst, "user_id", f.UserID)
	dst = boolField(dst, "active", f.Active)
	return optIntField(dst, "ttl_ms", f.TTLMs)
}
