package entity

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"time"
)

// SigningKey is an Ed25519 key that signs access tokens. A key is published
// in the JWKS from the moment it is stored, signs from ActivatesAt until a
// newer key activates, and is deleted once every token it signed has expired.
type SigningKey struct {
	ID          string // the JWT "kid": 16 random bytes, base64url
	Private     ed25519.PrivateKey
	CreatedAt   time.Time
	ActivatesAt time.Time
}

// Public returns the key's public half.
func (k SigningKey) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// NewSigningKey generates a key with a random kid.
func NewSigningKey(createdAt, activatesAt time.Time) SigningKey {
	_, priv, _ := ed25519.GenerateKey(rand.Reader) // never fails with crypto/rand
	var kid [16]byte
	_, _ = rand.Read(kid[:])
	return SigningKey{ID: base64.RawURLEncoding.EncodeToString(kid[:]), Private: priv,
		CreatedAt: createdAt, ActivatesAt: activatesAt}
}
