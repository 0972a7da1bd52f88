package protocol

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/shared/ids"
)

// Wire id types. Each is an ids.ID (convert freely: MessageID(id),
// ids.ID(m)); distinct types keep a user id from being passed where a message
// id belongs. On the wire each is a decimal string; zero means "absent" and is
// never sent.
type (
	MessageID ids.ID
	UserID    ids.ID
	GroupID   ids.ID
	MediaID   ids.ID
)

func (id MessageID) String() string { return strconv.FormatInt(int64(id), 10) }
func (id UserID) String() string    { return strconv.FormatInt(int64(id), 10) }
func (id GroupID) String() string   { return strconv.FormatInt(int64(id), 10) }
func (id MediaID) String() string   { return strconv.FormatInt(int64(id), 10) }

// MarshalText makes encoding/json write the id as a decimal string.
func (id MessageID) MarshalText() ([]byte, error) { return strconv.AppendInt(nil, int64(id), 10), nil }
func (id UserID) MarshalText() ([]byte, error)    { return strconv.AppendInt(nil, int64(id), 10), nil }
func (id GroupID) MarshalText() ([]byte, error)   { return strconv.AppendInt(nil, int64(id), 10), nil }
func (id MediaID) MarshalText() ([]byte, error)   { return strconv.AppendInt(nil, int64(id), 10), nil }

// UnmarshalJSON accepts a decimal id string. It reports a bad value as a
// *json.UnmarshalTypeError so that the decoder adds the field path to it.
func (id *MessageID) UnmarshalJSON(b []byte) error { return unmarshalID((*int64)(id), b, id) }
func (id *UserID) UnmarshalJSON(b []byte) error    { return unmarshalID((*int64)(id), b, id) }
func (id *GroupID) UnmarshalJSON(b []byte) error   { return unmarshalID((*int64)(id), b, id) }
func (id *MediaID) UnmarshalJSON(b []byte) error   { return unmarshalID((*int64)(id), b, id) }

// idTypes are the types whose decode errors read "want decimal id string".
var idTypes = map[reflect.Type]bool{
	reflect.TypeFor[MessageID](): true,
	reflect.TypeFor[UserID]():    true,
	reflect.TypeFor[GroupID]():   true,
	reflect.TypeFor[MediaID]():   true,
}

func unmarshalID(dst *int64, b []byte, target any) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeOf(target).Elem()}
	}
	if v, ok := parseDigits(b[1 : len(b)-1]); ok {
		*dst = v
		return nil
	}
	if string(b) == `"0"` {
		*dst = 0 // zero is "absent", as the encoder writes an unset required id
		return nil
	}
	// Anything but plain digits goes through ids.Parse, the platform's rule.
	v, err := ids.Parse(string(b[1 : len(b)-1]))
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string " + truncate(string(b), 32), Type: reflect.TypeOf(target).Elem()}
	}
	*dst = int64(v)
	return nil
}

// parseDigits is the allocation-free fast path for a canonical positive id
// (1 to 19 digits, no leading zero, at most MaxInt64).
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 || b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// parseCanonicalID parses an id that must be in canonical form (no sign, no
// leading zeros), for places where the string itself is an identity.
func parseCanonicalID(s string) (int64, bool) { return parseDigits([]byte(s)) }

// UnixMillis is an instant as milliseconds since the Unix epoch, the one time
// encoding of the protocol (a JSON number; exact in JavaScript until the year
// 287396).
type UnixMillis int64

// MillisOf converts t; the zero time becomes 0 (absent).
func MillisOf(t time.Time) UnixMillis {
	if t.IsZero() {
		return 0
	}
	return UnixMillis(t.UnixMilli())
}

// Time returns the instant in UTC.
func (m UnixMillis) Time() time.Time { return time.UnixMilli(int64(m)).UTC() }

// jsonKind names the JSON kind of a raw value for error messages.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number " + truncate(string(b), 24)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
