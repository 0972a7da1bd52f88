// Package routerapi is the contract between the router and its callers: the
// gateways that register connections and receive pushes, the services that
// ask for deliveries, and the routers of peer regions. It holds the wire
// types and paths only; the router owns the behaviour.
package routerapi

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/parleychat/parley/shared/ids"
)

// Paths on the router's internal listener.
const (
	PathAnnounce = "/internal/v1/gateways/announce"
	PathWithdraw = "/internal/v1/gateways/withdraw"
	PathGateways = "/internal/v1/gateways"
	PathAttach   = "/internal/v1/conns/attach"
	PathDetach   = "/internal/v1/conns/detach"
	PathLookup   = "/internal/v1/lookup"
	PathDeliver  = "/internal/v1/deliver"
)

// PathPush is on the gateway's internal listener.
const PathPush = "/internal/v1/push"

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	devicePattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
)

// Gateway is one live gateway process of a region.
type Gateway struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	// Addr is the gateway's internal listener (host:port) the router pushes to.
	Addr string `json:"addr"`
	// ExpiresAt is when the gateway counts as dead unless it heartbeats again.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Validate checks a gateway announcement.
func (g Gateway) Validate() error {
	if !namePattern.MatchString(g.ID) {
		return fmt.Errorf("gateway id %q: want 1-64 of [A-Za-z0-9._:-]", g.ID)
	}
	if !namePattern.MatchString(g.Region) {
		return fmt.Errorf("region %q: want 1-64 of [A-Za-z0-9._:-]", g.Region)
	}
	if _, _, err := net.SplitHostPort(g.Addr); err != nil {
		return fmt.Errorf("gateway addr %q is not host:port", g.Addr)
	}
	return nil
}

// Conn is one device connection of a user.
type Conn struct {
	UserID   ids.ID `json:"user_id"`
	DeviceID string `json:"device_id"`
}

// Validate checks a connection.
func (c Conn) Validate() error {
	if c.UserID <= 0 {
		return fmt.Errorf("user id %d is not a valid id", c.UserID)
	}
	if !devicePattern.MatchString(c.DeviceID) {
		return fmt.Errorf("device id %q: want 1-64 of [A-Za-z0-9._:-]", c.DeviceID)
	}
	return nil
}

// Route says where a device connection lives.
type Route struct {
	Conn
	GatewayID string `json:"gateway_id"`
	Region    string `json:"region"`
	Addr      string `json:"addr"`
}

// AnnounceRequest registers or renews a gateway.
type AnnounceRequest struct {
	Gateway Gateway `json:"gateway"`
}

// AnnounceResponse tells the gateway whether the router knew it (if not, it
// attaches all its connections again) and how often to heartbeat.
type AnnounceResponse struct {
	Known bool  `json:"known"`
	TTLMs int64 `json:"ttl_ms"`
}

// WithdrawRequest removes a gateway at once.
type WithdrawRequest struct {
	GatewayID string `json:"gateway_id"`
}

// ConnsRequest attaches or detaches connections of a gateway.
type ConnsRequest struct {
	GatewayID string `json:"gateway_id"`
	Conns     []Conn `json:"conns"`
}

// LookupRequest asks for users' live routes.
type LookupRequest struct {
	Users []ids.ID `json:"users"`
	// LocalOnly keeps the lookup in the router's own region; set on calls
	// between peer routers so they never bounce.
	LocalOnly bool `json:"local_only,omitempty"`
}

// LookupResponse maps each online user id to its routes.
type LookupResponse struct {
	Routes map[ids.ID][]Route `json:"routes"`
}

// DeliveryItem is one encoded frame for a set of users; the frame is written
// to every connection as is.
type DeliveryItem struct {
	Users []ids.ID        `json:"users"`
	Frame json.RawMessage `json:"frame"`
	// Skip lists connections that must not get this frame, such as the
	// sending device.
	Skip []Conn `json:"skip,omitempty"`
}

// DeliverRequest asks for frames to be pushed.
type DeliverRequest struct {
	Items     []DeliveryItem `json:"items"`
	LocalOnly bool           `json:"local_only,omitempty"`
}

// DeliveryOutcome reports how many connections got an item's frame, and the
// users it reached on no connection (their messages wait in their inboxes).
type DeliveryOutcome struct {
	Pushed    int      `json:"pushed"`
	Unreached []ids.ID `json:"unreached,omitempty"`
}

// DeliverResponse has one outcome per request item, in order.
type DeliverResponse struct {
	Outcomes []DeliveryOutcome `json:"outcomes"`
}

// PushBatch is what one gateway receives: frames, each with the connections
// on that gateway to write it to.
type PushBatch struct {
	Items []PushItem `json:"items"`
}

// PushItem is one frame and its target connections on one gateway.
type PushItem struct {
	Frame json.RawMessage `json:"frame"`
	Conns []Conn          `json:"conns"`
}

// PushResult reports the connections the gateway no longer held.
type PushResult struct {
	Delivered int    `json:"delivered"`
	Missing   []Conn `json:"missing,omitempty"`
}

// GatewaysResponse lists live gateways.
type GatewaysResponse struct {
	Gateways []Gateway `json:"gateways"`
}
