// Package visibility answers "may this user read this media?" for media
// that is in a message and not the user's own (usecase.Visibility).
//
//   - Messages asks messagesvc, which owns messages and conversations:
//     GET /internal/v1/messages/media/{media_id}/readers/{user_id} answers
//     200 when the user can see a message carrying the media (sender, 1:1
//     recipient, current group member) and 404 otherwise. Used when
//     -media.messages-url is set.
//   - UploaderOnly answers "no" to everyone: only uploaders read their
//     media. Used when no messages URL is configured (mediasvc on its own).
package visibility

import (
	"context"
	"net/http"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
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

// CanRead implements usecase.Visibility: 200 → yes, 404 → no, anything else
// an error (retryable when messagesvc is down or slow).
func (m *Messages) CanRead(ctx context.Context, mediaID, userID ids.ID) (bool, error) {
	err := m.client.Do(ctx, http.MethodGet, "/internal/v1/messages/media/"+mediaID.String()+"/readers/"+userID.String(), nil, nil)
	switch {
	case err == nil:
		return true, nil
	case errs.Is(err, errs.NotFound):
		return false, nil
	}
	return false, err
}

// UploaderOnly lets nobody but the uploader read media.
type UploaderOnly struct{}

// CanRead implements usecase.Visibility: always no.
func (UploaderOnly) CanRead(context.Context, ids.ID, ids.ID) (bool, error) { return false, nil }
