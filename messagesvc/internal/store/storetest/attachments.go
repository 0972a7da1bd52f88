package storetest

import (
	"slices"
	"testing"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// attachmentMetadata: the metadata mediasvc returned at attach time comes
// back, in order, from GetMessages and History; attachments without
// metadata (messagesvc without mediasvc) come back as bare ids.
func (s *suite) attachmentMetadata(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, a, _ := s.direct(t)
	withMeta := entity.Message{ID: s.ids.Next(), Conversation: conv, SenderID: a, Kind: protocol.KindUser,
		Attachments: []entity.Attachment{
			{ID: s.ids.Next(), Mime: "image/png", Size: 48213, Name: "menü.png", Width: 1280, Height: 960},
			{ID: s.ids.Next(), Mime: "application/pdf", Size: 7, Name: "a.pdf"},
		}}
	idsOnly := entity.Message{ID: s.ids.Next(), Conversation: conv, SenderID: a, Kind: protocol.KindUser, Body: "b",
		Attachments: []entity.Attachment{{ID: s.ids.Next()}}}
	put(t, st, withMeta, idsOnly)
	got, err := st.GetMessages(c, conv, []ids.ID{withMeta.ID, idsOnly.ID})
	if err != nil || len(got) != 2 {
		t.Fatalf("GetMessages = %+v, %v", got, err)
	}
	page, _, err := st.History(c, conv, 0, 0, 10)
	if err != nil || len(page) != 2 {
		t.Fatalf("History = %+v, %v", page, err)
	}
	for _, read := range [][]entity.Message{got, page} {
		if !slices.Equal(read[0].Attachments, withMeta.Attachments) {
			t.Errorf("with metadata:\n got %+v\nwant %+v", read[0].Attachments, withMeta.Attachments)
		}
		if !slices.Equal(read[1].Attachments, idsOnly.Attachments) {
			t.Errorf("ids only:\n got %+v\nwant %+v", read[1].Attachments, idsOnly.Attachments)
		}
	}
}
