package usecase

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// GroupReceiptsConfig configures receipts in groups.
type GroupReceiptsConfig struct {
	// Window coalesces the count updates of one group: acks arriving within
	// it cost one read of the group's member states and one receipt per
	// sender, however many members acked.
	Window time.Duration
	// ReadersMax is the largest group whose readers can be listed.
	ReadersMax int
	Logger     *slog.Logger
}

// Defaults of GroupReceiptsConfig.
const (
	DefaultGroupReceiptWindow = 100 * time.Millisecond
	DefaultGroupReadersMax    = 256
)

// maxReadCounted bounds the messages a read receipt counts for: the newest
// this many of the range the watermarks moved over.
const maxReadCounted = 100

// groupReceipts coalesces count updates per group.
type groupReceipts struct {
	cfg     GroupReceiptsConfig
	mu      sync.Mutex
	pending map[protocol.ConversationID]*pendingCounts
}

// pendingCounts is what changed in one group since its last flush.
type pendingCounts struct {
	received map[ids.ID]entity.Message // acked messages by id
	readFrom ids.ID                    // the lowest watermark a read moved from
	readTo   ids.ID                    // the highest it moved to
	at       time.Time
}

// SetGroupReceipts enables receipts in groups.
func (uc *Receipts) SetGroupReceipts(cfg GroupReceiptsConfig) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	uc.group = &groupReceipts{cfg: cfg, pending: map[protocol.ConversationID]*pendingCounts{}}
}

// groupMember checks that dev's user is a current member of conv and may
// see every message of msgIDs (read from the store, which must hold them),
// and returns the messages.
func (uc *Receipts) groupMember(ctx context.Context, user ids.ID, conv protocol.ConversationID, msgIDs []ids.ID) (groupapi.Roster, []entity.Message, error) {
	if uc.group == nil {
		return groupapi.Roster{}, nil, errs.New(errs.Unavailable, "group receipts are not available on this server")
	}
	roster, member, err := uc.access.Group(ctx, user, conv)
	if err != nil {
		return groupapi.Roster{}, nil, err
	}
	msgs, err := uc.store.GetMessages(ctx, conv, msgIDs)
	if err != nil {
		return groupapi.Roster{}, nil, err
	}
	if len(msgs) != len(uniq(msgIDs)) || slices.ContainsFunc(msgs, func(m entity.Message) bool { return !member.Sees(m.ID) }) {
		return groupapi.Roster{}, nil, errs.New(errs.NotFound, "message_ids: some messages are not in this conversation").WithDetail("field", "message_ids")
	}
	return roster, msgs, nil
}

// groupReceived records a group member's received ack as a watermark
// ("received everything up to the highest acked id"): one row per member
// and group, never per message. Senders get the new counts after the
// coalescing window.
func (uc *Receipts) groupReceived(ctx context.Context, dev Sender, conv protocol.ConversationID, msgIDs []ids.ID, cursor string) error {
	now := uc.now()
	seq, err := decodeClientCursor(cursor, now)
	if err != nil {
		return err
	}
	_, msgs, err := uc.groupMember(ctx, dev.UserID, conv, msgIDs)
	if err != nil {
		return err
	}
	if err := receivable(msgs, msgIDs, dev.UserID); err != nil {
		return err
	}
	moved, err := uc.store.AdvanceMember(ctx, conv, dev.UserID, entity.MarkReceived, slices.Max(msgIDs), now)
	if err != nil {
		return err
	}
	if seq > 0 {
		if err := uc.store.AdvanceCursor(ctx, dev.UserID, dev.DeviceID, seq); err != nil {
			return err
		}
	}
	if moved {
		uc.group.touch(conv, now, func(p *pendingCounts) {
			for _, m := range msgs {
				p.received[m.ID] = m
			}
		}, uc.flushGroup)
	}
	return nil
}

// groupRead moves a group member's read watermark (per user, for unread
// counts, and per group, for counts and readers), syncs the reader's
// devices, and has senders get the new counts after the window.
func (uc *Receipts) groupRead(ctx context.Context, dev Sender, conv protocol.ConversationID, upTo ids.ID) error {
	if _, _, err := uc.groupMember(ctx, dev.UserID, conv, []ids.ID{upTo}); err != nil {
		if errs.Is(err, errs.NotFound) {
			return errs.New(errs.NotFound, "up_to: no such message in this conversation").WithDetail("field", "up_to")
		}
		return err
	}
	prior, err := uc.store.ReadWatermark(ctx, dev.UserID, conv)
	if err != nil {
		return err
	}
	now := uc.now()
	wm, moved, err := uc.store.AdvanceRead(ctx, dev.UserID, conv, upTo, now)
	if err != nil || !moved {
		return err
	}
	if _, err := uc.store.AdvanceMember(ctx, conv, dev.UserID, entity.MarkRead, wm.UpTo, wm.At); err != nil {
		return err
	}
	unread, err := uc.Unread(ctx, dev.UserID, conv, wm.UpTo)
	if err != nil {
		return err
	}
	state := protocol.ReadState{ConversationID: conv, UpTo: protocol.MessageID(wm.UpTo), Unread: unread, AtMs: protocol.MillisOf(wm.At)}
	if err := uc.notifyReadState(ctx, dev, state); err != nil {
		return err
	}
	uc.group.touch(conv, wm.At, func(p *pendingCounts) {
		if p.readTo == 0 || prior.UpTo < p.readFrom {
			p.readFrom = prior.UpTo
		}
		p.readTo = max(p.readTo, wm.UpTo)
	}, uc.flushGroup)
	return nil
}

// touch records a change of conv and schedules its flush at the end of
// the window, unless one is scheduled already.
func (g *groupReceipts) touch(conv protocol.ConversationID, at time.Time, change func(*pendingCounts), flush func(protocol.ConversationID, *pendingCounts)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, ok := g.pending[conv]
	if !ok {
		p = &pendingCounts{received: map[ids.ID]entity.Message{}}
		g.pending[conv] = p
		time.AfterFunc(g.cfg.Window, func() {
			g.mu.Lock()
			delete(g.pending, conv)
			g.mu.Unlock()
			flush(conv, p)
		})
	}
	change(p)
	p.at = at
}

// flushGroup sends each sender whose messages the window touched one
// receipt with the counts of those messages. A failure costs only the
// counts update (the watermarks are stored; the next update counts them).
func (uc *Receipts) flushGroup(conv protocol.ConversationID, p *pendingCounts) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	uc.group.mu.Lock()
	received := maps.Clone(p.received)
	readFrom, readTo, at := p.readFrom, p.readTo, p.at
	uc.group.mu.Unlock()
	if err := uc.sendCounts(ctx, conv, received, readFrom, readTo, at); err != nil {
		uc.group.cfg.Logger.Warn("group receipt counts not sent", slog.String("conversation", string(conv)), slog.Any("err", err))
	}
}

func (uc *Receipts) sendCounts(ctx context.Context, conv protocol.ConversationID, received map[ids.ID]entity.Message, readFrom, readTo ids.ID, at time.Time) error {
	group, _ := conv.Group()
	roster, err := uc.access.groups.Roster(ctx, ids.ID(group))
	if err != nil {
		return err
	}
	states, err := uc.store.MemberStates(ctx, conv)
	if err != nil {
		return err
	}
	var read []entity.Message
	if readTo > 0 {
		if read, _, err = uc.store.History(ctx, conv, readTo+1, 0, maxReadCounted); err != nil {
			return err
		}
		read = slices.DeleteFunc(read, func(m entity.Message) bool { return m.ID <= readFrom })
	}
	type update struct {
		msgIDs []protocol.MessageID
		read   bool
		counts map[ids.ID]protocol.ReceiptCount
	}
	bySender := map[ids.ID]*update{}
	add := func(m entity.Message, isRead bool) {
		if m.Kind != protocol.KindUser {
			return // group events have no receipts
		}
		u := bySender[m.SenderID]
		if u == nil {
			u = &update{counts: map[ids.ID]protocol.ReceiptCount{}}
			bySender[m.SenderID] = u
		}
		if isRead {
			u.read = true
		} else {
			u.msgIDs = append(u.msgIDs, protocol.MessageID(m.ID))
		}
		u.counts[m.ID] = countOf(roster, states, m)
	}
	for _, m := range received {
		add(m, false)
	}
	for _, m := range read {
		add(m, true)
	}
	for sender, u := range bySender {
		r := protocol.Receipt{ConversationID: conv, State: StateReceived, MessageIDs: u.msgIDs, AtMs: protocol.MillisOf(at)}
		slices.Sort(r.MessageIDs)
		if u.read {
			r.State, r.UpTo = StateRead, protocol.MessageID(readTo)
		}
		for _, id := range slices.Sorted(maps.Keys(u.counts)) {
			r.Counts = append(r.Counts, u.counts[id])
		}
		if err := uc.notify(ctx, sender, r, nil); err != nil {
			return err
		}
	}
	return nil
}

// countOf counts m's audience (the current members other than its sender
// who may see it) and how many of them received and read it.
func countOf(roster groupapi.Roster, states []entity.MemberState, m entity.Message) protocol.ReceiptCount {
	byUser := make(map[ids.ID]entity.MemberState, len(states))
	for _, s := range states {
		byUser[s.UserID] = s
	}
	c := protocol.ReceiptCount{MessageID: protocol.MessageID(m.ID)}
	for _, mem := range roster.Members {
		if mem.User == m.SenderID || !mem.Sees(m.ID) {
			continue
		}
		c.Of++
		st := byUser[mem.User]
		if st.Has(entity.MarkReceived, m.ID) {
			c.Received++
		}
		if st.Has(entity.MarkRead, m.ID) {
			c.Read++
		}
	}
	return c
}

// GroupReader is one member who received or read a message, and when their
// watermark reached it (or, when it moved past it in one step, the time
// of that step).
type GroupReader struct {
	UserID protocol.UserID     `json:"user_id"`
	AtMs   protocol.UnixMillis `json:"at_ms"`
}

// GroupReaders answers "who received and who read this message, and when" in
// a group of at most ReadersMax members.
type GroupReaders struct {
	MessageID protocol.MessageID `json:"message_id"`
	Of        int                `json:"of"`
	Received  []GroupReader      `json:"received"`
	Read      []GroupReader      `json:"read"`
}

// GroupReaders lists the readers of message msgID of group conv for a member.
func (uc *Receipts) GroupReaders(ctx context.Context, user ids.ID, conv protocol.ConversationID, msgID ids.ID) (*GroupReaders, error) {
	roster, msgs, err := uc.groupMember(ctx, user, conv, []ids.ID{msgID})
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.New(errs.NotFound, "no such message in this conversation")
		}
		return nil, err
	}
	if n := len(roster.Members); n > uc.group.cfg.ReadersMax {
		return nil, errs.Newf(errs.LimitExceeded, "readers are listed only in groups of up to %d members; this one has %d", uc.group.cfg.ReadersMax, n).
			WithDetail("limit", "group_readers_max").WithDetail("max", strconv.Itoa(uc.group.cfg.ReadersMax))
	}
	states, err := uc.store.MemberStates(ctx, conv)
	if err != nil {
		return nil, err
	}
	m := msgs[0]
	byUser := make(map[ids.ID]entity.MemberState, len(states))
	for _, s := range states {
		byUser[s.UserID] = s
	}
	out := &GroupReaders{MessageID: protocol.MessageID(m.ID), Received: []GroupReader{}, Read: []GroupReader{}}
	for _, mem := range roster.Members {
		if mem.User == m.SenderID || !mem.Sees(m.ID) {
			continue
		}
		out.Of++
		st := byUser[mem.User]
		if st.Has(entity.MarkReceived, m.ID) {
			at := st.Received.At
			if st.Received.UpTo < m.ID { // known received only by reading it
				at = st.Read.At
			}
			out.Received = append(out.Received, GroupReader{UserID: protocol.UserID(mem.User), AtMs: protocol.MillisOf(at)})
		}
		if st.Has(entity.MarkRead, m.ID) {
			out.Read = append(out.Read, GroupReader{UserID: protocol.UserID(mem.User), AtMs: protocol.MillisOf(st.Read.At)})
		}
	}
	return out, nil
}
