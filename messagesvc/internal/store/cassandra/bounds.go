package cassandra

import (
	"context"
	"errors"
	"sync"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/shared/protocol"
)

// A conversation's bounds are the oldest and newest buckets that hold its
// messages (conversation_bounds). History reads them first, so it walks
// only buckets that can hold messages: never past the first message, and a
// quiet conversation's newest page does not probe empty buckets up to
// today. Both bounds only widen, by blind writes whose write times make the
// lowest first and the highest last bucket win.
//
// Writing them with every message would double the writes of a send, so
// each process remembers the bounds it has written (boundsCache): it
// writes only when a message falls outside them — in practice the first
// message of a conversation it sees and the first of each new 10-day
// bucket. That is safe because the stored bounds are at least as wide as
// anything any process has written, and a process writes the bounds before
// the message: a message is never outside the stored bounds.

// boundsCacheSize bounds memory; a full cache is simply dropped (its
// entries are only a hint that saves writes).
const boundsCacheSize = 100_000

type bucketRange struct{ first, last int32 }

type boundsCache struct {
	mu sync.Mutex
	m  map[protocol.ConversationID]bucketRange
}

func newBoundsCache() *boundsCache {
	return &boundsCache{m: map[protocol.ConversationID]bucketRange{}}
}

// missing says which bounds must be written before a message in bucket b.
func (c *boundsCache) missing(conv protocol.ConversationID, b int32) (first, last bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[conv]
	if !ok {
		return true, true
	}
	return b < r.first, b > r.last
}

// widen records that the stored bounds now include b.
func (c *boundsCache) widen(conv protocol.ConversationID, b int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[conv]
	if !ok {
		if len(c.m) >= boundsCacheSize {
			clear(c.m)
		}
		c.m[conv] = bucketRange{b, b}
		return
	}
	c.m[conv] = bucketRange{min(r.first, b), max(r.last, b)}
}

// ensureBounds makes the stored bounds of conv include bucket b: nothing,
// one write, or one single-partition batch of both bounds.
func (s *Store) ensureBounds(ctx context.Context, conv protocol.ConversationID, b int32) error {
	first, last := s.bounds.missing(conv, b)
	if !first && !last {
		return nil
	}
	batch := s.batch(ctx)
	if first {
		batch.Entries = append(batch.Entries, gocql.BatchEntry{Stmt: s.cql.setFirstBound,
			Args: []any{fallingMicros(bucketStart(b)), b, string(conv)}, Idempotent: true})
	}
	if last {
		batch.Entries = append(batch.Entries, gocql.BatchEntry{Stmt: s.cql.setLastBound,
			Args: []any{bucketStart(b).UnixMicro(), b, string(conv)}, Idempotent: true})
	}
	if err := batch.Exec(); err != nil {
		return storeErr("write conversation bounds", err)
	}
	s.bounds.widen(conv, b)
	return nil
}

// readBounds returns conv's stored bounds; ok is false for a conversation
// with no message.
func (s *Store) readBounds(ctx context.Context, conv protocol.ConversationID) (r bucketRange, ok bool, err error) {
	var first, last *int32
	err = s.query(ctx, s.cql.selectBounds, string(conv)).Scan(&first, &last)
	if errors.Is(err, gocql.ErrNotFound) {
		return bucketRange{}, false, nil
	}
	if err != nil {
		return bucketRange{}, false, storeErr("read conversation bounds", err)
	}
	if first == nil || last == nil { // never written apart, but be safe: no range, no messages
		return bucketRange{}, false, nil
	}
	return bucketRange{*first, *last}, true, nil
}
