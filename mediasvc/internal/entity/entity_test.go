package entity

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/shared/errs"
)

func TestParseLimitsExpandsWildcardsAndLaterEntriesWin(t *testing.T) {
	l, err := ParseLimits("image/*=25MiB, image/gif=8MiB,text/plain=100")
	if err != nil {
		t.Fatal(err)
	}
	if l["image/png"] != 25<<20 || l["image/gif"] != 8<<20 || l["text/plain"] != 100 {
		t.Fatalf("limits = %v", l)
	}
	if _, ok := l.For("video/mp4"); ok {
		t.Fatal("type without a limit allowed")
	}
	if l.Max() != 25<<20 {
		t.Fatalf("max = %d", l.Max())
	}
	if _, err := ParseLimits(DefaultLimits); err != nil {
		t.Fatalf("default limits: %v", err)
	}
}

func TestParseLimitsRejectsUnknownTypesAndBadSizes(t *testing.T) {
	for _, s := range []string{"text/html=1MiB", "image/png", "image/png=-1", "image/png=6GiB", "font/*=1MiB", "image/png=1XB"} {
		if _, err := ParseLimits(s); err == nil {
			t.Errorf("ParseLimits(%q) accepted", s)
		}
	}
}

func TestLimitsStringRoundTrips(t *testing.T) {
	l := Limits{"image/png": 25 << 20, "text/plain": 1000}
	back, err := ParseLimits(l.String())
	if err != nil || back.String() != l.String() {
		t.Fatalf("round trip %q → %v, %v", l.String(), back, err)
	}
}

func TestZeroLimitRefusesTheType(t *testing.T) {
	l := Limits{"image/png": 0}
	if _, ok := l.For("image/png"); ok {
		t.Fatal("zero limit allows the type")
	}
}

func TestSniffIgnoresParametersAndRefusesHTML(t *testing.T) {
	cases := map[string]string{
		"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR": "image/png",
		"hello, world":                        "text/plain",
		"<!DOCTYPE html><html>":               "text/html",
		"\xff\xd8\xff\xe0":                    "image/jpeg",
		"PK\x03\x04rest":                      "application/zip",
	}
	for in, want := range cases {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
	if _, ok := (Limits{"text/html": 1}).For("text/html"); ok {
		t.Fatal("text/html allowed")
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{"photo.jpg": "photo.jpg", "../../etc/passwd": "passwd", `C:\x\y.png`: "y.png", "  a b  ": "a b", "..": "", "": ""} {
		if got, err := NormalizeName(in); err != nil || got != want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"a\x00b", strings.Repeat("x", 256), "bad\xffutf8"} {
		if _, err := NormalizeName(in); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("NormalizeName(%q) = %v, want invalid_argument", in, err)
		}
	}
}

func TestMessageRefValidate(t *testing.T) {
	if err := (MessageRef{ConversationID: "d:1:2", MessageID: 5}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []MessageRef{{"", 5}, {"d:1:2", 0}, {"a/b", 5}, {"a b", 5}, {strings.Repeat("g", 129), 5}} {
		if err := r.Validate(); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	if s := (MessageRef{"g:7", 9}).String(); s != "g:7/9" {
		t.Fatalf("String = %q", s)
	}
}

func TestValidSHA256(t *testing.T) {
	good := strings.Repeat("ab", 32)
	if !ValidSHA256(good) || ValidSHA256(strings.ToUpper(good)) || ValidSHA256(good[:62]) || ValidSHA256(strings.Repeat("zz", 32)) {
		t.Fatal("ValidSHA256 wrong")
	}
}
