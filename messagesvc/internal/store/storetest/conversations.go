package storetest

import (
	"slices"
	"testing"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

func touch(t *testing.T, st store.Store, user ids.ID, conv protocol.ConversationID, last ids.ID) {
	t.Helper()
	if err := st.TouchConversation(ctx(t), user, conv, last); err != nil {
		t.Fatalf("TouchConversation(%s, %d): %v", conv, last, err)
	}
}

func checkConversations(t *testing.T, st store.Store, user, before ids.ID, limit int, want []entity.ConversationSummary) {
	t.Helper()
	got, err := st.Conversations(ctx(t), user, before, limit)
	if err != nil {
		t.Fatalf("Conversations(before=%d, limit=%d): %v", before, limit, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Conversations(before=%d, limit=%d)\n got %+v\nwant %+v", before, limit, got, want)
	}
}

func (s *suite) conversationsOrder(t *testing.T) {
	st := s.newStore(t)
	user, other := s.ids.Next(), s.ids.Next()
	c1, c2, c3 := s.group(), s.group(), s.group()
	m := make([]ids.ID, 5)
	for i := range m {
		m[i] = s.ids.Next()
	}
	checkConversations(t, st, user, 0, 10, nil)
	touch(t, st, user, c1, m[1])
	touch(t, st, user, c2, m[2])
	touch(t, st, user, c3, m[3])
	touch(t, st, user, c1, m[4]) // c1 is now the most recent
	touch(t, st, user, c2, m[0]) // lower: ignored
	touch(t, st, user, c3, m[3]) // equal: ignored
	touch(t, st, other, c2, m[0])
	checkConversations(t, st, user, 0, 10, []entity.ConversationSummary{
		{Conversation: c1, LastMessageID: m[4]},
		{Conversation: c3, LastMessageID: m[3]},
		{Conversation: c2, LastMessageID: m[2]},
	})
	checkConversations(t, st, other, 0, 10, []entity.ConversationSummary{{Conversation: c2, LastMessageID: m[0]}})
}

func (s *suite) conversationsPaging(t *testing.T) {
	st := s.newStore(t)
	user := s.ids.Next()
	var all []entity.ConversationSummary // most recent first
	for range 7 {
		all = append([]entity.ConversationSummary{{Conversation: s.group(), LastMessageID: s.ids.Next()}}, all...)
	}
	for _, i := range shuffled(len(all)) {
		touch(t, st, user, all[i].Conversation, all[i].LastMessageID)
	}
	checkConversations(t, st, user, 0, 3, all[:3])
	checkConversations(t, st, user, all[2].LastMessageID, 3, all[3:6])
	checkConversations(t, st, user, all[5].LastMessageID, 3, all[6:])
	checkConversations(t, st, user, all[6].LastMessageID, 3, nil)
	checkConversations(t, st, user, all[3].LastMessageID+1, 2, all[3:5]) // before between two ids
	checkConversations(t, st, user, 0, 100, all)
}

func (s *suite) touchConcurrent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	user := s.ids.Next()
	convs := []protocol.ConversationID{s.group(), s.group()}
	const n = 20
	lasts := make([]ids.ID, n)
	for i := range lasts {
		lasts[i] = s.ids.Next()
	}
	order := shuffled(n)
	errs := make([]error, 2*n)
	parallel(2*n, func(i int) {
		errs[i] = st.TouchConversation(c, user, convs[i%2], lasts[order[i/2]])
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("TouchConversation %d: %v", i, err)
		}
	}
	got, err := st.Conversations(c, user, 0, 10)
	if err != nil || len(got) != 2 || got[0].LastMessageID != lasts[n-1] || got[1].LastMessageID != lasts[n-1] {
		t.Fatalf("Conversations after concurrent touches = %+v, %v; both want %d", got, err, lasts[n-1])
	}
}
