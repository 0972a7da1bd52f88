// Package store declares the router's registry port; adapters live in
// subpackages and all pass storetest.
package store

import (
	"context"
	"time"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// Registry records which gateway holds which device connection in one region.
//
// A connection's lease lasts as long as its gateway's: gateways heartbeat
// with Announce, and a gateway that stops announcing for its TTL is dead —
// every connection it held vanishes from Lookup at once, without a write per
// connection. Implementations are safe for concurrent use.
type Registry interface {
	// Announce marks g alive for ttl. known is false when the registry did
	// not hold g as alive (first start, expired, or the store lost its data):
	// the gateway must then Attach all its connections again.
	Announce(ctx context.Context, g entity.Gateway, ttl time.Duration) (known bool, err error)
	// Withdraw removes a gateway at once (drain, shutdown): its connections
	// stop routing immediately.
	Withdraw(ctx context.Context, gatewayID string) error
	// Attach records connections held by a gateway; a device attached on two
	// gateways keeps the newest.
	Attach(ctx context.Context, gatewayID string, conns []entity.Conn) error
	// Detach forgets connections, but only where they still point at gatewayID
	// (a device that already moved to another gateway is left alone).
	Detach(ctx context.Context, gatewayID string, conns []entity.Conn) error
	// Lookup returns the live routes of each user; users with none are absent.
	Lookup(ctx context.Context, users []ids.ID) (map[ids.ID][]entity.Route, error)
	// Gateways lists the live gateways.
	Gateways(ctx context.Context) ([]entity.Gateway, error)
	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
}
