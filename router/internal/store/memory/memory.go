// Package memory is the in-process registry used when the platform runs on
// one machine: one router, no Redis.
package memory

import (
	"context"
	"sync"
	"time"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/router/internal/store"
	"github.com/parleychat/parley/shared/ids"
)

var _ store.Registry = (*Registry)(nil)

// Registry keeps gateways and connections in maps.
type Registry struct {
	now func() time.Time

	mu       sync.RWMutex
	gateways map[string]entity.Gateway
	// conns maps user → device → gateway id.
	conns map[ids.ID]map[string]string
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{now: time.Now, gateways: map[string]entity.Gateway{}, conns: map[ids.ID]map[string]string{}}
}

func (r *Registry) alive(id string, now time.Time) (entity.Gateway, bool) {
	g, ok := r.gateways[id]
	return g, ok && now.Before(g.ExpiresAt)
}

// Announce implements store.Registry.
func (r *Registry) Announce(_ context.Context, g entity.Gateway, ttl time.Duration) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	_, known := r.alive(g.ID, now)
	g.ExpiresAt = now.Add(ttl)
	r.gateways[g.ID] = g
	return known, nil
}

// Withdraw implements store.Registry.
func (r *Registry) Withdraw(_ context.Context, gatewayID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.gateways, gatewayID)
	return nil
}

// Attach implements store.Registry.
func (r *Registry) Attach(_ context.Context, gatewayID string, conns []entity.Conn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range conns {
		devices := r.conns[c.UserID]
		if devices == nil {
			devices = map[string]string{}
			r.conns[c.UserID] = devices
		}
		devices[c.DeviceID] = gatewayID
	}
	return nil
}

// Detach implements store.Registry.
func (r *Registry) Detach(_ context.Context, gatewayID string, conns []entity.Conn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range conns {
		devices := r.conns[c.UserID]
		if devices[c.DeviceID] == gatewayID {
			delete(devices, c.DeviceID)
			if len(devices) == 0 {
				delete(r.conns, c.UserID)
			}
		}
	}
	return nil
}

// Lookup implements store.Registry. Entries of dead gateways are pruned as
// they are met, so the maps do not grow with crashed gateways' users.
func (r *Registry) Lookup(_ context.Context, users []ids.ID) (map[ids.ID][]entity.Route, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make(map[ids.ID][]entity.Route, len(users))
	for _, u := range users {
		if _, done := out[u]; done {
			continue
		}
		for device, gid := range r.conns[u] {
			g, ok := r.alive(gid, now)
			if !ok {
				delete(r.conns[u], device)
				continue
			}
			out[u] = append(out[u], entity.Route{Conn: entity.Conn{UserID: u, DeviceID: device},
				GatewayID: g.ID, Region: g.Region, Addr: g.Addr})
		}
		if len(r.conns[u]) == 0 {
			delete(r.conns, u)
		}
	}
	return out, nil
}

// Gateways implements store.Registry.
func (r *Registry) Gateways(_ context.Context) ([]entity.Gateway, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	now := r.now()
	var out []entity.Gateway
	for id := range r.gateways {
		if g, ok := r.alive(id, now); ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// Ping implements store.Registry.
func (r *Registry) Ping(context.Context) error { return nil }
