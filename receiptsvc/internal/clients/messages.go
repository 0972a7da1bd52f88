// Package clients holds receiptsvc's adapter for messagesvc.
package clients

import (
	"context"
	"net/http"

	"github.com/parleychat/parley/receiptsvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/messageapi"
)

var _ usecase.Sink = (*Messages)(nil)

// Messages records acknowledgements in messagesvc.
type Messages struct{ client *kit.Client }

// NewMessages returns the messagesvc adapter.
func NewMessages(client *kit.Client) *Messages { return &Messages{client: client} }

// Record implements usecase.Sink.
func (m *Messages) Record(ctx context.Context, items []messageapi.ReceiptItem) ([]error, error) {
	var res messageapi.ReceiptsResponse
	if err := m.client.Do(ctx, http.MethodPost, messageapi.PathReceipts, messageapi.ReceiptsRequest{Items: items}, &res); err != nil {
		return nil, err
	}
	out := make([]error, len(items))
	for i := range out {
		if i >= len(res.Results) {
			out[i] = errs.New(errs.Unavailable, "messagesvc answered too few results")
			continue
		}
		if e := res.Results[i].Error; e != nil {
			out[i] = &errs.Error{Code: e.Code, Message: e.Message, Details: e.Details, RetryAfterMs: e.RetryAfterMs}
		}
	}
	return out, nil
}
