// Package ids generates the platform's 64-bit, time-ordered identifiers
// (message, user, group and media ids).
//
// Layout, most significant first: 1 zero sign bit, 41 bits of milliseconds
// since Epoch, 10 bits of node id, 12 bits of sequence. Ids from one
// Generator are strictly increasing; ids from different nodes never collide
// as long as node ids are unique among live processes.
package ids

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

const (
	nodeBits     = 10
	sequenceBits = 12
	// MaxNode is the largest node id.
	MaxNode        = 1<<nodeBits - 1
	sequenceMask   = 1<<sequenceBits - 1
	timestampShift = nodeBits + sequenceBits
)

// Epoch is the zero of the id clock: 2025-01-01T00:00:00Z. 41 bits of
// milliseconds last until 2094.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var epochMs = Epoch.UnixMilli()

// ID is a time-ordered 64-bit id. Its JSON and text form is a decimal
// string, because JavaScript numbers lose precision above 2^53.
type ID int64

// Time returns the millisecond at which id was generated.
func (id ID) Time() time.Time { return time.UnixMilli(int64(id)>>timestampShift + epochMs).UTC() }

// Node returns the node bits of id.
func (id ID) Node() int { return int(int64(id)>>sequenceBits) & MaxNode }

// String returns id in decimal.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// IsZero reports whether id is unset.
func (id ID) IsZero() bool { return id == 0 }

// MarshalText encodes id as a decimal string.
func (id ID) MarshalText() ([]byte, error) { return strconv.AppendInt(nil, int64(id), 10), nil }

// UnmarshalText parses a decimal string made by MarshalText.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// Parse reads a decimal id; it rejects zero, negative and malformed input.
func Parse(s string) (ID, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("ids: %q is not a valid id", s)
	}
	return ID(v), nil
}

// FromTime returns the smallest id that could have been generated at t; use
// it as a lower bound when paging by time.
func FromTime(t time.Time) ID {
	ms := t.UnixMilli() - epochMs
	if ms < 0 {
		ms = 0
	}
	return ID(ms << timestampShift)
}

// Generator hands out ids for one node. It is safe for concurrent use and
// lock-free.
type Generator struct {
	node int64
	// state packs the last (milliseconds<<sequenceBits | sequence) handed out,
	// so one compare-and-swap keeps both monotonic.
	state atomic.Int64
	now   func() int64
}

// NewGenerator returns a generator for node (0..MaxNode).
func NewGenerator(node int) (*Generator, error) {
	if node < 0 || node > MaxNode {
		return nil, fmt.Errorf("ids: node %d out of range 0..%d", node, MaxNode)
	}
	return &Generator{node: int64(node), now: func() int64 { return time.Now().UnixMilli() - epochMs }}, nil
}

// Next returns a new id, greater than every id this generator returned before.
//
// When the clock goes backwards the generator keeps counting from the last
// millisecond it used; when more than 4096 ids are asked for within one
// millisecond it borrows the next millisecond. Either way order is kept and
// the id's time is off by at most the skew or the burst.
func (g *Generator) Next() ID {
	for {
		old := g.state.Load()
		next := g.now() << sequenceBits
		if next <= old {
			next = old + 1
		}
		if g.state.CompareAndSwap(old, next) {
			ms := next >> sequenceBits
			return ID(ms<<timestampShift | g.node<<sequenceBits | next&sequenceMask)
		}
	}
}
