// Package visibility answers "may this user read this media?" for media
// that is in a message and not the user's own (usecase.Visibility).
//
//   - Messages asks messagesvc, which owns messages and conversations:
//     POST /internal/v1/message-readers (shared/mediaapi) with the user, the
//     media and the messages mediasvc recorded it in; messagesvc answers
//     whether the user can read at least one of them (sender, 1:1 recipient,
//     current group member who joined before the message) and that the
//     message really carries the media. Used when -media.messages-url is set.
//     The route lies outside every prefix the gateway relays, so clients
//     cannot ask it.
//   - UploaderOnly answers "no" to everyone: only uploaders read their
//     media. Used when no messages URL is configured (mediasvc on its own).
package visibility

import (
	"context"
	"net/http"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/mediaapi"
)

// Messages asks messagesvc.
type Messages struct {
	client *kit.Client
}

var (
	_ usecase.Visibility = (*Messages)(nil)
	_ usecase.Visibility = UploaderOnly{}
)

// NewMessages returns the adapter for messagesvc at baseURL; rt signs the
// calls with the service token (svcauth.Transport).
func NewMessages(baseURL string, rt http.RoundTripper, timeout time.Duration) *Messages {
	return &Messages{client: kit.NewClient(baseURL, rt, timeout)}
}

// CanRead implements usecase.Visibility. The messages go in batches of
// mediaapi.MaxReaderMessages, stopping at the first "yes"; any failure is
// an error (retryable when messagesvc is down or slow), never a "yes".
func (m *Messages) CanRead(ctx context.Context, mediaID, userID ids.ID, messages []entity.MessageRef) (bool, error) {
	for len(messages) > 0 {
		n := min(len(messages), mediaapi.MaxReaderMessages)
		req := mediaapi.ReadersRequest{UserID: userID, MediaID: mediaID, Messages: make([]mediaapi.MessageRef, n)}
		for i, r := range messages[:n] {
			req.Messages[i] = mediaapi.MessageRef{ConversationID: r.ConversationID, MessageID: r.MessageID}
		}
		var res mediaapi.ReadersResponse
		if err := m.client.Do(ctx, http.MethodPost, mediaapi.PathMessageReaders, req, &res); err != nil {
			return false, err
		}
		if res.CanRead {
			return true, nil
		}
		messages = messages[n:]
	}
	return false, nil
}

// UploaderOnly lets nobody but the uploader read media.
type UploaderOnly struct{}

// CanRead implements usecase.Visibility: always no.
func (UploaderOnly) CanRead(context.Context, ids.ID, ids.ID, []entity.MessageRef) (bool, error) {
	return false, nil
}
