package entity

import (
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// Store outcomes the use cases act on; adapters return them (wrapped or not).
var (
	// ErrNotFound: no such group, member or record.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the group changed since it was read (its version moved
	// on), or a group with that id already exists; read again and retry.
	ErrConflict = errors.New("concurrent change")
)

// Field bounds, in characters.
const (
	MaxNameChars  = 100
	MaxTopicChars = 500
)

// Roles (the same strings as the groupapi contract).
const (
	RoleOwner  = groupapi.RoleOwner
	RoleAdmin  = groupapi.RoleAdmin
	RoleMember = groupapi.RoleMember
)

// Group is one group's settings and bookkeeping.
type Group struct {
	ID    ids.ID
	Name  string
	Topic string
	// Avatar is a media id (mediasvc), zero for none.
	Avatar ids.ID
	// SizeLimit is the owner's or admins' limit; zero means the platform
	// default. The platform ceiling caps it either way.
	SizeLimit   int
	MemberCount int
	// Version increases with every change of the group; every write is
	// conditional on the version it read, so changes are serialized.
	Version   int64
	CreatedAt time.Time
	CreatedBy ids.ID
	Deleted   bool
}

// Member is one current member of a group.
type Member struct {
	Group    ids.ID
	User     ids.ID
	Role     string
	JoinedAt time.Time
}

// Membership is one group of a user, as the per-user index keeps it.
type Membership struct {
	User     ids.ID
	Group    ids.ID
	Role     string
	JoinedAt time.Time
}

// Membership returns the member as an index entry.
func (m Member) Membership() Membership {
	return Membership{User: m.User, Group: m.Group, Role: m.Role, JoinedAt: m.JoinedAt}
}

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// NormalizeName trims a group name and checks its length and characters.
func NormalizeName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return "", errs.New(errs.InvalidArgument, "name must not be empty").WithDetail("field", "name")
	}
	if err := checkText("name", n, MaxNameChars, false); err != nil {
		return "", err
	}
	return n, nil
}

// NormalizeTopic trims a topic (empty clears it) and checks it.
func NormalizeTopic(topic string) (string, error) {
	t := strings.TrimSpace(topic)
	return t, checkText("topic", t, MaxTopicChars, true)
}

func checkText(field, s string, max int, newlines bool) error {
	if !utf8.ValidString(s) {
		return errs.Newf(errs.InvalidArgument, "%s must be UTF-8", field).WithDetail("field", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return errs.Newf(errs.InvalidArgument, "%s is %d characters, at most %d allowed", field, n, max).
			WithDetail("field", field).WithDetail("max", itoa(max))
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(newlines && r == '\n') {
			return errs.Newf(errs.InvalidArgument, "%s must not contain control characters", field).WithDetail("field", field)
		}
	}
	return nil
}
