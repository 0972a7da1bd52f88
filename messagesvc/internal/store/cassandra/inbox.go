package cassandra

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// clockSkew is how far ahead of this node's clock another node's seqs may
// be; ReadAfter looks that far past today.
const clockSkew = 5 * time.Minute

// Append implements store.Inbox: one insert per entry, each in its own
// (user, day) partition, up to appendConcurrency in flight — never a
// multi-partition batch. Each row's TTL ends at seq time + InboxRetention,
// the instant ReadAfter stops returning it, so both adapters expire entries
// alike; an entry already past that is not written at all. Rewriting an
// entry writes the same cells (and refreshes its TTL to the same instant).
func (s *Store) Append(ctx context.Context, entries []entity.InboxEntry) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	now := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(appendConcurrency)
	for _, e := range entries {
		ttl := inboxTTL(e.Seq, now)
		if ttl <= 0 {
			continue
		}
		g.Go(func() error {
			return s.query(gctx, s.cql.insertInbox, int64(e.UserID), dayOf(e.Seq), int64(e.Seq), string(e.Kind),
				unsetText(string(e.Conversation)), unsetInt(int64(e.MessageID)), unsetBlob(e.Payload), ttl).Exec()
		})
	}
	return storeErr("append to inbox", g.Wait())
}

// inboxTTL is the TTL in seconds that expires an entry at seq time +
// retention (rounded up), or <= 0 if that has passed.
func inboxTTL(seq ids.ID, now time.Time) int {
	left := seq.Time().Add(store.InboxRetention).Sub(now)
	if left <= 0 {
		return 0
	}
	return int(min(left, 2*store.InboxRetention).Seconds()) + 1
}

// ReadAfter implements store.Inbox: it reads day partitions in order from
// the day of the cursor (or of the retention start) to today, each slice
// starting after the cursor, until limit+1 entries are found.
func (s *Store) ReadAfter(ctx context.Context, user ids.ID, after ids.ID, limit int) ([]entity.InboxEntry, bool, error) {
	if limit <= 0 || after < 0 {
		return nil, false, errs.New(errs.InvalidArgument, "read inbox: want a positive limit and cursor")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	now := time.Now()
	lower := max(after, ids.FromTime(now.Add(-store.InboxRetention))-1)
	var out []entity.InboxEntry
	for d, last := dayOf(lower+1), dayOf(ids.FromTime(now.Add(clockSkew))); d <= last && len(out) <= limit; d++ {
		sc := s.query(ctx, s.cql.readInbox, int64(user), d, int64(lower), limit+1-len(out)).Iter().Scanner()
		for sc.Next() {
			var seq, msg int64
			var kind, conv string
			e := entity.InboxEntry{UserID: user}
			if err := sc.Scan(&seq, &kind, &conv, &msg, &e.Payload); err != nil {
				return nil, false, storeErr("read inbox", err)
			}
			e.Seq, e.Kind, e.Conversation, e.MessageID = ids.ID(seq), entity.InboxKind(kind), protocol.ConversationID(conv), ids.ID(msg)
			out = append(out, e)
		}
		if err := sc.Err(); err != nil {
			return nil, false, storeErr("read inbox", err)
		}
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}
