// Package messageapi is the contract of messagesvc's internal API for
// other services: receiptsvc's batched acknowledgements.
package messageapi

import (
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
)

// PathReceipts is on messagesvc's internal listener.
const PathReceipts = "/internal/v1/receipts"

// MaxReceiptItems bounds one batch.
const MaxReceiptItems = 1000

// Receipt kinds.
const (
	KindReceived = "received"
	KindRead     = "read"
)

// ReceiptItem is one device's acknowledgement: received message ids (with
// an optional inbox cursor) or a read watermark.
type ReceiptItem struct {
	Kind           string                  `json:"kind"`
	UserID         ids.ID                  `json:"user_id"`
	DeviceID       string                  `json:"device_id"`
	ConversationID protocol.ConversationID `json:"conversation_id"`
	MessageIDs     []ids.ID                `json:"message_ids,omitempty"`
	Cursor         string                  `json:"cursor,omitempty"`
	UpTo           ids.ID                  `json:"up_to,omitempty"`
}

// ReceiptsRequest is a batch of acknowledgements.
type ReceiptsRequest struct {
	Items []ReceiptItem `json:"items"`
}

// ReceiptResult is one item's outcome: Error is nil when it was recorded.
type ReceiptResult struct {
	Error *kit.ErrorPayload `json:"error,omitempty"`
}

// ReceiptsResponse has one result per item, in order.
type ReceiptsResponse struct {
	Results []ReceiptResult `json:"results"`
}
