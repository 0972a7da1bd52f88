package usecase

import (
	"context"
	"slices"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/mediaapi"
	"github.com/parleychat/parley/shared/protocol"
)

// MessageRef names one message: mediasvc records the messages a media is
// attached to and asks about them.
type MessageRef struct {
	Conversation protocol.ConversationID
	MessageID    ids.ID
}

// MaxReaderMessages bounds the messages of one question.
const MaxReaderMessages = mediaapi.MaxReaderMessages

// MessageReaders answers mediasvc's question "can this user see a message
// carrying this media?" before it serves media to anyone but its uploader.
type MessageReaders struct {
	messages store.Messages
	access   *Access
}

// NewMessageReaders returns the use case.
func NewMessageReaders(messages store.Messages, access *Access) *MessageReaders {
	return &MessageReaders{messages: messages, access: access}
}

// CanRead reports whether user can read at least one of refs that really
// carries media: its sender, the other user of a direct conversation, or a
// current member of the group who had joined when it was sent. A message
// that does not exist or does not carry media counts for nothing, so
// mediasvc's references are checked, not trusted. Malformed conversation
// ids count for nothing either. Store and groupsvc failures are errors
// (mediasvc then answers unavailable, never "yes").
func (uc *MessageReaders) CanRead(ctx context.Context, user, media ids.ID, refs []MessageRef) (bool, error) {
	if user <= 0 || media <= 0 {
		return false, errs.New(errs.InvalidArgument, "user_id and media_id are required")
	}
	if len(refs) > MaxReaderMessages {
		return false, errs.Newf(errs.InvalidArgument, "at most %d messages per question", MaxReaderMessages)
	}
	byConv := map[protocol.ConversationID][]ids.ID{}
	var order []protocol.ConversationID
	for _, r := range refs {
		if r.MessageID <= 0 || !r.Conversation.Valid() {
			continue
		}
		if _, seen := byConv[r.Conversation]; !seen {
			order = append(order, r.Conversation)
		}
		byConv[r.Conversation] = append(byConv[r.Conversation], r.MessageID)
	}
	for _, conv := range order {
		ok, err := uc.inConversation(ctx, user, media, conv, byConv[conv])
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// inConversation answers for the messages of one conversation: one store
// read, and at most one membership check.
func (uc *MessageReaders) inConversation(ctx context.Context, user, media ids.ID, conv protocol.ConversationID, msgIDs []ids.ID) (bool, error) {
	msgs, err := uc.messages.GetMessages(ctx, conv, msgIDs)
	if err != nil {
		return false, err
	}
	msgs = slices.DeleteFunc(msgs, func(m entity.Message) bool { return !slices.Contains(m.AttachmentIDs(), media) })
	if len(msgs) == 0 {
		return false, nil
	}
	for _, m := range msgs {
		if m.SenderID == user {
			return true, nil
		}
	}
	for _, m := range msgs {
		ok, err := uc.canSee(ctx, user, conv, m.ID)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// canSee applies the conversation's rule to one message: the users of a
// direct conversation; in a group, a current member who had joined when
// the message was sent (groupapi.Member.Sees, the rule history follows).
// Access asks groupsvc; a user outside the group is not_found there.
func (uc *MessageReaders) canSee(ctx context.Context, user ids.ID, conv protocol.ConversationID, msg ids.ID) (bool, error) {
	if low, high, ok := conv.Direct(); ok {
		return user == ids.ID(low) || user == ids.ID(high), nil
	}
	_, member, err := uc.access.Group(ctx, user, conv)
	switch {
	case err == nil:
		return member.Sees(msg), nil
	case errs.Is(err, errs.NotFound):
		return false, nil
	}
	return false, err
}
