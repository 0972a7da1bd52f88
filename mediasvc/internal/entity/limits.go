package entity

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/parleychat/parley/shared/errs"
)

// SniffLen is how many leading bytes decide the type (what
// net/http.DetectContentType looks at).
const SniffLen = 512

// MaxObjectSize is the largest limit an admin may set: S3's single-request
// copy limit, which the presigned path's verified copy relies on.
const MaxObjectSize int64 = 5 << 30

// AllowedTypes is the allow-list: the types net/http.DetectContentType can
// recognise that we accept. Anything else (HTML, scripts, executables,
// unrecognised bytes) is refused, because the type is never taken from the
// client and what we serve must be what we sniffed. Text is accepted as
// plain text only; the charset parameter is dropped.
var AllowedTypes = []string{
	"image/jpeg", "image/png", "image/gif", "image/webp",
	"video/mp4", "video/webm",
	"audio/mpeg", "audio/wave", "application/ogg",
	"application/pdf", "application/zip", "text/plain",
}

// ImageTypes are the allowed types that get dimensions and a thumbnail.
var ImageTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// IsImage reports whether mime is one of ImageTypes.
func IsImage(mime string) bool { return slices.Contains(ImageTypes, mime) }

// Sniff returns the media type of content starting with head (its first
// SniffLen bytes, or all of it if shorter), without parameters.
func Sniff(head []byte) string {
	t := http.DetectContentType(head)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	return t
}

// Limits maps an allowed type to its maximum size in bytes. A type missing
// from the map, or mapped to 0, is refused.
type Limits map[string]int64

// For returns the limit of mime and whether uploads of it are allowed.
func (l Limits) For(mime string) (int64, bool) {
	n, ok := l[mime]
	return n, ok && n > 0 && slices.Contains(AllowedTypes, mime)
}

// Max returns the largest limit (0 if none).
func (l Limits) Max() int64 {
	var m int64
	for t, n := range l {
		if slices.Contains(AllowedTypes, t) && n > m {
			m = n
		}
	}
	return m
}

// Allowed returns the types with a positive limit, sorted.
func (l Limits) Allowed() []string {
	var out []string
	for t := range l {
		if _, ok := l.For(t); ok {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// Merge returns l with every entry of over replacing l's.
func (l Limits) Merge(over Limits) Limits {
	out := maps.Clone(l)
	if out == nil {
		out = Limits{}
	}
	maps.Copy(out, over)
	return out
}

// Validate checks that every type is on the allow-list and every limit is
// between 0 (refuse the type) and MaxObjectSize.
func (l Limits) Validate() error {
	for _, t := range slices.Sorted(maps.Keys(l)) {
		if !slices.Contains(AllowedTypes, t) {
			return errs.Newf(errs.InvalidArgument, "limits: %q is not an allowed type (allowed: %s)", t, strings.Join(AllowedTypes, ", "))
		}
		if n := l[t]; n < 0 || n > MaxObjectSize {
			return errs.Newf(errs.InvalidArgument, "limits: %s must be between 0 (refused) and %d bytes", t, MaxObjectSize)
		}
	}
	return nil
}

// String is the flag form, "type=size,…" sorted by type.
func (l Limits) String() string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, t+"="+FormatSize(l[t]))
	}
	return strings.Join(parts, ",")
}

// ParseLimits parses "image/jpeg=25MiB,video/mp4=200MiB,…"; image/* (and
// any major/*) sets every allowed type of that major type. Later entries
// win, so "image/*=25MiB,image/gif=8MiB" works.
func ParseLimits(s string) (Limits, error) {
	out := Limits{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		t, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("limit %q: want type=size", part)
		}
		n, err := ParseSize(v)
		if err != nil {
			return nil, fmt.Errorf("limit %q: %w", part, err)
		}
		t = strings.ToLower(strings.TrimSpace(t))
		if major, ok := strings.CutSuffix(t, "/*"); ok {
			matched := false
			for _, a := range AllowedTypes {
				if strings.HasPrefix(a, major+"/") {
					out[a], matched = n, true
				}
			}
			if !matched {
				return nil, fmt.Errorf("limit %q: no allowed type matches %s", part, t)
			}
			continue
		}
		out[t] = n
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}

// ParseSize parses a byte count: a plain integer or one with a unit (B, KB,
// MB, GB, KiB, MiB, GiB; case-insensitive).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if len(s) > len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (like 25MiB or 1048576)", s)
	}
	return n * mult, nil
}

// FormatSize writes n with the largest binary unit that divides it.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// DefaultLimits is the default of -media.limits.
const DefaultLimits = "image/*=25MiB,video/*=200MiB,audio/*=50MiB,application/ogg=50MiB," +
	"application/pdf=50MiB,application/zip=100MiB,text/plain=5MiB"
