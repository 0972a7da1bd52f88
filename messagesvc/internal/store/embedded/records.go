package embedded

import (
	"encoding/json"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// The stored JSON forms. They are separate from the entities so a renamed
// entity field never silently changes the file format. Keys carry the ids
// a record is found by; records carry the rest.

type messageRecord struct {
	SenderID     int64   `json:"sender_id"`
	SenderDevice string  `json:"sender_device,omitempty"`
	ClientMsgID  string  `json:"client_msg_id,omitempty"`
	Kind         string  `json:"kind,omitempty"`
	Body         string  `json:"body,omitempty"`
	Attachments  []int64 `json:"attachments,omitempty"`
	// AttachmentInfo is the attachments' metadata (attachments.go); old
	// records have the ids only.
	AttachmentInfo []attachmentRecord `json:"attachment_info,omitempty"`
	SystemUserIDs  []int64            `json:"system_user_ids,omitempty"`
	SystemName     string             `json:"system_name,omitempty"`
}

func toMessageRecord(m entity.Message) messageRecord {
	return messageRecord{SenderID: int64(m.SenderID), SenderDevice: m.SenderDevice, ClientMsgID: m.ClientMsgID,
		Kind: m.Kind, Body: m.Body, Attachments: fromIDs(m.AttachmentIDs()),
		AttachmentInfo: toAttachmentRecords(m.Attachments), SystemUserIDs: fromIDs(m.SystemUserIDs),
		SystemName: m.SystemName}
}

func (r messageRecord) entity(conv protocol.ConversationID, id ids.ID) entity.Message {
	return entity.Message{ID: id, Conversation: conv, SenderID: ids.ID(r.SenderID), SenderDevice: r.SenderDevice,
		ClientMsgID: r.ClientMsgID, Kind: r.Kind, Body: r.Body, Attachments: r.attachments(),
		SystemUserIDs: toIDs(r.SystemUserIDs), SystemName: r.SystemName}
}

type inboxRecord struct {
	Kind         string `json:"kind"`
	Conversation string `json:"conversation_id,omitempty"`
	MessageID    int64  `json:"message_id,omitempty"`
	Payload      []byte `json:"payload,omitempty"`
}

func toInboxRecord(e entity.InboxEntry) inboxRecord {
	return inboxRecord{Kind: string(e.Kind), Conversation: string(e.Conversation), MessageID: int64(e.MessageID),
		Payload: e.Payload}
}

func (r inboxRecord) entity(user, seq ids.ID) entity.InboxEntry {
	return entity.InboxEntry{UserID: user, Seq: seq, Kind: entity.InboxKind(r.Kind),
		Conversation: protocol.ConversationID(r.Conversation), MessageID: ids.ID(r.MessageID), Payload: r.Payload}
}

func fromIDs(v []ids.ID) []int64 {
	if len(v) == 0 {
		return nil
	}
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func toIDs(v []int64) []ids.ID {
	if len(v) == 0 {
		return nil
	}
	out := make([]ids.ID, len(v))
	for i, x := range v {
		out[i] = ids.ID(x)
	}
	return out
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the record types always marshal
	}
	return b
}

func decode[T any](b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, &corruptError{err}
	}
	return v, nil
}
