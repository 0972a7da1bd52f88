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
	store store.Store
	limit protocol.Limits
	now   func() time.Time
}

// NewSync returns the sync use case.
func NewSync(s store.Store, limits protocol.Limits) *Sync {
	return &Sync{store: s, limit: limits, now: time.Now}
}

// Page answers a sync frame. An empty cursor resumes from the device's
// stored cursor; a device never seen starts at the beginning of the inbox
// retention, which is its recent history.
func (uc *Sync) Page(ctx context.Context, dev Sender, f *protocol.Sync) (*protocol.SyncPage, error) {
	after, err := DecodeCursor(f.Cursor)
	if err != nil {
		return nil, err
	}
	now := uc.now()
	if f.Cursor == "" {
		stored, ok, err := uc.store.Cursor(ctx, dev.UserID, dev.DeviceID)
		if err != nil {
			return nil, err
		}
		if ok {
			after = stored
		}
	}
	if after > 0 && after.Time().Before(now.Add(-store.InboxRetention)) {
		return nil, errs.New(errs.FailedPrecondition, "cursor expired: older than the inbox retention; reload history and sync from scratch").
			WithDetail("reason", "cursor_expired")
	}
	limit := uc.limit.PageSize(f.Limit)
	entries, more, err := uc.store.ReadAfter(ctx, dev.UserID, after, limit)
	if err != nil {
		return nil, err
	}
	page := &protocol.SyncPage{Header: protocol.Header{ID: f.ID}, More: more}
	if err := uc.fill(ctx, page, dev.UserID, entries); err != nil {
		return nil, err
	}
	// Continuation cursors are exact so paging always progresses; the last
	// page's cursor stays behind the lookback window (see Lookback).
	last := after
	if n := len(entries); n > 0 {
		last = entries[n-1].Seq
	}
	if more {
		page.Cursor = EncodeCursor(last)
	} else {
		page.Cursor = ClientCursor(last, now)
	}
	return page, nil
}

func (uc *Sync) fill(ctx context.Context, page *protocol.SyncPage, user ids.ID, entries []entity.InboxEntry) error {
	wanted := map[protocol.ConversationID][]ids.ID{}
	for _, e := range entries {
		if e.Kind == entity.InboxMessage {
			wanted[e.Conversation] = append(wanted[e.Conversation], e.MessageID)
		}
	}
	found := map[ids.ID]entity.Message{}
	for conv, msgIDs := range wanted {
		msgs, err := uc.store.GetMessages(ctx, conv, msgIDs)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			found[m.ID] = m
		}
	}
	seen := map[ids.ID]bool{}
	for _, e := range entries {
		switch e.Kind {
		case entity.InboxMessage:
			if m, ok := found[e.MessageID]; ok && !seen[m.ID] {
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
	return nil
}
