package entity

import "github.com/parleychat/parley/shared/ids"

// GroupHead is what messagesvc keeps per group conversation instead of a
// row per member per message: its newest message (the conversation list
// sorts by it) and the newest message members must pull because it was
// fanned out without per-member inbox pointers (a large group). Sync reads
// a group only while LastPullID is after the device's position.
type GroupHead struct {
	LastMessageID ids.ID
	LastPullID    ids.ID
}

// MemberMark names one of a member's two watermarks in a group.
type MemberMark string

// The watermarks of a group member.
const (
	MarkReceived MemberMark = "received"
	MarkRead     MemberMark = "read"
)

// MemberState is one member's received and read watermarks in a group:
// "received everything up to Received.UpTo", "read up to Read.UpTo". Group
// receipts are counted from these, never from a row per member per message.
type MemberState struct {
	UserID   ids.ID
	Received Watermark
	Read     Watermark
}

// Has reports whether the member's mark is at or past message.
func (m MemberState) Has(mark MemberMark, message ids.ID) bool {
	if mark == MarkRead {
		return m.Read.UpTo >= message
	}
	// Reading implies having received.
	return m.Received.UpTo >= message || m.Read.UpTo >= message
}
