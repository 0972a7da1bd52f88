// Package svcauth authenticates calls between the platform's services.
//
// A caller signs a short-lived HS256 JWT with the shared internal secret
// (iss = its service name, aud = Audience) and sends it as a bearer token;
// the callee's middleware verifies it. Internal APIs are served only on the
// internal listener, so this is a second wall, not the only one. Several
// secrets may be accepted at once so the secret can rotate without downtime:
// callers sign with the first, callees accept any.
package svcauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Audience is the aud claim of every service token.
const Audience = "parley-internal"

// MinSecretLen is the shortest secret accepted: HS256 wants at least 256 bits.
const MinSecretLen = 32

const tokenTTL = 5 * time.Minute

// ErrUnauthenticated is returned for a missing, malformed, expired or forged token.
var ErrUnauthenticated = errors.New("svcauth: invalid service credentials")

// CheckSecret reports whether secret is long enough to use.
func CheckSecret(secret string) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("internal secret must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	return nil
}

// Signer issues tokens for one calling service, reusing each token until
// shortly before it expires so a hot path signs about once a minute.
type Signer struct {
	service string
	secret  []byte
	now     func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// NewSigner returns a signer for service using secret.
func NewSigner(service, secret string) (*Signer, error) {
	if service == "" {
		return nil, errors.New("svcauth: empty service name")
	}
	if err := CheckSecret(secret); err != nil {
		return nil, err
	}
	return &Signer{service: service, secret: []byte(secret), now: time.Now}, nil
}

// Token returns a valid bearer token for the signer's service.
func (s *Signer) Token() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.token != "" && now.Before(s.renewAt) {
		return s.token, nil
	}
	claims := jwt.RegisteredClaims{
		Issuer:    s.service,
		Audience:  jwt.ClaimStrings{Audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(tokenTTL)),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return "", fmt.Errorf("svcauth: sign: %w", err)
	}
	s.token, s.renewAt = tok, now.Add(tokenTTL-time.Minute)
	return tok, nil
}

// Transport adds the signer's token to every request it carries.
type Transport struct {
	Signer *Signer
	Base   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.Signer.Token()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+tok)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// Verifier checks service tokens.
type Verifier struct {
	secrets [][]byte
	parser  *jwt.Parser
}

// NewVerifier accepts tokens signed with any of secrets (current first).
func NewVerifier(secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("svcauth: no secret")
	}
	v := &Verifier{parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(5*time.Second),
	)}
	for _, s := range secrets {
		if err := CheckSecret(s); err != nil {
			return nil, err
		}
		v.secrets = append(v.secrets, []byte(s))
	}
	return v, nil
}

// Verify returns the calling service's name, or ErrUnauthenticated.
func (v *Verifier) Verify(token string) (string, error) {
	for _, secret := range v.secrets {
		var claims jwt.RegisteredClaims
		_, err := v.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return secret, nil })
		if err == nil && claims.Issuer != "" {
			return claims.Issuer, nil
		}
	}
	return "", ErrUnauthenticated
}

// VerifyRequest verifies the bearer token of r.
func (v *Verifier) VerifyRequest(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "", ErrUnauthenticated
	}
	return v.Verify(tok)
}

type callerKey struct{}

// WithCaller records the verified calling service in ctx.
func WithCaller(ctx context.Context, service string) context.Context {
	return context.WithValue(ctx, callerKey{}, service)
}

// Caller returns the verified calling service recorded by the middleware.
func Caller(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(callerKey{}).(string)
	return s, ok
}
