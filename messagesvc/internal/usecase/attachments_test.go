package usecase_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// mediaStub is mediasvc's attach: media with an owner, some still pending,
// answering with mediasvc's codes; it records every call.
type mediaStub struct {
	mu      sync.Mutex
	owner   map[ids.ID]ids.ID
	pending map[ids.ID]bool
	down    bool
	calls   []attachCall
}

type attachCall struct {
	sender ids.ID
	conv   protocol.ConversationID
	msg    ids.ID
	media  []ids.ID
}

func newMediaStub() *mediaStub {
	return &mediaStub{owner: map[ids.ID]ids.ID{}, pending: map[ids.ID]bool{}}
}

func meta(id ids.ID) entity.Attachment {
	return entity.Attachment{ID: id, Mime: "image/png", Size: int64(id) * 10, Name: "p.png", Width: 64, Height: 48}
}

func (m *mediaStub) Attach(_ context.Context, sender ids.ID, conv protocol.ConversationID, msg ids.ID, media []ids.ID) ([]entity.Attachment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, attachCall{sender, conv, msg, slices.Clone(media)})
	if m.down {
		return nil, errs.New(errs.Unavailable, "peer unreachable")
	}
	out := make([]entity.Attachment, 0, len(media))
	for _, id := range media {
		owner, ok := m.owner[id]
		switch {
		case !ok:
			return nil, errs.New(errs.NotFound, "media not found").WithDetail("media_id", id.String())
		case owner != sender:
			return nil, errs.New(errs.PermissionDenied, "not the uploader").WithDetail("media_id", id.String())
		case m.pending[id]:
			return nil, errs.New(errs.FailedPrecondition, "pending").WithDetail("media_id", id.String())
		}
		out = append(out, meta(id))
	}
	return out, nil
}

func (m *mediaStub) setDown(v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = v
}

func (m *mediaStub) snapshot() []attachCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

func sendMedia(h *harness, user ids.ID, conv protocol.ConversationID, clientID string, media ...ids.ID) (*protocol.Ack, error) {
	f := &protocol.Send{Header: protocol.Header{ID: "s-" + clientID}, ConversationID: conv, ClientMsgID: clientID,
		Body: "look"}
	for _, m := range media {
		f.AttachmentIDs = append(f.AttachmentIDs, protocol.MediaID(m))
	}
	if err := f.Validate(h.limits); err != nil {
		h.t.Fatalf("test built an invalid send frame: %v", err)
	}
	return h.send.Send(h.ctx, usecase.Sender{UserID: user, DeviceID: "phone"}, f)
}

func TestSendWithMediaStoresMetadataThatPushSyncAndHistoryShow(t *testing.T) {
	h := newHarness(t)
	media := newMediaStub()
	media.owner[77], media.owner[78] = alice, alice
	h.send.WithMedia(media)
	conv := direct(t, alice, bob)
	ack, err := sendMedia(h, alice, conv, "c-1", 78, 77)
	if err != nil {
		t.Fatal(err)
	}
	want := []entity.Attachment{meta(78), meta(77)}
	if calls := media.snapshot(); len(calls) != 1 || calls[0].sender != alice || calls[0].conv != conv ||
		calls[0].msg != ids.ID(ack.MessageID) || !slices.Equal(calls[0].media, []ids.ID{78, 77}) {
		t.Fatalf("attach calls = %+v, want one for message %d", calls, ack.MessageID)
	}
	if msgs := h.messages(conv); len(msgs) != 1 || !slices.Equal(msgs[0].Attachments, want) {
		t.Fatalf("stored = %+v", msgs)
	}
	wire := []protocol.Attachment{
		{ID: 78, Mime: "image/png", Size: 780, Name: "p.png", Width: 64, Height: 48},
		{ID: 77, Mime: "image/png", Size: 770, Name: "p.png", Width: 64, Height: 48},
	}
	pushed := h.flush()
	var sawPush bool
	for _, it := range pushed {
		var m protocol.Message
		if json.Unmarshal(it.Frame, &m) == nil && m.MessageID == ack.MessageID && slices.Contains(it.Users, bob) {
			sawPush = slices.Equal(m.Attachments, wire)
		}
	}
	if !sawPush {
		t.Fatalf("no push to bob with the attachments' metadata: %+v", pushed)
	}
	page := h.mustSync(bob, "laptop", "", 50)
	if len(page.Messages) != 1 || !slices.Equal(page.Messages[0].Attachments, wire) {
		t.Fatalf("sync = %+v", page.Messages)
	}
	hist, err := h.historyPage(bob, conv, 0, 0, 10)
	if err != nil || len(hist.Messages) != 1 || !slices.Equal(hist.Messages[0].Attachments, wire) {
		t.Fatalf("history = %+v, %v", hist, err)
	}
}

func TestSendWithSomeoneElsesOrUnknownMediaIsTheSameNotFoundAndStoresNothing(t *testing.T) {
	h := newHarness(t)
	media := newMediaStub()
	media.owner[77] = alice
	h.send.WithMedia(media)
	conv := direct(t, alice, bob)
	_, theirs := sendMedia(h, bob, conv, "c-theirs", 77)
	_, forged := sendMedia(h, bob, conv, "c-forged", 12345)
	for name, err := range map[string]error{"someone else's": theirs, "unknown": forged} {
		e, ok := errs.As(err)
		if !ok || e.Code != errs.NotFound || e.Details["field"] != "attachment_ids" {
			t.Fatalf("%s media: %v", name, err)
		}
	}
	if a, b := errs.CodeOf(theirs), errs.CodeOf(forged); a != b {
		t.Fatalf("someone else's media (%v) and an unknown id (%v) answer differently", a, b)
	}
	if msg := func(err error) string { e, _ := errs.As(err); return e.Message }; msg(theirs) != msg(forged) {
		t.Fatalf("messages differ: %q vs %q", msg(theirs), msg(forged))
	}
	if msgs := h.messages(conv); len(msgs) != 0 {
		t.Fatalf("stored = %+v", msgs)
	}
	for _, u := range []ids.ID{alice, bob} {
		if e := h.inbox(u); len(e) != 0 {
			t.Fatalf("inbox of %d = %+v", u, e)
		}
	}
}

func TestSendWithAPendingUploadIsFailedPrecondition(t *testing.T) {
	h := newHarness(t)
	media := newMediaStub()
	media.owner[77], media.pending[77] = alice, true
	h.send.WithMedia(media)
	conv := direct(t, alice, bob)
	if _, err := sendMedia(h, alice, conv, "c-p", 77); !errs.Is(err, errs.FailedPrecondition) {
		t.Fatalf("pending media: %v", err)
	}
	if msgs := h.messages(conv); len(msgs) != 0 {
		t.Fatalf("stored = %+v", msgs)
	}
}

func TestMediasvcDownIsRetryableNoAckAndTheRetryAttachesUnderTheClaimedID(t *testing.T) {
	h := newHarness(t)
	media := newMediaStub()
	media.owner[77] = alice
	h.send.WithMedia(media)
	conv := direct(t, alice, bob)
	media.setDown(true)
	ack, err := sendMedia(h, alice, conv, "c-d", 77)
	if ack != nil || !errs.CodeOf(err).Retryable() {
		t.Fatalf("mediasvc down: ack %+v, err %v", ack, err)
	}
	if msgs := h.messages(conv); len(msgs) != 0 {
		t.Fatalf("stored while mediasvc was down: %+v", msgs)
	}
	media.setDown(false)
	ack, err = sendMedia(h, alice, conv, "c-d", 77)
	if err != nil {
		t.Fatal(err)
	}
	calls := media.snapshot()
	if len(calls) != 2 || calls[0].msg != calls[1].msg || calls[1].msg != ids.ID(ack.MessageID) {
		t.Fatalf("attach calls %+v: want both for the claimed message %d", calls, ack.MessageID)
	}
	if msgs := h.messages(conv); len(msgs) != 1 || !slices.Equal(msgs[0].Attachments, []entity.Attachment{meta(77)}) {
		t.Fatalf("stored = %+v", msgs)
	}
}

func TestRetryAfterAFailedWriteReattachesTheSameMessageAndStoresItOnce(t *testing.T) {
	h := newHarnessWith(t, options{faults: true, startPusher: true})
	media := newMediaStub()
	media.owner[77] = alice
	h.send.WithMedia(media)
	conv := direct(t, alice, bob)
	// Attached, then the message write failed (the process could as well
	// have died here): no ack.
	h.faults.before["PutMessage"] = 1
	if _, err := sendMedia(h, alice, conv, "c-w", 77); !errs.CodeOf(err).Retryable() {
		t.Fatalf("failed write: %v", err)
	}
	ack, err := sendMedia(h, alice, conv, "c-w", 77)
	if err != nil {
		t.Fatal(err)
	}
	calls := media.snapshot()
	if len(calls) != 2 || calls[0].msg != ids.ID(ack.MessageID) || calls[1].msg != ids.ID(ack.MessageID) {
		t.Fatalf("attach calls %+v, want two for message %d", calls, ack.MessageID)
	}
	// A third attempt (the ack was lost) answers from the stored message.
	again, err := sendMedia(h, alice, conv, "c-w", 77)
	if err != nil || again.MessageID != ack.MessageID {
		t.Fatalf("third attempt: %+v %v", again, err)
	}
	if msgs := h.messages(conv); len(msgs) != 1 || !slices.Equal(msgs[0].Attachments, []entity.Attachment{meta(77)}) {
		t.Fatalf("stored = %+v", msgs)
	}
}

func TestGroupMessageAttachesEachMediaOnceForAllMembers(t *testing.T) {
	groups := &groupsStub{members: map[ids.ID][]ids.ID{5: {alice, bob, carol, dave}}}
	h := newHarnessWith(t, options{groups: groups, startPusher: true})
	media := newMediaStub()
	media.owner[77] = alice
	h.send.WithMedia(media)
	conv := protocol.GroupConversation(5)
	ack, err := sendMedia(h, alice, conv, "c-g", 77)
	if err != nil {
		t.Fatal(err)
	}
	calls := media.snapshot()
	if len(calls) != 1 || calls[0].conv != conv || calls[0].msg != ids.ID(ack.MessageID) {
		t.Fatalf("attach calls = %+v, want one for the group message", calls)
	}
}

func TestWithoutMediasvcAttachmentIDsAreStoredAsSent(t *testing.T) {
	h := newHarness(t)
	conv := direct(t, alice, bob)
	if _, err := sendMedia(h, alice, conv, "c-n", 5, 6); err != nil {
		t.Fatal(err)
	}
	if msgs := h.messages(conv); len(msgs) != 1 || !slices.Equal(msgs[0].Attachments, []entity.Attachment{{ID: 5}, {ID: 6}}) {
		t.Fatalf("stored = %+v", msgs)
	}
}
