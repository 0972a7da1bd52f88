// Package upstream relays client frames to the services that own them over
// their internal frames endpoint (shared/frameapi).
package upstream

import (
	"context"
	"net/http"

	"github.com/parleychat/parley/shared/frameapi"
	"github.com/parleychat/parley/shared/kit"
)

// HTTP is an owning service reached over HTTP.
type HTTP struct{ client *kit.Client }

// NewHTTP returns the upstream behind client.
func NewHTTP(client *kit.Client) *HTTP { return &HTTP{client: client} }

// Handle implements wsapi.Upstream.
func (u *HTTP) Handle(ctx context.Context, req frameapi.Request) ([]byte, error) {
	var res frameapi.Response
	if err := u.client.Do(ctx, http.MethodPost, frameapi.Path, req, &res); err != nil {
		return nil, err
	}
	return res.Reply, nil
}
