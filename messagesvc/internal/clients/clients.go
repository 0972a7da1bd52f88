// Package clients holds messagesvc's adapters for the services it calls:
// the router (pushes) and authsvc (does a user exist).
package clients

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/routerapi"
)

var (
	_ usecase.Router = (*Router)(nil)
	_ usecase.Users  = (*Users)(nil)
)

// Router calls the region's router.
type Router struct{ client *kit.Client }

// NewRouter returns the router adapter.
func NewRouter(client *kit.Client) *Router { return &Router{client: client} }

// Deliver implements usecase.Router.
func (r *Router) Deliver(ctx context.Context, items []routerapi.DeliveryItem) ([]routerapi.DeliveryOutcome, error) {
	var res routerapi.DeliverResponse
	err := r.client.Do(ctx, http.MethodPost, routerapi.PathDeliver, routerapi.DeliverRequest{Items: items}, &res)
	return res.Outcomes, err
}

// Users asks authsvc whether accounts exist. Existence is cached: accounts
// are never deleted by this platform, so a positive answer stays true.
type Users struct {
	client *kit.Client

	mu    sync.Mutex
	known map[ids.ID]bool
}

// maxKnownUsers bounds the cache; past it, it starts over.
const maxKnownUsers = 1 << 20

// NewUsers returns the users adapter.
func NewUsers(client *kit.Client) *Users { return &Users{client: client, known: map[ids.ID]bool{}} }

// Exists implements usecase.Users.
func (u *Users) Exists(ctx context.Context, user ids.ID) (bool, error) {
	u.mu.Lock()
	hit := u.known[user]
	u.mu.Unlock()
	if hit {
		return true, nil
	}
	err := u.client.Do(ctx, http.MethodGet, "/internal/v1/accounts/"+user.String(), nil, nil)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	u.mu.Lock()
	if len(u.known) >= maxKnownUsers {
		u.known = map[ids.ID]bool{}
	}
	u.known[user] = true
	u.mu.Unlock()
	return true, nil
}

// NewTransport is the HTTP transport for internal calls, keeping connections alive.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}
