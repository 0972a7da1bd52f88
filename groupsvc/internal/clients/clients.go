// Package clients holds groupsvc's adapters for the services it calls:
// authsvc (does a user exist) and messagesvc (group events).
package clients

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
)

var (
	_ usecase.Users    = (*Users)(nil)
	_ usecase.Messages = (*Messages)(nil)
)

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

// Messages posts group events to messagesvc.
type Messages struct{ client *kit.Client }

// NewMessages returns the messagesvc adapter.
func NewMessages(client *kit.Client) *Messages { return &Messages{client: client} }

// PostGroupEvent implements usecase.Messages.
func (m *Messages) PostGroupEvent(ctx context.Context, ev groupapi.GroupEvent) error {
	var res groupapi.GroupEventResult
	return m.client.Do(ctx, http.MethodPost, groupapi.PathGroupEvents, ev, &res)
}

// NewTransport is the HTTP transport for internal calls, keeping connections alive.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}
