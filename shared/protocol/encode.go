package protocol

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// Encode returns f as one JSON frame.
func Encode(f Frame) []byte { return AppendEncode(make([]byte, 0, 256), f) }

// AppendEncode appends f as one JSON frame to dst and returns the extended
// buffer. It writes the envelope by hand (no reflection, no allocation beyond
// growing dst) because the gateway encodes each push once and writes the same
// bytes to every connection that receives it. Keys come out in a fixed order,
// map keys sorted, so equal frames encode to equal bytes. Strings that are
// not valid UTF-8 are written with U+FFFD in place of the bad bytes.
func AppendEncode(dst []byte, f Frame) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, Version, 10)
	dst = optStringField(dst, "id", f.FrameHeader().ID)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, f.FrameType()...) // type names need no escaping
	dst = append(dst, '"')
	dst = f.appendFields(dst)
	return append(dst, '}')
}

// fieldAppender is a nested object that writes its members like a frame does.
type fieldAppender interface{ appendFields(dst []byte) []byte }

// appendObject writes o's fields as a JSON object. Fields are appended with a
// leading comma each; the first comma becomes the opening brace.
func appendObject(dst []byte, o fieldAppender) []byte {
	start := len(dst)
	dst = o.appendFields(dst)
	if len(dst) == start {
		return append(dst, "{}"...)
	}
	dst[start] = '{'
	return append(dst, '}')
}

func appendKey(dst []byte, key string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

func appendInt[T ~int | ~int64](dst []byte, v T) []byte { return strconv.AppendInt(dst, int64(v), 10) }

func appendID[T ~int64](dst []byte, v T) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendInt(dst, int64(v), 10)
	return append(dst, '"')
}

func stringField(dst []byte, key, v string) []byte { return appendString(appendKey(dst, key), v) }

func optStringField(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	return stringField(dst, key, v)
}

func intField[T ~int | ~int64](dst []byte, key string, v T) []byte {
	return appendInt(appendKey(dst, key), v)
}

func optIntField[T ~int | ~int64](dst []byte, key string, v T) []byte {
	if v == 0 {
		return dst
	}
	return intField(dst, key, v)
}

func boolField(dst []byte, key string, v bool) []byte {
	return strconv.AppendBool(appendKey(dst, key), v)
}

func idField[T ~int64](dst []byte, key string, v T) []byte { return appendID(appendKey(dst, key), v) }

func optIDField[T ~int64](dst []byte, key string, v T) []byte {
	if v == 0 {
		return dst
	}
	return idField(dst, key, v)
}

func idsField[T ~int64](dst []byte, key string, vs []T) []byte {
	if len(vs) == 0 {
		return dst
	}
	dst = append(appendKey(dst, key), '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendID(dst, v)
	}
	return append(dst, ']')
}

// objectsField writes a non-empty slice of nested objects.
func objectsField[T any, P interface {
	*T
	fieldAppender
}](dst []byte, key string, vs []T) []byte {
	if len(vs) == 0 {
		return dst
	}
	dst = append(appendKey(dst, key), '[')
	for i := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendObject(dst, P(&vs[i]))
	}
	return append(dst, ']')
}

// stringMapField writes a non-empty map with sorted keys.
func stringMapField(dst []byte, key string, m map[string]string) []byte {
	if len(m) == 0 {
		return dst
	}
	dst = append(appendKey(dst, key), '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, m[k])
	}
	return append(dst, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Besides what JSON requires it
// escapes U+2028 and U+2029, which end a line in older JavaScript parsers.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
