// Package hub indexes a gateway's live connections by user and device,
// fans pushes out to them, and sweeps them for liveness and expiry with one
// shared ticker instead of a timer per connection.
package hub

import (
	"slices"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/routerapi"
)

// Listener hears about authenticated connections coming and going, so the
// router can be told. Calls must not block.
type Listener interface {
	Attached(c routerapi.Conn)
	Detached(c routerapi.Conn)
}

// Hub is the set of connections of one gateway. Safe for concurrent use.
type Hub struct {
	maxPerUser int
	listener   Listener
	metrics    *Metrics

	mu  sync.RWMutex
	all map[uint64]*conn.Conn
	// byUser holds each user's device connections; a slice, since a user
	// has a handful of devices and a map per user costs ~300 bytes.
	byUser map[ids.ID][]*conn.Conn
}

// New returns an empty hub allowing maxPerUser devices per user.
func New(maxPerUser int, listener Listener, metrics *Metrics) *Hub {
	return &Hub{maxPerUser: maxPerUser, listener: listener, metrics: metrics,
		all: map[uint64]*conn.Conn{}, byUser: map[ids.ID][]*conn.Conn{}}
}

// Add tracks a new, not yet authenticated connection.
func (h *Hub) Add(c *conn.Conn) {
	h.mu.Lock()
	h.all[c.ID] = c
	n := len(h.all)
	h.mu.Unlock()
	h.metrics.connections.Set(float64(n))
}

// Bind files an authenticated connection under its user and device. A
// connection of the same device already here is returned as replaced (the
// caller closes it); a user over the device cap gets limit_exceeded.
func (h *Hub) Bind(c *conn.Conn) (replaced *conn.Conn, err error) {
	id := c.Identity()
	// Counted before the cap check: Remove uncounts every connection that
	// has an identity, refused ones included.
	h.metrics.authenticated.Inc()
	h.mu.Lock()
	devices := h.byUser[id.UserID]
	i := deviceIndex(devices, id.DeviceID)
	if i < 0 && len(devices) >= h.maxPerUser {
		h.mu.Unlock()
		return nil, errs.Newf(errs.LimitExceeded, "at most %d connected devices per user", h.maxPerUser).
			WithDetail("limit", "devices_per_user")
	}
	if i >= 0 {
		replaced, devices[i] = devices[i], c
	} else {
		h.byUser[id.UserID] = append(devices, c)
	}
	h.mu.Unlock()
	h.listener.Attached(routerapi.Conn{UserID: id.UserID, DeviceID: id.DeviceID})
	return replaced, nil
}

// Remove forgets a closed connection; the router is told only if it was the
// device's current connection (not one replaced by a newer one).
func (h *Hub) Remove(c *conn.Conn) {
	id := c.Identity()
	h.mu.Lock()
	delete(h.all, c.ID)
	n := len(h.all)
	current := false
	if id != nil {
		devices := h.byUser[id.UserID]
		if i := deviceIndex(devices, id.DeviceID); i >= 0 && devices[i] == c {
			current = true
			devices = slices.Delete(devices, i, i+1)
			if len(devices) == 0 {
				delete(h.byUser, id.UserID)
			} else {
				h.byUser[id.UserID] = devices
			}
		}
	}
	h.mu.Unlock()
	h.metrics.connections.Set(float64(n))
	if id != nil {
		h.metrics.authenticated.Dec()
	}
	if current {
		h.listener.Detached(routerapi.Conn{UserID: id.UserID, DeviceID: id.DeviceID})
	}
}

// Get returns the connection of a user's device, or nil.
func (h *Hub) Get(user ids.ID, device string) *conn.Conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	devices := h.byUser[user]
	if i := deviceIndex(devices, device); i >= 0 {
		return devices[i]
	}
	return nil
}

func deviceIndex(devices []*conn.Conn, device string) int {
	for i, c := range devices {
		if c.Identity().DeviceID == device {
			return i
		}
	}
	return -1
}

// Count returns how many connections are open, authenticated or not.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.all)
}

// Bound lists every authenticated connection, for re-registering them all
// with the router.
func (h *Hub) Bound() []routerapi.Conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]routerapi.Conn, 0, len(h.all))
	for u, devices := range h.byUser {
		for _, c := range devices {
			out = append(out, routerapi.Conn{UserID: u, DeviceID: c.Identity().DeviceID})
		}
	}
	return out
}

// Each calls fn for every connection, outside the lock.
func (h *Hub) Each(fn func(*conn.Conn)) {
	h.mu.RLock()
	all := make([]*conn.Conn, 0, len(h.all))
	for _, c := range h.all {
		all = append(all, c)
	}
	h.mu.RUnlock()
	for _, c := range all {
		fn(c)
	}
}

// Push writes each item's frame to its connections. Each frame is encoded
// into a WebSocket message once, however many connections get it, and no
// connection's slowness delays another: queueing never blocks.
func (h *Hub) Push(batch routerapi.PushBatch) routerapi.PushResult {
	var res routerapi.PushResult
	for _, it := range batch.Items {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, it.Frame)
		if err != nil {
			res.Missing = append(res.Missing, it.Conns...)
			continue
		}
		for _, target := range it.Conns {
			c := h.Get(target.UserID, target.DeviceID)
			if c == nil || !c.SendPrepared(pm) {
				res.Missing = append(res.Missing, target)
				continue
			}
			res.Delivered++
		}
	}
	h.metrics.pushedFrames.Add(float64(res.Delivered))
	h.metrics.pushMissing.Add(float64(len(res.Missing)))
	return res
}
