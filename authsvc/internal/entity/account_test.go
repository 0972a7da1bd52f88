package entity

import (
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/shared/errs"
)

func TestNormalizeUsername(t *testing.T) {
	for in, want := range map[string]string{"Alice": "alice", "bob_1.x-y": "bob_1.x-y", "abc": "abc",
		strings.Repeat("a", 32): strings.Repeat("a", 32)} {
		if got, err := NormalizeUsername(in); err != nil || got != want {
			t.Errorf("%q → %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ab", strings.Repeat("a", 33), "1abc", "_abc", "al ice", "alice!", "ålice",
		"al\xffice", "a\u0130bc", "\u212Aelvin", strings.Repeat("a", 1000)} {
		if _, err := NormalizeUsername(in); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("%q accepted (%v)", in, err)
		}
	}
}

func TestNormalizeDisplayName(t *testing.T) {
	if got, err := NormalizeDisplayName("  Zoë 🚀  "); err != nil || got != "Zoë 🚀" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := NormalizeDisplayName(strings.Repeat("é", 64)); err != nil {
		t.Fatalf("64 runes rejected: %v", err)
	}
	for _, in := range []string{"", "   ", strings.Repeat("é", 65), "tab\there", "nul\x00", "bad\xff", "repl\uFFFD"} {
		if _, err := NormalizeDisplayName(in); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("%q accepted", in)
		}
	}
	if got, err := NormalizeDeviceName(""); err != nil || got != "" {
		t.Fatalf("empty device name: %q, %v", got, err)
	}
}

func TestCheckNewPassword(t *testing.T) {
	if err := CheckNewPassword("password", "ten chars!", "alice"); err != nil {
		t.Fatalf("10 chars rejected: %v", err)
	}
	if err := CheckNewPassword("password", "éééééééééé", "alice"); err != nil {
		t.Fatalf("10 runes (20 bytes) rejected: %v", err)
	}
	for name, pw := range map[string]string{
		"empty": "", "9 chars": "nine char", "is username": "AliceAlice", "129 bytes": strings.Repeat("p", 129),
		"4 KiB": strings.Repeat("p", 4096), "invalid UTF-8": "password\xff!!", "replacement char": "password\uFFFD!!",
	} {
		if err := CheckNewPassword("password", pw, "alicealice"); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("%s accepted", name)
		}
	}
	if err := CheckNewPassword("password", strings.Repeat("p", 128), "alice"); err != nil {
		t.Fatalf("128 bytes rejected: %v", err)
	}
}

func TestNormalizeRoles(t *testing.T) {
	got, err := NormalizeRoles([]string{"admin", "admin"})
	if err != nil || !slices.Equal(got, []string{"admin"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := NormalizeRoles(nil); err != nil || len(got) != 0 {
		t.Fatalf("nil roles: %v, %v", got, err)
	}
	if _, err := NormalizeRoles([]string{"root"}); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("unknown role accepted: %v", err)
	}
}

func TestRefreshTokenHashRoundTrip(t *testing.T) {
	tok, hash := NewRefreshToken()
	other, _ := NewRefreshToken()
	if tok == other || len(tok) != 43 || len(hash) != 32 {
		t.Fatalf("token %q hash %d bytes", tok, len(hash))
	}
	got, ok := HashRefreshToken(tok)
	if !ok || string(got) != string(hash) {
		t.Fatal("hash of the presented token differs from the stored one")
	}
	for _, bad := range []string{"", "short", tok + "A", strings.Repeat("!", 43)} {
		if _, ok := HashRefreshToken(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
