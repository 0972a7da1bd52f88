package usecase

import (
	"context"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Sender is one authenticated device.
type Sender struct {
	UserID   ids.ID
	DeviceID string
}

// SendMessage stores a message durably and only then acknowledges it; the
// push to online devices follows in the background.
type SendMessage struct {
	store  store.Store
	access *Access
	ids    IDs
	pusher *Pusher
	fanout GroupFanout
	media  Media // nil: attachment ids are stored unchecked (attachments.go)
}

// NewSendMessage returns the send use case.
func NewSendMessage(s store.Store, access *Access, gen IDs, pusher *Pusher) *SendMessage {
	return &SendMessage{store: s, access: access, ids: gen, pusher: pusher}
}

// Send handles a validated send frame from sender. A retry with the same
// client message id returns the original ack and stores nothing new; if the
// first attempt failed midway, the retry completes it under the same id.
func (uc *SendMessage) Send(ctx context.Context, from Sender, f *protocol.Send) (*protocol.Ack, error) {
	members, err := uc.access.Members(ctx, from.UserID, f.ConversationID)
	if err != nil {
		return nil, err
	}
	if err := uc.access.checkRecipientsExist(ctx, f.ConversationID, from.UserID); err != nil {
		return nil, err
	}
	msg := entity.Message{
		ID: uc.ids.Next(), Conversation: f.ConversationID, SenderID: from.UserID, SenderDevice: from.DeviceID,
		ClientMsgID: f.ClientMsgID, Kind: protocol.KindUser, Body: f.Body,
	}
	owner, fresh, err := uc.store.ClaimSend(ctx, from.UserID, DedupKey(f.ConversationID, f.ClientMsgID), msg.ID)
	if err != nil {
		return nil, err
	}
	if !fresh {
		prior, err := uc.store.GetMessages(ctx, f.ConversationID, []ids.ID{owner})
		if err != nil {
			return nil, err
		}
		if len(prior) == 1 {
			// The message is written last (see persist): the first
			// attempt finished, only its ack was lost.
			return ack(f.ID, prior[0]), nil
		}
		// The first attempt claimed the key but did not finish: finish it
		// now under the claimed id.
		msg.ID = owner
	}
	if err := uc.attach(ctx, from.UserID, &msg, f.AttachmentIDs); err != nil {
		return nil, err
	}
	if err := uc.deliver(ctx, msg, members, from); err != nil {
		return nil, err
	}
	return ack(f.ID, msg), nil
}

// persist writes every member's inbox pointer, their conversation lists
// and, last, the message. Each write is idempotent, so a retry after a
// partial failure converges. The order matters: a stored message means its
// send is complete, so a retry that finds it may answer the ack at once,
// while one that does not redoes every write. (Writing the message first
// let a retry after a failed inbox write ack a message that no inbox held.)
// An inbox entry may thus be visible shortly before its message; Sync.Page
// does not move a device past such an entry.
func (uc *SendMessage) persist(ctx context.Context, msg entity.Message, members []ids.ID) ([]entity.InboxEntry, error) {
	entries := make([]entity.InboxEntry, len(members))
	for i, m := range members {
		// A fresh position, not the message id: a retry that completes an
		// old attempt must land at the end of the inbox, where devices that
		// synced since will still find it. A duplicate entry is harmless:
		// clients drop messages they already have by id.
		entries[i] = entity.InboxEntry{UserID: m, Seq: uc.ids.Next(), Kind: entity.InboxMessage,
			Conversation: msg.Conversation, MessageID: msg.ID}
	}
	if err := uc.store.Append(ctx, entries); err != nil {
		return nil, err
	}
	for _, m := range members {
		if err := uc.store.TouchConversation(ctx, m, msg.Conversation, msg.ID); err != nil {
			return nil, err
		}
	}
	if err := uc.store.PutMessage(ctx, msg); err != nil {
		return nil, err
	}
	return entries, nil
}

// DedupKey is the idempotency key a send claims: the client message id
// within its conversation. Scoping it by conversation keeps a client that
// reuses an id in another conversation from "completing" the first
// conversation's message there, which stored one message id in two
// conversations. Conversation ids contain no space, so the key is
// unambiguous.
func DedupKey(conv protocol.ConversationID, clientMsgID string) string {
	return string(conv) + " " + clientMsgID
}

func ack(id string, m entity.Message) *protocol.Ack {
	return &protocol.Ack{Header: protocol.Header{ID: id}, MessageID: protocol.MessageID(m.ID),
		ConversationID: m.Conversation, ClientMsgID: m.ClientMsgID, SentAtMs: protocol.MillisOf(m.SentAt())}
}
