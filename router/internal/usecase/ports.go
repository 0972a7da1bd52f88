// Package usecase holds the router's use cases: registering gateways and
// their connections, looking users up across regions, and delivering frames
// to the gateways that hold the recipients.
package usecase

import (
	"context"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/routerapi"
)

// Pusher sends one batch of frames to one gateway. Safe for concurrent use.
type Pusher interface {
	Push(ctx context.Context, gatewayAddr string, batch PushBatch) (PushResult, error)
}

// Peer is another region's router. Calls to a peer are always local-only on
// its side, so deliveries never bounce between regions.
type Peer interface {
	Region() string
	Lookup(ctx context.Context, users []ids.ID) (map[ids.ID][]entity.Route, error)
	Deliver(ctx context.Context, items []DeliveryItem) ([]DeliveryOutcome, error)
}

// Wire types shared with gateways and peers.
type (
	DeliveryItem    = routerapi.DeliveryItem
	DeliveryOutcome = routerapi.DeliveryOutcome
	PushBatch       = routerapi.PushBatch
	PushItem        = routerapi.PushItem
	PushResult      = routerapi.PushResult
)
