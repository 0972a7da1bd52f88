package protocol

import (
	"github.com/parleychat/parley/shared/errs"
)

// Values shared by the canonical examples. Ids are realistic: above 2^53, so
// the examples show why they travel as strings.
const (
	alice UserID  = 118242603245961216
	bob   UserID  = 118242718090166272
	carol UserID  = 118243012551282688
	team  GroupID = 118260187316453376

	msg1  MessageID = 118274011213066240
	msg2  MessageID = 118274011213066241
	msg3  MessageID = 118274098755870720
	photo MediaID   = 118273998580543488

	sentAt UnixMillis = 1763776800123 // 2025-11-22T02:00:00.123Z

	jwt = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiIxMTgyNDI2MDMyNDU5NjEyMTYifQ.c2lnbmF0dXJl"
)

func direct() ConversationID {
	c, err := DirectConversation(bob, alice)
	if err != nil {
		panic(err)
	}
	return c
}

// hdr is the header a decoded frame carries: Decode fills V.
func hdr(id string) Header { return Header{V: Version, ID: id} }

func textMessage() Message {
	return Message{MessageID: msg1, ConversationID: direct(), SenderID: alice, Kind: KindUser,
		Body: "Hi Bob! \"Lunch\" at 12:30?\n🥗", SentAtMs: sentAt}
}

func photoMessage() Message {
	return Message{MessageID: msg2, ConversationID: direct(), SenderID: alice, ClientMsgID: "c-7f3a9e",
		Kind: KindUser, Attachments: []Attachment{{ID: photo, Mime: "image/jpeg", Size: 482113, Name: "menu.jpg", Width: 1280, Height: 960}},
		SentAtMs: sentAt + 2}
}

func groupEvent() Message {
	return Message{MessageID: msg3, ConversationID: GroupConversation(team), SenderID: alice, Kind: KindMemberAdded,
		System: &SystemEvent{UserIDs: []UserID{bob, carol}}, SentAtMs: sentAt + 20871}
}

// examples returns one canonical frame per type, in the decoded form (V set),
// filling every field so the golden files pin every key.
func examples() map[string]Frame {
	return map[string]Frame{
		TypeAuth:     &Auth{Header: hdr("1"), Token: jwt},
		TypeRefresh:  &Refresh{Header: hdr("42"), Token: jwt},
		TypeSend:     &Send{Header: hdr("7"), ConversationID: direct(), ClientMsgID: "c-7f3a9e", Body: "Here is the menu", AttachmentIDs: []MediaID{photo}},
		TypeReceived: &Received{Header: hdr("8"), ConversationID: direct(), MessageIDs: []MessageID{msg1, msg2}, Cursor: "v1.AAABmqG3nQ8"},
		TypeRead:     &Read{Header: hdr("9"), ConversationID: direct(), UpTo: msg2},
		TypeTyping:   &Typing{Header: hdr("10"), ConversationID: GroupConversation(team), Active: true},
		TypeSync:     &Sync{Header: hdr("2"), Cursor: "v1.AAABmqG3nQ0", Limit: 100},
		TypeHistory:  &History{Header: hdr("11"), ConversationID: GroupConversation(team), Before: msg3, Limit: 50},
		TypePing:     &Ping{Header: hdr("12")},

		TypeWelcome: &Welcome{Header: hdr("1"), UserID: alice, DeviceID: "ios-5e0c1b", SessionExpiresAtMs: sentAt + 15*60*1000,
			ServerTimeMs: sentAt, PingIntervalMs: 25000, Limits: DefaultLimits(),
			RateLimits: map[string]RateLimit{RateFrames: {PerMinute: 600, Burst: 60}, RateSend: {PerMinute: 120, Burst: 20},
				RateTyping: {PerMinute: 30, Burst: 5}, RateHistory: {PerMinute: 60, Burst: 10}}},
		TypeRefreshed: &Refreshed{Header: hdr("42"), SessionExpiresAtMs: sentAt + 30*60*1000},
		TypeAck:       &Ack{Header: hdr("7"), ConversationID: direct(), ClientMsgID: "c-7f3a9e", MessageID: msg2, SentAtMs: sentAt + 2},
		TypeMessage:   &MessagePush{Header: hdr(""), Message: photoMessage(), Cursor: "v1.AAABmqG3nQ8"},
		TypeReceipt: &Receipt{Header: hdr(""), ConversationID: GroupConversation(team), State: ReceiptRead, UserID: carol, UpTo: msg3,
			Counts: []ReceiptCount{{MessageID: msg3, Received: 2, Read: 1, Of: 2}}, AtMs: sentAt + 60000, Cursor: "v1.AAABmqG3nR4"},
		TypeReadState:   &ReadState{Header: hdr(""), ConversationID: direct(), UpTo: msg2, Unread: 0, AtMs: sentAt + 61000, Cursor: "v1.AAABmqG3nR9"},
		TypeTypingState: &TypingState{Header: hdr(""), ConversationID: GroupConversation(team), UserID: bob, Active: true, TTLMs: 6000},
		TypeSyncPage: &SyncPage{Header: hdr("2"), Messages: []Message{textMessage(), groupEvent()},
			Receipts:   []Receipt{{ConversationID: direct(), State: ReceiptReceived, UserID: bob, MessageIDs: []MessageID{msg1}, AtMs: sentAt + 900}},
			ReadStates: []ReadState{{ConversationID: GroupConversation(team), UpTo: msg3, Unread: 0, AtMs: sentAt + 30000}},
			Cursor:     "v1.AAABmqG3nQ8", More: false},
		TypeHistoryPage: &HistoryPage{Header: hdr("11"), ConversationID: direct(), Messages: []Message{textMessage(), photoMessage()}, More: true},
		TypePong:        &Pong{Header: hdr("12"), ServerTimeMs: sentAt + 5},
		TypeGoAway:      &GoAway{Header: hdr(""), Reason: GoAwayDrain, ReconnectAfterMs: 3417, CloseInMs: 10000},
		TypeError: &Error{Header: hdr("7"), Code: errs.RateLimited, Message: "send: rate limit 120/min exceeded", Retryable: true,
			RetryAfterMs: 1500, Details: map[string]string{"limit": "send", "per_minute": "120"}},
	}
}
