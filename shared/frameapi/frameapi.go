// Package frameapi is the contract between the gateway and the services that
// own client frames (messagesvc for send, sync, history and typing;
// receiptsvc for received and read). The gateway has already decoded and
// validated the frame and verified who sent it; the owner answers with the
// reply frame, or with an error in the shared error body, which the gateway
// turns into an error frame carrying the request's id.
package frameapi

import (
	"encoding/json"

	"github.com/parleychat/parley/shared/ids"
)

// Path is the owner's endpoint on its internal listener.
const Path = "/internal/v1/frames"

// Request carries one client frame and the verified identity of its sender.
// The identity comes from the access token, never from the frame.
type Request struct {
	UserID   ids.ID `json:"user_id"`
	DeviceID string `json:"device_id"`
	// GatewayID names the gateway holding the connection, for logs.
	GatewayID string `json:"gateway_id"`
	// Frame is the client frame exactly as validated by the gateway.
	Frame json.RawMessage `json:"frame"`
}

// Response holds the reply frame, already encoded, with the request's id
// echoed; it is empty for frames that get no reply (received, read, typing).
type Response struct {
	Reply json.RawMessage `json:"reply,omitempty"`
}
