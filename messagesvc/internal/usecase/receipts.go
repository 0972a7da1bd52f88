package usecase

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
)

// Receipt states.
const (
	StateReceived = "received"
	StateRead     = "read"
)

// maxUnread caps the unread count a read state reports ("99+").
const maxUnread = 100

// Receipts records received and read acknowledgements and tells the
// people who care: senders get receipts, the reader's other devices get
// the new read state. Everything sent is also logged in the inboxes, so a
// device that was offline gets it on sync. Notifications are written
// before the state they announce, so a failure in between is repaired by
// the device's retry: a receipt may come twice, never not at all. Repeated
// and late acks of recorded state change nothing and notify nobody.
type Receipts struct {
	store  store.Store
	access *Access
	ids    IDs
	pusher *Pusher
	now    func() time.Time
	group  *groupReceipts // nil: no receipts in groups (group_receipts.go)
}

// NewReceipts returns the receipts use case.
func NewReceipts(s store.Store, access *Access, gen IDs, pusher *Pusher) *Receipts {
	return &Receipts{store: s, access: access, ids: gen, pusher: pusher, now: time.Now}
}

// Received records that dev stored msgIDs of conv and, with a cursor,
// everything in its inbox up to it.
func (uc *Receipts) Received(ctx context.Context, dev Sender, conv protocol.ConversationID, msgIDs []ids.ID, cursor string) error {
	if _, ok := conv.Group(); ok {
		return uc.groupReceived(ctx, dev, conv, msgIDs, cursor)
	}
	now := uc.now()
	seq, err := decodeClientCursor(cursor, now)
	if err != nil {
		return err
	}
	if _, err := uc.access.Members(ctx, dev.UserID, conv); err != nil {
		return err
	}
	msgs, err := uc.store.GetMessages(ctx, conv, msgIDs)
	if err != nil {
		return err
	}
	if err := receivable(msgs, msgIDs, dev.UserID); err != nil {
		return err
	}
	// Senders are told before the times are recorded: when anything fails
	// in between, the device's retry finds the messages still unrecorded
	// and tells them again, so a receipt may arrive twice but never not at
	// all. Once recorded, repeated and late acks tell nobody.
	recorded, err := uc.receivedBy(ctx, conv, dev.UserID, msgIDs)
	if err != nil {
		return err
	}
	var fresh []ids.ID
	bySender := map[ids.ID][]protocol.MessageID{}
	for _, m := range msgs {
		if !recorded[m.ID] && !slices.Contains(fresh, m.ID) {
			fresh = append(fresh, m.ID)
			bySender[m.SenderID] = append(bySender[m.SenderID], protocol.MessageID(m.ID))
		}
	}
	for sender, ids := range bySender {
		r := protocol.Receipt{ConversationID: conv, State: StateReceived, UserID: protocol.UserID(dev.UserID),
			MessageIDs: ids, AtMs: protocol.MillisOf(now)}
		if err := uc.notify(ctx, sender, r, nil); err != nil {
			return err
		}
	}
	if len(fresh) > 0 {
		if _, err := uc.store.MarkReceived(ctx, conv, dev.UserID, fresh, now); err != nil {
			return err
		}
	}
	if seq > 0 {
		if err := uc.store.AdvanceCursor(ctx, dev.UserID, dev.DeviceID, seq); err != nil {
			return err
		}
	}
	return nil
}

// receivedBy reports which of msgIDs user's received time is recorded for.
func (uc *Receipts) receivedBy(ctx context.Context, conv protocol.ConversationID, user ids.ID, msgIDs []ids.ID) (map[ids.ID]bool, error) {
	deliveries, err := uc.store.Deliveries(ctx, conv, msgIDs)
	if err != nil {
		return nil, err
	}
	out := map[ids.ID]bool{}
	for _, d := range deliveries {
		if d.UserID == user && !d.ReceivedAt.IsZero() {
			out[d.MessageID] = true
		}
	}
	return out, nil
}

// receivable checks every acked id is a message of the conversation that
// someone else sent: a user cannot ack what they never received.
func receivable(found []entity.Message, asked []ids.ID, user ids.ID) error {
	if len(found) != len(uniq(asked)) {
		return errs.New(errs.NotFound, "message_ids: some messages are not in this conversation").WithDetail("field", "message_ids")
	}
	for _, m := range found {
		if m.SenderID == user {
			return errs.Newf(errs.InvalidArgument, "message_ids: %d is your own message", m.ID).WithDetail("field", "message_ids")
		}
	}
	return nil
}

func uniq(v []ids.ID) []ids.ID {
	s := slices.Clone(v)
	slices.Sort(s)
	return slices.Compact(s)
}

// Read moves the reader's watermark in conv to upTo. If it moved, the
// other members get a read receipt and the reader's devices the new read
// state with the remaining unread count.
func (uc *Receipts) Read(ctx context.Context, dev Sender, conv protocol.ConversationID, upTo ids.ID) error {
	if _, ok := conv.Group(); ok {
		return uc.groupRead(ctx, dev, conv, upTo)
	}
	members, err := uc.access.Members(ctx, dev.UserID, conv)
	if err != nil {
		return err
	}
	if found, err := uc.store.GetMessages(ctx, conv, []ids.ID{upTo}); err != nil {
		return err
	} else if len(found) == 0 {
		return errs.New(errs.NotFound, "up_to: no such message in this conversation").WithDetail("field", "up_to")
	}
	// As for received: everyone is told before the watermark moves, so a
	// failure in between is repaired by the retry instead of leaving a
	// moved watermark nobody heard of.
	current, err := uc.store.ReadWatermark(ctx, dev.UserID, conv)
	if err != nil {
		return err
	}
	if upTo <= current.UpTo {
		return nil // repeated or late: nobody is told
	}
	now := uc.now()
	unread, err := uc.Unread(ctx, dev.UserID, conv, upTo)
	if err != nil {
		return err
	}
	state := protocol.ReadState{ConversationID: conv, UpTo: protocol.MessageID(upTo), Unread: unread, AtMs: protocol.MillisOf(now)}
	if err := uc.notifyReadState(ctx, dev, state); err != nil {
		return err
	}
	receipt := protocol.Receipt{ConversationID: conv, State: StateRead, UserID: protocol.UserID(dev.UserID),
		UpTo: protocol.MessageID(upTo), AtMs: protocol.MillisOf(now)}
	for _, other := range Others(members, dev.UserID) {
		if err := uc.notify(ctx, other, receipt, nil); err != nil {
			return err
		}
	}
	_, _, err = uc.store.AdvanceRead(ctx, dev.UserID, conv, upTo, now)
	return err
}

// Unread counts messages after upTo that others sent, up to maxUnread.
func (uc *Receipts) Unread(ctx context.Context, user ids.ID, conv protocol.ConversationID, upTo ids.ID) (int, error) {
	// History pages forward only from a positive id: after 0 would be the
	// newest page, which undercounts a never-read conversation whose newest
	// messages are the user's own. No message id is below 2.
	after := max(upTo, 1)
	n := 0
	// At most two pages are read, so a conversation full of the user's
	// own messages (a busy group the user writes to without reading)
	// costs a bounded read; the count is then a lower bound.
	for pages := 0; n < maxUnread && pages < 2; pages++ {
		page, more, err := uc.store.History(ctx, conv, 0, after, maxUnread)
		if err != nil {
			return 0, err
		}
		for _, m := range page {
			if m.SenderID != user {
				n++
			}
		}
		if !more || len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
	}
	return min(n, maxUnread), nil
}

// notify logs a receipt in to's inbox and pushes it to to's devices.
func (uc *Receipts) notify(ctx context.Context, to ids.ID, r protocol.Receipt, skip []routerapi.Conn) error {
	seq := uc.ids.Next()
	payload := payloadOf(r)
	entry := entity.InboxEntry{UserID: to, Seq: seq, Kind: entity.InboxReceipt, Conversation: r.ConversationID,
		MessageID: ids.ID(r.UpTo), Payload: payload}
	if err := uc.store.Append(ctx, []entity.InboxEntry{entry}); err != nil {
		return err
	}
	r.Cursor = ClientCursor(seq, uc.now())
	uc.pusher.Frame(&r, []ids.ID{to}, skip...)
	return nil
}

func (uc *Receipts) notifyReadState(ctx context.Context, dev Sender, rs protocol.ReadState) error {
	seq := uc.ids.Next()
	entry := entity.InboxEntry{UserID: dev.UserID, Seq: seq, Kind: entity.InboxReadState, Conversation: rs.ConversationID,
		MessageID: ids.ID(rs.UpTo), Payload: payloadOf(rs)}
	if err := uc.store.Append(ctx, []entity.InboxEntry{entry}); err != nil {
		return err
	}
	rs.Cursor = ClientCursor(seq, uc.now())
	// Every device of the reader, the reading one included (PROTOCOL.md):
	// it learns the read state's inbox cursor like the others.
	uc.pusher.Frame(&rs, []ids.ID{dev.UserID})
	return nil
}

// payloadOf encodes a receipt or read state for the inbox: the push's
// fields without the envelope, as sync pages carry them.
func payloadOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and numbers always encode
	}
	return b
}
