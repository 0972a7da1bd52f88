package authtoken

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleychat/parley/shared/ids"
)

// Defaults for the iss and aud claims.
const (
	DefaultIssuer   = "parley-auth"
	DefaultAudience = "parley"
)

// Algorithm is the only JWS algorithm access tokens use.
const Algorithm = "EdDSA"

// Claims is what a verified access token says.
type Claims struct {
	UserID    ids.ID
	DeviceID  string
	Roles     []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// KeyID names the key that signed the token.
	KeyID string
}

// HasRole reports whether the token grants role.
func (c Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// wireClaims is the JSON form of the claims inside the JWT.
type wireClaims struct {
	jwt.RegisteredClaims
	DeviceID string   `json:"did"`
	Roles    []string `json:"roles,omitempty"`
}

// Grant describes an access token to sign.
type Grant struct {
	UserID   ids.ID
	DeviceID string
	Roles    []string
	Issuer   string
	Audience string
	IssuedAt time.Time
	TTL      time.Duration
}

// Sign returns the signed access token for g, signed by key under kid, and
// the claims it carries. authsvc signs with it; tests of other services use it
// with NewStatic to mint tokens a Verifier accepts.
func Sign(kid string, key ed25519.PrivateKey, g Grant) (string, Claims, error) {
	if kid == "" || len(key) != ed25519.PrivateKeySize {
		return "", Claims{}, errors.New("authtoken: signing key and kid required")
	}
	if g.UserID <= 0 || g.DeviceID == "" || g.TTL <= 0 || g.Issuer == "" || g.Audience == "" {
		return "", Claims{}, fmt.Errorf("authtoken: incomplete grant")
	}
	iat := g.IssuedAt.Truncate(time.Second)
	exp := iat.Add(g.TTL)
	wc := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    g.Issuer,
			Audience:  jwt.ClaimStrings{g.Audience},
			Subject:   g.UserID.String(),
			IssuedAt:  jwt.NewNumericDate(iat),
			NotBefore: jwt.NewNumericDate(iat),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		DeviceID: g.DeviceID,
		Roles:    g.Roles,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, wc)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		return "", Claims{}, fmt.Errorf("authtoken: sign: %w", err)
	}
	return s, Claims{UserID: g.UserID, DeviceID: g.DeviceID, Roles: slices.Clone(g.Roles),
		IssuedAt: iat, ExpiresAt: exp, KeyID: kid}, nil
}
