package authtoken

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
)

// JWK is one public key in a JWK Set, in the RFC 8037 form for Ed25519:
// {"kty":"OKP","crv":"Ed25519","x":"<base64url>","kid":"…","alg":"EdDSA","use":"sig"}.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// JWKSet is the document served at the JWKS endpoint.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// PublicJWK returns the JWK publishing pub under kid.
func PublicJWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
		Kid: kid, Alg: Algorithm, Use: "sig"}
}

// PublicKeys returns the set's usable Ed25519 signing keys by kid. Keys of
// other types or uses are ignored, so a set can grow new key types without
// breaking old verifiers; a malformed Ed25519 key is an error.
func (s JWKSet) PublicKeys() (map[string]ed25519.PublicKey, error) {
	out := make(map[string]ed25519.PublicKey, len(s.Keys))
	for _, k := range s.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || (k.Use != "" && k.Use != "sig") ||
			(k.Alg != "" && k.Alg != Algorithm) {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("authtoken: key %q: malformed Ed25519 x", k.Kid)
		}
		if k.Kid == "" {
			return nil, fmt.Errorf("authtoken: Ed25519 key without kid")
		}
		out[k.Kid] = ed25519.PublicKey(x)
	}
	return out, nil
}

func sortedKeys(m map[string]ed25519.PublicKey) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
