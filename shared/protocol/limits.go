package protocol

import "fmt"

// Limits bounds what a client may send. The gateway validates every frame
// against its Limits and announces the same values in the welcome frame, so
// a client can check before sending. Zero values reject everything: start
// from DefaultLimits.
type Limits struct {
	// MaxFrameBytes bounds one frame's encoded size (one WebSocket message).
	MaxFrameBytes int `json:"max_frame_bytes"`
	// MaxBodyChars bounds send.body in Unicode code points (not bytes, not
	// UTF-16 units).
	MaxBodyChars int `json:"max_body_chars"`
	// MaxAttachments bounds send.attachment_ids.
	MaxAttachments int `json:"max_attachments"`
	// MaxAckIDs bounds received.message_ids.
	MaxAckIDs int `json:"max_ack_ids"`
	// MaxRequestIDLen bounds the envelope id, in bytes.
	MaxRequestIDLen int `json:"max_request_id_len"`
	// MaxClientMsgIDLen bounds send.client_msg_id, in bytes.
	MaxClientMsgIDLen int `json:"max_client_msg_id_len"`
	// MaxTokenBytes bounds auth.token and refresh.token.
	MaxTokenBytes int `json:"max_token_bytes"`
	// MaxCursorBytes bounds sync and received cursors.
	MaxCursorBytes int `json:"max_cursor_bytes"`
	// MaxPageSize bounds sync.limit and history.limit.
	MaxPageSize int `json:"max_page_size"`
	// DefaultPageSize is used when a sync or history request leaves limit at 0.
	DefaultPageSize int `json:"default_page_size"`
}

// DefaultLimits returns the platform defaults. MaxFrameBytes leaves room for
// a maximal body in which every character is \u-escaped.
func DefaultLimits() Limits {
	return Limits{
		MaxFrameBytes:     64 << 10,
		MaxBodyChars:      4096,
		MaxAttachments:    10,
		MaxAckIDs:         100,
		MaxRequestIDLen:   64,
		MaxClientMsgIDLen: 64,
		MaxTokenBytes:     4096,
		MaxCursorBytes:    256,
		MaxPageSize:       100,
		DefaultPageSize:   50,
	}
}

// Validate reports a configuration that would reject every frame.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"max_frame_bytes", l.MaxFrameBytes}, {"max_body_chars", l.MaxBodyChars},
		{"max_attachments", l.MaxAttachments}, {"max_ack_ids", l.MaxAckIDs},
		{"max_request_id_len", l.MaxRequestIDLen}, {"max_client_msg_id_len", l.MaxClientMsgIDLen},
		{"max_token_bytes", l.MaxTokenBytes}, {"max_cursor_bytes", l.MaxCursorBytes},
		{"max_page_size", l.MaxPageSize}, {"default_page_size", l.DefaultPageSize},
	} {
		if f.v <= 0 {
			return fmt.Errorf("protocol limits: %s = %d, must be positive", f.name, f.v)
		}
	}
	if l.DefaultPageSize > l.MaxPageSize {
		return fmt.Errorf("protocol limits: default_page_size %d above max_page_size %d", l.DefaultPageSize, l.MaxPageSize)
	}
	return nil
}

// PageSize resolves a request's limit: 0 means DefaultPageSize.
func (l Limits) PageSize(requested int) int {
	if requested == 0 {
		return l.DefaultPageSize
	}
	return requested
}

func (l Limits) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"max_frame_bytes":`...)
	dst = appendInt(dst, l.MaxFrameBytes)
	dst = intField(dst, "max_body_chars", l.MaxBodyChars)
	dst = intField(dst, "max_attachments", l.MaxAttachments)
	dst = intField(dst, "max_ack_ids", l.MaxAckIDs)
	dst = intField(dst, "max_request_id_len", l.MaxRequestIDLen)
	dst = intField(dst, "max_client_msg_id_len", l.MaxClientMsgIDLen)
	dst = intField(dst, "max_token_bytes", l.MaxTokenBytes)
	dst = intField(dst, "max_cursor_bytes", l.MaxCursorBytes)
	dst = intField(dst, "max_page_size", l.MaxPageSize)
	dst = intField(dst, "default_page_size", l.DefaultPageSize)
	return append(dst, '}')
}
