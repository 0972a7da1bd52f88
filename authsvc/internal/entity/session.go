package entity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/parleychat/parley/shared/ids"
)

// Device is one signed-in client of a user (a phone, a browser). Its id is
// stable across sign-ins when the client presents it again, so per-device
// state elsewhere (delivery cursors) survives a sign-out.
type Device struct {
	UserID     ids.ID
	ID         ids.ID
	Name       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// SessionID names the device's current refresh-token family; zero means
	// signed out. Replacing or zeroing it revokes every refresh token of the
	// previous family at once.
	SessionID ids.ID
}

// SignedIn reports whether the device has a live session.
func (d Device) SignedIn() bool { return d.SessionID != 0 }

// RefreshToken is the stored form of a refresh token: only its SHA-256 hash,
// never the token itself.
type RefreshToken struct {
	Hash      []byte // SHA-256 of the token's 32 random bytes
	UserID    ids.ID
	DeviceID  ids.ID
	SessionID ids.ID // the family; valid only while it is the device's SessionID
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Used is set when the token is exchanged; refresh tokens are single-use.
	Used bool
}

// refreshTokenBytes is the entropy of a refresh token.
const refreshTokenBytes = 32

// NewRefreshToken returns a fresh opaque token (32 random bytes, base64url)
// and the hash under which it is stored.
func NewRefreshToken() (token string, hash []byte) {
	var b [refreshTokenBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	sum := sha256.Sum256(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:]), sum[:]
}

// HashRefreshToken returns the storage hash of a presented token, or false
// when it cannot be one of ours.
func HashRefreshToken(token string) ([]byte, bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != refreshTokenBytes {
		return nil, false
	}
	sum := sha256.Sum256(b)
	return sum[:], true
}
