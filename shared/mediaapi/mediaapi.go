// Package mediaapi is the contract between mediasvc and messagesvc, in both
// directions:
//
//   - mediasvc serves PathAttach and PathDetach: messagesvc records that a
//     message carries media (only the uploader's finalized media) and gets
//     back the attachment metadata it stores with the message;
//   - messagesvc serves PathMessageReaders: mediasvc asks whether a user can
//     read any of the messages a media is attached to, before it serves the
//     media to anyone but its uploader.
//
// Every route requires a service token (shared/svcauth). PathAttach and
// PathDetach lie under mediasvc's publicly relayed prefix, so mediasvc
// refuses every caller but messagesvc there; PathMessageReaders lies outside
// every relayed prefix (/internal/v1/messages is relayed,
// /internal/v1/message-readers is not), so only services reach it.
package mediaapi

import "github.com/parleychat/parley/shared/ids"

// Routes on mediasvc's internal listener.
const (
	// PathAttach takes an AttachRequest (POST) and answers AttachResponse.
	PathAttach = "/internal/v1/media/attach"
	// PathDetach takes a DetachRequest (POST) and answers 204.
	PathDetach = "/internal/v1/media/detach"
)

// Routes on messagesvc's internal listener.
const (
	// PathMessageReaders takes a ReadersRequest (POST) and answers
	// ReadersResponse.
	PathMessageReaders = "/internal/v1/message-readers"
)

// MaxMediaIDs bounds the media ids of one attach or detach call (and of
// one message).
const MaxMediaIDs = 32

// MaxReaderMessages bounds the messages of one readers question; a media
// carried by more messages is asked about in several calls.
const MaxReaderMessages = 256

// MessageRef names a message that carries media. Its string form,
// "<conversation_id>/<message_id>", is how mediasvc records it.
type MessageRef struct {
	ConversationID string `json:"conversation_id"`
	MessageID      ids.ID `json:"message_id"`
}

// AttachRequest asks mediasvc to record that Message carries MediaIDs,
// sent by UserID: every media must be UserID's own finalized upload. The
// same request again is a no-op, so a retried send re-attaches safely.
type AttachRequest struct {
	UserID   ids.ID     `json:"user_id"`
	MediaIDs []ids.ID   `json:"media_ids"`
	Message  MessageRef `json:"message"`
}

// DetachRequest drops the reference Message holds on MediaIDs.
type DetachRequest struct {
	MediaIDs []ids.ID   `json:"media_ids"`
	Message  MessageRef `json:"message"`
}

// Attachment is one media's metadata as the wire protocol carries it in a
// message (shared/protocol Attachment).
type Attachment struct {
	ID     ids.ID `json:"id"`
	Mime   string `json:"mime,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Name   string `json:"name,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

// AttachResponse answers AttachRequest with the metadata of each media, in
// the order asked.
type AttachResponse struct {
	Attachments []Attachment `json:"attachments"`
}

// ReadersRequest asks whether UserID can read at least one of Messages,
// each of which carries MediaID (as mediasvc recorded it).
type ReadersRequest struct {
	UserID   ids.ID       `json:"user_id"`
	MediaID  ids.ID       `json:"media_id"`
	Messages []MessageRef `json:"messages"`
}

// ReadersResponse answers ReadersRequest. An explicit answer rather than a
// 404, so a misrouted call can never read as "no" (or "yes").
type ReadersResponse struct {
	CanRead bool `json:"can_read"`
}
