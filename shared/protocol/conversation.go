package protocol

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
)

// ConversationID names a conversation. Two forms exist:
//
//	d:<low user id>:<high user id>   a 1:1 conversation; low < high
//	g:<group id>                     a group conversation
//
// Ids inside are canonical decimals (no sign, no leading zeros), so equal
// conversations always have equal strings: clients and stores may key by the
// string. The zero value "" means absent.
type ConversationID string

// DirectConversation returns the id of the 1:1 conversation between a and b,
// in either order. A conversation with oneself is not a direct conversation.
func DirectConversation(a, b UserID) (ConversationID, error) {
	if a <= 0 || b <= 0 {
		return "", errors.New("protocol: direct conversation needs two non-zero user ids")
	}
	if a == b {
		return "", errors.New("protocol: direct conversation needs two different users")
	}
	if a > b {
		a, b = b, a
	}
	return ConversationID("d:" + a.String() + ":" + b.String()), nil
}

// GroupConversation returns the id of group g's conversation; g must be non-zero.
func GroupConversation(g GroupID) ConversationID { return ConversationID("g:" + g.String()) }

// ParseConversationID checks s and returns it as a ConversationID.
func ParseConversationID(s string) (ConversationID, error) {
	c := ConversationID(s)
	if !c.Valid() {
		return "", errors.New("protocol: invalid conversation id " + strconv.Quote(truncate(s, 64)))
	}
	return c, nil
}

// Valid reports whether c is in one of the two canonical forms.
func (c ConversationID) Valid() bool {
	if _, _, ok := c.Direct(); ok {
		return true
	}
	_, ok := c.Group()
	return ok
}

// Direct returns the two members of a direct conversation, low id first.
func (c ConversationID) Direct() (low, high UserID, ok bool) {
	rest, found := strings.CutPrefix(string(c), "d:")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, ":")
	if !found {
		return 0, 0, false
	}
	lo, ok1 := parseCanonicalID(a)
	hi, ok2 := parseCanonicalID(b)
	if !ok1 || !ok2 || lo >= hi {
		return 0, 0, false
	}
	return UserID(lo), UserID(hi), true
}

// Group returns the group of a group conversation.
func (c ConversationID) Group() (GroupID, bool) {
	rest, found := strings.CutPrefix(string(c), "g:")
	if !found {
		return 0, false
	}
	g, ok := parseCanonicalID(rest)
	return GroupID(g), ok
}

// IsGroup reports whether c is a valid group conversation id.
func (c ConversationID) IsGroup() bool { _, ok := c.Group(); return ok }

// UnmarshalJSON accepts only valid ids (or "" / null, meaning absent), so a
// decoded frame never holds a malformed conversation id.
func (c *ConversationID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[ConversationID]()}
	}
	// A valid id has no characters that JSON escapes, so an escaped one is invalid.
	s := string(b[1 : len(b)-1])
	if s != "" && !ConversationID(s).Valid() {
		return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(truncate(s, 64)), Type: reflect.TypeFor[ConversationID]()}
	}
	*c = ConversationID(s)
	return nil
}
