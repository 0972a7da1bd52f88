package usecase

import (
	"context"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// TypingTTL is how long clients show an indicator without a repeat.
const TypingTTL = 6000 // ms

// Typing relays typing indicators to the other members. Nothing is stored;
// the gateway rate-limits typing frames per connection.
type Typing struct {
	access *Access
	pusher *Pusher
}

// NewTyping returns the typing use case.
func NewTyping(access *Access, pusher *Pusher) *Typing {
	return &Typing{access: access, pusher: pusher}
}

// Relay pushes the indicator to every other member of the conversation.
func (uc *Typing) Relay(ctx context.Context, user ids.ID, f *protocol.Typing) error {
	members, err := uc.access.Members(ctx, user, f.ConversationID)
	if err != nil {
		return err
	}
	state := &protocol.TypingState{ConversationID: f.ConversationID, UserID: protocol.UserID(user), Active: f.Active}
	if f.Active {
		state.TTLMs = TypingTTL
	}
	uc.pusher.Frame(state, Others(members, user))
	return nil
}
