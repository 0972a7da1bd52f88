package protocol

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/shared/errs"
)

// wireHeader is read first to learn the frame type; the id is read with the
// payload. The pointer tells a missing version from a zero one.
type wireHeader struct {
	V    *int   `json:"v"`
	Type string `json:"type"`
}

// Decode reads one client→server frame and validates it against lim.
//
// It rejects, with an *errs.Error: input above lim.MaxFrameBytes
// (payload_too_large), invalid UTF-8, malformed JSON, a version other than
// Version, a missing or unknown type (server→client types included), fields
// of the wrong JSON type, and anything Validate rejects (invalid_argument,
// or payload_too_large for an over-long body). Unknown fields are ignored,
// so clients may send optional fields a newer server understands.
//
// To echo the request id on an error reply, use PeekID.
func Decode(data []byte, lim Limits) (Frame, error) {
	typ, err := decodeHeader(data, lim.MaxFrameBytes)
	if err != nil {
		return nil, err
	}
	f := newClientFrame(typ)
	if f == nil {
		if newServerFrame(typ) != nil {
			return nil, errs.Newf(errs.InvalidArgument, "type: %q is sent by the server only", typ)
		}
		return nil, unknownType(typ)
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, decodeError(typ, err)
	}
	if err := f.Validate(lim); err != nil {
		return nil, err
	}
	return f, nil
}

// DecodeServerFrame reads one server→client frame, for clients and tests. It
// checks the envelope and field types but not limits: the server is trusted.
// A client must skip frames whose type it does not know (the error has code
// invalid_argument and detail "reason":"unknown_type"), because the server
// may add push types within version 1.
func DecodeServerFrame(data []byte) (Frame, error) {
	typ, err := decodeHeader(data, 0)
	if err != nil {
		return nil, err
	}
	f := newServerFrame(typ)
	if f == nil {
		return nil, unknownType(typ)
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, decodeError(typ, err)
	}
	return f, nil
}

// PeekID returns the request id of a frame that failed to decode, or "" when
// there is none fit to echo (unreadable, missing, or itself invalid).
func PeekID(data []byte, lim Limits) string {
	if len(data) > lim.MaxFrameBytes || !utf8.Valid(data) {
		return ""
	}
	var h struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &h) != nil {
		return ""
	}
	c := checker{frame: "frame", lim: lim}
	if c.requestID(h.ID); c.err != nil {
		return ""
	}
	return h.ID
}

// decodeHeader checks size, encoding and envelope and returns the type.
// maxBytes <= 0 means no size limit.
func decodeHeader(data []byte, maxBytes int) (string, error) {
	if maxBytes > 0 && len(data) > maxBytes {
		return "", errs.Newf(errs.PayloadTooLarge, "frame: %d bytes, max %d", len(data), maxBytes).
			WithDetail("limit", "max_frame_bytes").WithDetail("max", strconv.Itoa(maxBytes))
	}
	// encoding/json would silently replace bad bytes with U+FFFD; a client
	// sending them has a bug worth reporting.
	if !utf8.Valid(data) {
		return "", errs.New(errs.InvalidArgument, "frame: invalid UTF-8")
	}
	var h wireHeader
	if err := json.Unmarshal(data, &h); err != nil {
		return "", decodeError("", err)
	}
	switch {
	case h.V == nil:
		return "", errs.New(errs.InvalidArgument, "v: required")
	case *h.V != Version:
		return "", errs.Newf(errs.InvalidArgument, "v: unsupported version %d, want %d", *h.V, Version).
			WithDetail("supported", strconv.Itoa(Version))
	case h.Type == "":
		return "", errs.New(errs.InvalidArgument, "type: required")
	}
	return h.Type, nil
}

func unknownType(typ string) *errs.Error {
	return errs.Newf(errs.InvalidArgument, "type: unknown frame type %s", strconv.Quote(truncate(typ, 32))).
		WithDetail("reason", "unknown_type")
}

// decodeError turns an encoding/json error into a client-facing message.
// typ prefixes field paths ("send.body"); it is empty for the header.
func decodeError(typ string, err error) *errs.Error {
	var syntax *json.SyntaxError
	var mismatch *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errs.Newf(errs.InvalidArgument, "malformed JSON at byte %d: %s", syntax.Offset,
			strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &mismatch):
		if mismatch.Field == "" {
			return errs.Newf(errs.InvalidArgument, "frame: got %s, want a JSON object", mismatch.Value)
		}
		field := mismatch.Field
		if typ != "" {
			field = typ + "." + field
		}
		return errs.Newf(errs.InvalidArgument, "%s: got %s, want %s", field, mismatch.Value, wantName(mismatch.Type)).
			WithDetail("field", field)
	}
	return errs.Newf(errs.InvalidArgument, "malformed frame: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// wantName describes a Go type in JSON terms.
func wantName(t reflect.Type) string {
	if idTypes[t] {
		return "a decimal id string"
	}
	if t == reflect.TypeFor[ConversationID]() {
		return "a conversation id (d:<low user id>:<high user id> or g:<group id>)"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return wantName(t.Elem())
	}
	return t.Kind().String()
}
