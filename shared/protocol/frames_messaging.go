package protocol

import (
	"strconv"
	"unicode/utf8"

	"github.com/parleychat/parley/shared/errs"
)

// Send posts a message to a conversation. ClientMsgID is the idempotency
// key: a retried send with the same key (from the same user) returns the
// same Ack and never creates a second message. The sender is the session's
// user, never a frame field. The reply is Ack.
type Send struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	ClientMsgID    string         `json:"client_msg_id"`
	Body           string         `json:"body,omitempty"`
	AttachmentIDs  []MediaID      `json:"attachment_ids,omitempty"`
}

func (*Send) FrameType() string { return TypeSend }

func (f *Send) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	dst = stringField(dst, "client_msg_id", f.ClientMsgID)
	dst = optStringField(dst, "body", f.Body)
	return idsField(dst, "attachment_ids", f.AttachmentIDs)
}

func (f *Send) Validate(lim Limits) error {
	c := newChecker(f, lim)
	c.conversation(f.ConversationID)
	c.required("client_msg_id", f.ClientMsgID != "")
	c.token("client_msg_id", "max_client_msg_id_len", f.ClientMsgID, lim.MaxClientMsgIDLen)
	if f.Body == "" && len(f.AttachmentIDs) == 0 {
		c.fail(errs.InvalidArgument, "body", "required unless attachment_ids is set")
	}
	if !utf8.ValidString(f.Body) {
		c.fail(errs.InvalidArgument, "body", "invalid UTF-8")
	}
	// Counting code points is only needed when the byte length could exceed the limit.
	if len(f.Body) > lim.MaxBodyChars {
		c.overLimit(errs.PayloadTooLarge, "body", "max_body_chars", utf8.RuneCountInString(f.Body), lim.MaxBodyChars, "chars")
	}
	c.overLimit(errs.InvalidArgument, "attachment_ids", "max_attachments", len(f.AttachmentIDs), lim.MaxAttachments, "ids")
	checkIDs(&c, "attachment_ids", f.AttachmentIDs)
	if c.err == nil { // the quadratic scan runs only on a bounded list
		for i, a := range f.AttachmentIDs {
			for j := range i {
				if f.AttachmentIDs[j] == a {
					c.fail(errs.InvalidArgument, "attachment_ids["+strconv.Itoa(i)+"]", "duplicate of attachment_ids[%d]", j)
				}
			}
		}
	}
	return c.result()
}

// Ack answers Send once the message is durably stored. A retried Send gets
// the same Ack.
type Ack struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	ClientMsgID    string         `json:"client_msg_id"`
	MessageID      MessageID      `json:"message_id"`
	SentAtMs       UnixMillis     `json:"sent_at_ms"`
}

func (*Ack) FrameType() string { return TypeAck }

func (f *Ack) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	dst = stringField(dst, "client_msg_id", f.ClientMsgID)
	dst = idField(dst, "message_id", f.MessageID)
	return intField(dst, "sent_at_ms", f.SentAtMs)
}

// Message kinds. A user message has a body and/or attachments; the others
// are group events recorded in the conversation, so they sync, page and
// order like any message. Clients show unknown kinds as a generic notice.
const (
	KindUser          = "user"
	KindGroupCreated  = "group_created"  // sender created the group (system.name)
	KindMemberAdded   = "member_added"   // sender added system.user_ids
	KindMemberRemoved = "member_removed" // sender removed system.user_ids
	KindMemberLeft    = "member_left"    // sender left
	KindGroupRenamed  = "group_renamed"  // sender renamed the group to system.name
)

// Message is one stored message, as pushed, synced and paged.
type Message struct {
	MessageID      MessageID      `json:"message_id"`
	ConversationID ConversationID `json:"conversation_id"`
	// SenderID is the author, or for a group event the member who caused it.
	SenderID UserID `json:"sender_id"`
	// ClientMsgID is set only on copies for the sender's own devices, so the
	// sending device can match a push with its pending message.
	ClientMsgID string       `json:"client_msg_id,omitempty"`
	Kind        string       `json:"kind"`
	Body        string       `json:"body,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	System      *SystemEvent `json:"system,omitempty"`
	SentAtMs    UnixMillis   `json:"sent_at_ms"`
}

func (m *Message) appendFields(dst []byte) []byte {
	dst = idField(dst, "message_id", m.MessageID)
	dst = stringField(dst, "conversation_id", string(m.ConversationID))
	dst = idField(dst, "sender_id", m.SenderID)
	dst = optStringField(dst, "client_msg_id", m.ClientMsgID)
	dst = stringField(dst, "kind", m.Kind)
	dst = optStringField(dst, "body", m.Body)
	dst = objectsField(dst, "attachments", m.Attachments)
	if m.System != nil {
		dst = appendObject(appendKey(dst, "system"), m.System)
	}
	return intField(dst, "sent_at_ms", m.SentAtMs)
}

// Attachment is a media object referenced by a message, with the metadata a
// client needs to lay it out before fetching it from the media API.
type Attachment struct {
	ID     MediaID `json:"id"`
	Mime   string  `json:"mime,omitempty"`
	Size   int64   `json:"size,omitempty"` // bytes
	Name   string  `json:"name,omitempty"`
	Width  int     `json:"width,omitempty"` // pixels, images and video
	Height int     `json:"height,omitempty"`
}

func (a *Attachment) appendFields(dst []byte) []byte {
	dst = idField(dst, "id", a.ID)
	dst = optStringField(dst, "mime", a.Mime)
	dst = optIntField(dst, "size", a.Size)
	dst = optStringField(dst, "name", a.Name)
	dst = optIntField(dst, "width", a.Width)
	return optIntField(dst, "height", a.Height)
}

// SystemEvent is the payload of a group event message.
type SystemEvent struct {
	UserIDs []UserID `json:"user_ids,omitempty"` // members added or removed
	Name    string   `json:"name,omitempty"`     // group name after create or rename
}

func (e *SystemEvent) appendFields(dst []byte) []byte {
	dst = idsField(dst, "user_ids", e.UserIDs)
	return optStringField(dst, "name", e.Name)
}

// MessagePush delivers one message live, to every device of every member
// (the sender's other devices included).
type MessagePush struct {
	Header
	Message
	// Cursor is the device's inbox position after this message: store it
	// once the message is stored, and resume from it.
	Cursor string `json:"cursor,omitempty"`
}

func (*MessagePush) FrameType() string { return TypeMessage }

func (f *MessagePush) appendFields(dst []byte) []byte {
	dst = f.Message.appendFields(dst)
	return optStringField(dst, "cursor", f.Cursor)
}

// History pages through one conversation by message id. Before and After
// are exclusive bounds and mutually exclusive; with neither, the newest
// messages are returned. The reply is HistoryPage.
type History struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	Before         MessageID      `json:"before,omitempty"`
	After          MessageID      `json:"after,omitempty"`
	Limit          int            `json:"limit,omitempty"`
}

func (*History) FrameType() string { return TypeHistory }

func (f *History) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	dst = optIDField(dst, "before", f.Before)
	dst = optIDField(dst, "after", f.After)
	return optIntField(dst, "limit", f.Limit)
}

func (f *History) Validate(lim Limits) error {
	c := newChecker(f, lim)
	c.conversation(f.ConversationID)
	if f.Before < 0 || f.After < 0 {
		c.fail(errs.InvalidArgument, "before", "ids must be positive")
	}
	if f.Before != 0 && f.After != 0 {
		c.fail(errs.InvalidArgument, "after", "before and after are mutually exclusive")
	}
	c.pageSize(f.Limit)
	return c.result()
}

// HistoryPage answers History. Messages are in ascending id order whatever
// the direction; More says that older (before, or neither bound) or newer
// (after) messages remain: page on with before = first id or after = last id.
type HistoryPage struct {
	Header
	ConversationID ConversationID `json:"conversation_id"`
	Messages       []Message      `json:"messages,omitempty"`
	More           bool           `json:"more"`
}

func (*HistoryPage) FrameType() string { return TypeHistoryPage }

func (f *HistoryPage) appendFields(dst []byte) []byte {
	dst = stringField(dst, "conversation_id", string(f.ConversationID))
	dst = objectsField(dst, "messages", f.Messages)
	return boolField(dst, "more", f.More)
}
