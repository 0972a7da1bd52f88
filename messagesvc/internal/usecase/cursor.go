package usecase

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// cursorPrefix versions the cursor format, so it can change without
// breaking stored cursors.
const cursorPrefix = "v1."

// EncodeCursor turns an inbox position into the opaque string clients store.
func EncodeCursor(seq ids.ID) string {
	if seq <= 0 {
		return ""
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// DecodeCursor reads a cursor made by EncodeCursor; "" is position zero.
func DecodeCursor(s string) (ids.ID, error) {
	if s == "" {
		return 0, nil
	}
	raw, ok := strings.CutPrefix(s, cursorPrefix)
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if !ok || err != nil || len(b) != 8 || int64(binary.BigEndian.Uint64(b)) <= 0 {
		return 0, errs.New(errs.InvalidArgument, "cursor: not a cursor this server issued").WithDetail("field", "cursor")
	}
	return ids.ID(binary.BigEndian.Uint64(b)), nil
}

// Lookback is how far behind the newest inbox position a cursor handed to
// a client may point. Inbox positions are time-ordered ids taken before the
// write, so an entry can become visible slightly after a later one (another
// replica, a slow write). Cursors never run ahead of now-Lookback, so the
// next sync re-reads that tail: a late entry is found, at the price of a few
// duplicates that clients drop by message id. Writes finish within the
// request timeout (seconds) and replica clocks must agree within Lookback.
const Lookback = 30 * time.Second

// ClientCursor returns the cursor for position seq as handed to a client at now.
func ClientCursor(seq ids.ID, now time.Time) string {
	return EncodeCursor(min(seq, ids.FromTime(now.Add(-Lookback))))
}

// decodeClientCursor decodes a cursor a client sent. Besides what
// DecodeCursor refuses, it refuses positions later than now+Lookback: no
// server issued them (replica clocks agree within Lookback), and taking one
// would park the device's stored position beyond every entry to come, since
// stored positions never move back.
func decodeClientCursor(s string, now time.Time) (ids.ID, error) {
	seq, err := DecodeCursor(s)
	if err != nil {
		return 0, err
	}
	if seq.Time().After(now.Add(Lookback)) {
		return 0, errs.New(errs.InvalidArgument, "cursor: not a cursor this server issued (it points to the future)").
			WithDetail("field", "cursor")
	}
	return seq, nil
}
