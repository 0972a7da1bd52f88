package entity

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// RoleAdmin may manage roles and signing keys.
const RoleAdmin = "admin"

// knownRoles are the roles an admin may grant.
var knownRoles = []string{RoleAdmin}

// Account is a user's identity and credentials.
type Account struct {
	ID          ids.ID
	Username    string // normalized: lower case, see NormalizeUsername
	DisplayName string
	// PasswordHash is the PHC-encoded Argon2id hash; it never leaves authsvc.
	PasswordHash      string
	Roles             []string // sorted, no duplicates
	CreatedAt         time.Time
	PasswordChangedAt time.Time
}

// HasRole reports whether the account holds role.
func (a Account) HasRole(role string) bool { return slices.Contains(a.Roles, role) }

// Limits of the account rules.
const (
	UsernameMinLen    = 3
	UsernameMaxLen    = 32
	DisplayNameMaxLen = 64  // runes
	PasswordMinLen    = 10  // runes
	PasswordMaxBytes  = 128 // bytes: bounds the hashing work an attacker can ask for
)

// NormalizeUsername lower-cases s and checks it against the username rule:
// 3–32 characters, a letter first, then letters, digits, '_', '.' or '-'.
// Only ASCII is accepted, before lower-casing too: Unicode case mapping
// would otherwise turn look-alikes ('İ', the Kelvin sign) into ASCII names.
func NormalizeUsername(s string) (string, error) {
	if s == "" {
		return "", errs.New(errs.InvalidArgument, "username is required")
	}
	if len(s) < UsernameMinLen || len(s) > UsernameMaxLen {
		return "", errs.Newf(errs.InvalidArgument, "username must be %d–%d characters", UsernameMinLen, UsernameMaxLen)
	}
	u := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		letter := c >= 'a' && c <= 'z'
		if i == 0 && !letter {
			return "", errs.New(errs.InvalidArgument, "username must start with a letter a–z")
		}
		if !letter && !(c >= '0' && c <= '9') && c != '_' && c != '.' && c != '-' {
			return "", errs.New(errs.InvalidArgument, "username may contain only a–z, 0–9, '_', '.' and '-'")
		}
		u[i] = c
	}
	return string(u), nil
}

// NormalizeDisplayName trims s and checks it: 1–64 characters of valid UTF-8
// without control characters. U+FFFD is refused too: JSON decoding turns
// invalid UTF-8 into it, so it marks a client that sent broken text.
func NormalizeDisplayName(s string) (string, error) {
	return checkName("display_name", s, 1, DisplayNameMaxLen)
}

// NormalizeDeviceName is NormalizeDisplayName for device names, which may be empty.
func NormalizeDeviceName(s string) (string, error) {
	return checkName("device_name", s, 0, DisplayNameMaxLen)
}

func checkName(field, s string, minRunes, maxRunes int) (string, error) {
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return "", errs.Newf(errs.InvalidArgument, "%s is not valid UTF-8", field)
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n < minRunes {
		return "", errs.Newf(errs.InvalidArgument, "%s is required", field)
	}
	if n > maxRunes {
		return "", errs.Newf(errs.InvalidArgument, "%s must be at most %d characters", field, maxRunes)
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return "", errs.Newf(errs.InvalidArgument, "%s must not contain control characters", field)
		}
	}
	return s, nil
}

// CheckPasswordInput checks what every password must satisfy before it is
// hashed, new or presented: present, valid UTF-8 and at most 128 bytes (a
// 4 KiB "password" is refused here, before any hashing work).
func CheckPasswordInput(field, pw string) error {
	if pw == "" {
		return errs.Newf(errs.InvalidArgument, "%s is required", field)
	}
	if len(pw) > PasswordMaxBytes {
		return errs.Newf(errs.InvalidArgument, "%s must be at most %d bytes", field, PasswordMaxBytes)
	}
	if !utf8.ValidString(pw) || strings.ContainsRune(pw, utf8.RuneError) {
		return errs.Newf(errs.InvalidArgument, "%s is not valid UTF-8", field)
	}
	return nil
}

// CheckNewPassword applies the rules for a password being set: the input
// rules, at least 10 characters, and not the username.
func CheckNewPassword(field, pw, username string) error {
	if err := CheckPasswordInput(field, pw); err != nil {
		return err
	}
	if utf8.RuneCountInString(pw) < PasswordMinLen {
		return errs.Newf(errs.InvalidArgument, "%s must be at least %d characters", field, PasswordMinLen)
	}
	if strings.EqualFold(pw, username) {
		return errs.Newf(errs.InvalidArgument, "%s must not be the username", field)
	}
	return nil
}

// NormalizeRoles checks that every role is known and returns them sorted
// without duplicates.
func NormalizeRoles(roles []string) ([]string, error) {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if !slices.Contains(knownRoles, r) {
			return nil, errs.Newf(errs.InvalidArgument, "unknown role %q (known: %s)", r, strings.Join(knownRoles, ", "))
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
