package usecase

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Sync pages a device through its user's inbox: messages (read once from
// the message store, however many inboxes point at them), receipts and read
// states, oldest first.
type Sync struct {
	store  store.Store
	limit  protocol.Limits
	now    func() time.Time
	groups Groups  // nil: no group pulls (group_sync.go)
	access *Access // with groups
}

// NewSync returns the sync use case.
func NewSync(s store.Store, limits protocol.Limits) *Sync {
	return &Sync{store: s, limit: limits, now: time.Now}
}

// Page answers a sync frame. An empty cursor resumes from the device's
// stored cursor; a device never seen starts at the beginning of the inbox
// retention, which is its recent history. A cursor in the frame is recorded
// as the device's position: the device has stored everything before it.
func (uc *Sync) Page(ctx context.Context, dev Sender, f *protocol.Sync) (*protocol.SyncPage, error) {
	now := uc.now()
	after, err := decodeClientCursor(f.Cursor, now)
	if err != nil {
		return nil, err
	}
	if f.Cursor == "" {
		stored, ok, err := uc.store.Cursor(ctx, dev.UserID, dev.DeviceID)
		if err != nil {
			return nil, err
		}
		if ok {
			after = stored
		}
	}
	if expired(after, now) {
		return nil, uc.cursorExpired(ctx, dev, now)
	}
	if f.Cursor != "" && after > 0 {
		if err := uc.store.AdvanceCursor(ctx, dev.UserID, dev.DeviceID, after); err != nil {
			return nil, err
		}
	}
	limit := uc.limit.PageSize(f.Limit)
	entries, more, err := uc.store.ReadAfter(ctx, dev.UserID, after, limit)
	if err != nil {
		return nil, err
	}
	groups, err := uc.pullGroups(ctx, dev.UserID, after, now, limit)
	if err != nil {
		return nil, err
	}
	entries, more, known := mergePulled(entries, more, groups, limit)
	page := &protocol.SyncPage{Header: protocol.Header{ID: f.ID}}
	inFlight, err := uc.fill(ctx, page, dev.UserID, entries, now, known)
	if err != nil {
		return nil, err
	}
	// Continuation cursors are exact so paging always progresses; the last
	// page's cursor stays behind the lookback window (see Lookback). A page
	// holding an entry whose message is still being written (see
	// SendMessage.persist) is a last page: its cursor stays behind that
	// entry, and the next sync finds the message.
	last := after
	if n := len(entries); n > 0 {
		last = entries[n-1].Seq
	}
	if more && !inFlight {
		page.More, page.Cursor = true, EncodeCursor(last)
	} else {
		page.Cursor = ClientCursor(last, now)
	}
	return page, nil
}

// expired reports whether a position is older than the inbox retention.
func expired(seq ids.ID, now time.Time) bool {
	return seq > 0 && seq.Time().Before(now.Add(-store.InboxRetention))
}

// cursorExpired answers a sync from an expired position. The client now reloads
// recent history per conversation and syncs from scratch, without a cursor;
// so that this sync does not fail again on the same stored position, an
// expired stored position moves to now-Lookback, which the reloaded
// history covers.
func (uc *Sync) cursorExpired(ctx context.Context, dev Sender, now time.Time) error {
	stored, ok, err := uc.store.Cursor(ctx, dev.UserID, dev.DeviceID)
	if err != nil {
		return err
	}
	if ok && expired(stored, now) {
		if err := uc.store.AdvanceCursor(ctx, dev.UserID, dev.DeviceID, ids.FromTime(now.Add(-Lookback))); err != nil {
			return err
		}
	}
	return errs.New(errs.FailedPrecondition, "cursor expired: older than the inbox retention; reload history and sync from scratch").
		WithDetail("reason", "cursor_expired")
}

// fill adds the events of entries to page. It reports whether a recent
// message entry's message is not readable yet (a send in flight).
// Messages in known (pulled from groups) are not read again.
func (uc *Sync) fill(ctx context.Context, page *protocol.SyncPage, user ids.ID, entries []entity.InboxEntry, now time.Time, known map[ids.ID]entity.Message) (inFlight bool, err error) {
	wanted := map[protocol.ConversationID][]ids.ID{}
	for _, e := range entries {
		if _, ok := known[e.MessageID]; ok {
			continue
		}
		if e.Kind == entity.InboxMessage {
			wanted[e.Conversation] = append(wanted[e.Conversation], e.MessageID)
		}
	}
	found := map[ids.ID]entity.Message{}
	for id, m := range known {
		found[id] = m
	}
	for conv, msgIDs := range wanted {
		msgs, err := uc.store.GetMessages(ctx, conv, msgIDs)
		if err != nil {
			return false, err
		}
		for _, m := range msgs {
			found[m.ID] = m
		}
	}
	recent := ids.FromTime(now.Add(-Lookback))
	seen := map[ids.ID]bool{}
	for _, e := range entries {
		switch e.Kind {
		case entity.InboxMessage:
			m, ok := found[e.MessageID]
			if !ok && e.Seq > recent {
				inFlight = true
			}
			if ok && !seen[m.ID] {
				seen[m.ID] = true
				page.Messages = append(page.Messages, forUser(m, protocol.UserID(user)))
			}
		case entity.InboxReceipt:
			var r protocol.Receipt
			if json.Unmarshal(e.Payload, &r) == nil {
				page.Receipts = append(page.Receipts, r)
			}
		case entity.InboxReadState:
			var rs protocol.ReadState
			if json.Unmarshal(e.Payload, &rs) == nil {
				page.ReadStates = append(page.ReadStates, rs)
			}
		}
	}
	return inFlight, nil
}
