package clients

import (
	"context"
	"net/http"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/mediaapi"
	"github.com/parleychat/parley/shared/protocol"
)

var _ usecase.Media = (*Media)(nil)

// Media calls mediasvc's attach route (shared/mediaapi).
type Media struct{ client *kit.Client }

// NewMedia returns the mediasvc adapter.
func NewMedia(client *kit.Client) *Media { return &Media{client: client} }

// Attach implements usecase.Media. mediasvc's errors come back with their
// codes and details (kit.Client); the use case maps them for the sender.
func (m *Media) Attach(ctx context.Context, sender ids.ID, conv protocol.ConversationID, msg ids.ID, mediaIDs []ids.ID) ([]entity.Attachment, error) {
	req := mediaapi.AttachRequest{UserID: sender, MediaIDs: mediaIDs,
		Message: mediaapi.MessageRef{ConversationID: string(conv), MessageID: msg}}
	var res mediaapi.AttachResponse
	if err := m.client.Do(ctx, http.MethodPost, mediaapi.PathAttach, req, &res); err != nil {
		return nil, err
	}
	out := make([]entity.Attachment, len(res.Attachments))
	for i, a := range res.Attachments {
		out[i] = entity.Attachment{ID: a.ID, Mime: a.Mime, Size: a.Size, Name: a.Name, Width: a.Width, Height: a.Height}
	}
	return out, nil
}
