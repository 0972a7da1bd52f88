package usecase_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// failingGroups is groupsvc failing.
type failingGroups struct{}

func (failingGroups) Roster(context.Context, ids.ID) (groupapi.Roster, error) {
	return groupapi.Roster{}, errs.New(errs.Unavailable, "groupsvc down")
}

func (failingGroups) Memberships(context.Context, ids.ID) ([]groupapi.Membership, error) {
	return nil, errs.New(errs.Unavailable, "groupsvc down")
}

func (failingGroups) Invalidate(ids.ID, int64, []ids.ID) {}

func TestMessageReadersAreTheSenderAndTheOtherUserOfADirectMessage(t *testing.T) {
	h := newHarness(t)
	media := newMediaStub()
	media.owner[77], media.owner[78] = alice, alice
	h.send.WithMedia(media)
	conv := direct(t, alice, bob)
	ack, err := sendMedia(h, alice, conv, "c-1", 77)
	if err != nil {
		t.Fatal(err)
	}
	readers := usecase.NewMessageReaders(h.store, h.access)
	ref := []usecase.MessageRef{{Conversation: conv, MessageID: ids.ID(ack.MessageID)}}
	for _, c := range []struct {
		name  string
		user  ids.ID
		media ids.ID
		refs  []usecase.MessageRef
		want  bool
	}{
		{"sender", alice, 77, ref, true},
		{"recipient", bob, 77, ref, true},
		{"stranger", carol, 77, ref, false},
		{"media the message does not carry", bob, 78, ref, false},
		{"message that does not exist", bob, 77, []usecase.MessageRef{{Conversation: conv, MessageID: h.gen.Next()}}, false},
		{"message in another conversation", bob, 77, []usecase.MessageRef{{Conversation: direct(t, bob, carol), MessageID: ids.ID(ack.MessageID)}}, false},
		{"malformed conversation", bob, 77, []usecase.MessageRef{{Conversation: "x y", MessageID: 1}}, false},
		{"one good among bad", bob, 77, append([]usecase.MessageRef{{Conversation: "nope", MessageID: 1}}, ref...), true},
		{"no messages", bob, 77, nil, false},
	} {
		got, err := readers.CanRead(h.ctx, c.user, c.media, c.refs)
		if err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := readers.CanRead(h.ctx, 0, 77, ref); !errs.Is(err, errs.InvalidArgument) {
		t.Errorf("no user: %v", err)
	}
}

func TestMessageReadersOfAGroupMessageAreItsCurrentMembers(t *testing.T) {
	groups := &groupsStub{members: map[ids.ID][]ids.ID{5: {alice, bob, carol}}}
	h := newHarnessWith(t, options{groups: groups, startPusher: true})
	media := newMediaStub()
	media.owner[77] = alice
	h.send.WithMedia(media)
	conv := protocol.GroupConversation(5)
	ack, err := sendMedia(h, alice, conv, "c-g", 77)
	if err != nil {
		t.Fatal(err)
	}
	readers := usecase.NewMessageReaders(h.store, h.access)
	ref := []usecase.MessageRef{{Conversation: conv, MessageID: ids.ID(ack.MessageID)}}
	for user, want := range map[ids.ID]bool{alice: true, bob: true, carol: true, dave: false} {
		if got, err := readers.CanRead(h.ctx, user, 77, ref); err != nil || got != want {
			t.Errorf("user %d: %v, %v; want %v", user, got, err, want)
		}
	}
	// Removed from the group: no longer a reader. Joined after the
	// message: not a reader of it (members see what was sent since they
	// joined).
	groups.join(5, dave, ids.ID(ack.MessageID).Time().Add(time.Second))
	groups.set(5, alice, bob, dave)
	if got, err := readers.CanRead(h.ctx, carol, 77, ref); err != nil || got {
		t.Errorf("removed member: %v, %v", got, err)
	}
	if got, err := readers.CanRead(h.ctx, dave, 77, ref); err != nil || got {
		t.Errorf("member who joined after the message: %v, %v", got, err)
	}
	if got, err := readers.CanRead(h.ctx, bob, 77, ref); err != nil || !got {
		t.Errorf("member since before the message: %v, %v", got, err)
	}
	// groupsvc down: an error, never a yes.
	down := usecase.NewMessageReaders(h.store, usecase.NewAccess(h.users, failingGroups{}))
	if got, err := down.CanRead(h.ctx, bob, 77, ref); got || !errs.CodeOf(err).Retryable() {
		t.Errorf("groupsvc down: %v, %v", got, err)
	}
}
