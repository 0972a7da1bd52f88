package svcauth

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	secretA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	secretB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestVerifyAcceptsOwnTokenAndNamesCaller(t *testing.T) {
	s, _ := NewSigner("messagesvc", secretA)
	v, _ := NewVerifier(secretA)
	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	caller, err := v.Verify(tok)
	if err != nil || caller != "messagesvc" {
		t.Fatalf("Verify = %q, %v", caller, err)
	}
}

func TestVerifyRejectsForgedExpiredAndWrongAlgTokens(t *testing.T) {
	v, _ := NewVerifier(secretA)
	forger, _ := NewSigner("evil", secretB)
	forged, _ := forger.Token()

	expired, _ := NewSigner("old", secretA)
	expired.now = func() time.Time { return time.Now().Add(-time.Hour) }
	old, _ := expired.Token()

	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{
		Issuer: "x", Audience: jwt.ClaimStrings{Audience}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)

	wrongAud, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "x", Audience: jwt.ClaimStrings{"public"}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)),
	}).SignedString([]byte(secretA))

	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "x", Audience: jwt.ClaimStrings{Audience},
	}).SignedString([]byte(secretA))

	for name, tok := range map[string]string{"forged": forged, "expired": old, "alg none": none,
		"wrong audience": wrongAud, "no expiry": noExp, "garbage": "abc.def.ghi", "empty": ""} {
		if _, err := v.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s token: err = %v, want ErrUnauthenticated", name, err)
		}
	}
}

func TestVerifierAcceptsPreviousSecretDuringRotation(t *testing.T) {
	oldSigner, _ := NewSigner("groupsvc", secretB)
	tok, _ := oldSigner.Token()
	v, _ := NewVerifier(secretA, secretB)
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("token signed with previous secret rejected: %v", err)
	}
}

func TestSignerReusesTokenUntilRenewal(t *testing.T) {
	s, _ := NewSigner("a", secretA)
	now := time.Now()
	s.now = func() time.Time { return now }
	t1, _ := s.Token()
	t2, _ := s.Token()
	if t1 != t2 {
		t.Fatal("token re-signed before renewal time")
	}
	now = now.Add(tokenTTL)
	t3, _ := s.Token()
	if t3 == t1 {
		t.Fatal("token not renewed near expiry")
	}
}

func TestShortSecretsAreRejected(t *testing.T) {
	if _, err := NewSigner("a", "short"); err == nil {
		t.Error("signer accepted a short secret")
	}
	if _, err := NewVerifier("short"); err == nil {
		t.Error("verifier accepted a short secret")
	}
}

func TestVerifyRequestNeedsBearerHeader(t *testing.T) {
	s, _ := NewSigner("a", secretA)
	v, _ := NewVerifier(secretA)
	tok, _ := s.Token()
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := v.VerifyRequest(r); err == nil {
		t.Error("request without header accepted")
	}
	r.Header.Set("Authorization", "Basic "+tok)
	if _, err := v.VerifyRequest(r); err == nil {
		t.Error("non-bearer scheme accepted")
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	if caller, err := v.VerifyRequest(r); err != nil || !strings.EqualFold(caller, "a") {
		t.Errorf("bearer request: %q, %v", caller, err)
	}
}
