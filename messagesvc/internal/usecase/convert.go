package usecase

import (
	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/protocol"
)

// ToProtocol converts a stored message to its wire form. ClientMsgID is
// left out: only the sender's own copies carry it.
func ToProtocol(m entity.Message) protocol.Message {
	out := protocol.Message{
		MessageID:      protocol.MessageID(m.ID),
		ConversationID: m.Conversation,
		SenderID:       protocol.UserID(m.SenderID),
		Kind:           m.Kind,
		Body:           m.Body,
		SentAtMs:       protocol.MillisOf(m.SentAt()),
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, protocol.Attachment{ID: protocol.MediaID(a.ID), Mime: a.Mime,
			Size: a.Size, Name: a.Name, Width: a.Width, Height: a.Height})
	}
	if len(m.SystemUserIDs) > 0 || m.SystemName != "" {
		ev := &protocol.SystemEvent{Name: m.SystemName}
		for _, u := range m.SystemUserIDs {
			ev.UserIDs = append(ev.UserIDs, protocol.UserID(u))
		}
		out.System = ev
	}
	return out
}

// forUser returns the wire form for one reader: the sender's own copies
// carry the client message id so the sending app can match them.
func forUser(m entity.Message, reader protocol.UserID) protocol.Message {
	out := ToProtocol(m)
	if protocol.UserID(m.SenderID) == reader {
		out.ClientMsgID = m.ClientMsgID
	}
	return out
}
