package usecase

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/router/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// Limits of one lookup or delivery call.
const (
	MaxUsersPerCall = 10_000
	MaxItemsPerCall = 1_000
	MaxFrameBytes   = 256 << 10
	// pushConcurrency bounds parallel pushes to distinct gateways.
	pushConcurrency = 32
)

// Routing looks users up and delivers frames to their gateways, in this
// region and, unless asked for local only, in the peer regions.
type Routing struct {
	registry    store.Registry
	pusher      Pusher
	peers       []Peer
	pushTimeout time.Duration
	logger      *slog.Logger
	metrics     *routingMetrics
}

// NewRouting returns the routing use cases.
func NewRouting(registry store.Registry, pusher Pusher, peers []Peer, pushTimeout time.Duration,
	logger *slog.Logger, reg prometheus.Registerer) *Routing {
	return &Routing{registry: registry, pusher: pusher, peers: peers, pushTimeout: pushTimeout,
		logger: logger, metrics: newRoutingMetrics(reg)}
}

// Lookup returns the live routes of users in this region and, unless
// localOnly, in every peer region (a user may be online in several). A peer
// that fails is logged and left out: a regional outage must not stop
// routing here.
func (r *Routing) Lookup(ctx context.Context, users []ids.ID, localOnly bool) (map[ids.ID][]entity.Route, error) {
	if err := validateUsers(users); err != nil {
		return nil, err
	}
	routes, err := r.registry.Lookup(ctx, users)
	if err != nil {
		return nil, err
	}
	if localOnly || len(r.peers) == 0 {
		return routes, nil
	}
	var mu sync.Mutex
	r.eachPeer(ctx, "lookup", func(ctx context.Context, p Peer) error {
		remote, err := p.Lookup(ctx, users)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for u, rs := range remote {
			routes[u] = append(routes[u], rs...)
		}
		return nil
	})
	return routes, nil
}

func validateUsers(users []ids.ID) error {
	if len(users) > MaxUsersPerCall {
		return errs.Newf(errs.LimitExceeded, "%d users in one call, max %d", len(users), MaxUsersPerCall)
	}
	for i, u := range users {
		if u <= 0 {
			return errs.Newf(errs.InvalidArgument, "users[%d]: %d is not a valid user id", i, u)
		}
	}
	return nil
}

func validateItems(items []DeliveryItem) error {
	if len(items) == 0 {
		return errs.New(errs.InvalidArgument, "items: at least one delivery is required")
	}
	if len(items) > MaxItemsPerCall {
		return errs.Newf(errs.LimitExceeded, "%d items in one call, max %d", len(items), MaxItemsPerCall)
	}
	total := 0
	for i, it := range items {
		if len(it.Users) == 0 {
			return errs.Newf(errs.InvalidArgument, "items[%d].users: at least one user is required", i)
		}
		total += len(it.Users)
		if err := validateUsers(it.Users); err != nil {
			return errs.Newf(errs.InvalidArgument, "items[%d]: %v", i, err)
		}
		if !isJSONObject(it.Frame) || len(it.Frame) > MaxFrameBytes {
			return errs.Newf(errs.InvalidArgument, "items[%d].frame: want a JSON object of at most %d bytes", i, MaxFrameBytes)
		}
	}
	if total > MaxUsersPerCall {
		return errs.Newf(errs.LimitExceeded, "%d recipients in one call, max %d", total, MaxUsersPerCall)
	}
	return nil
}

func isJSONObject(b []byte) bool {
	trimmed := bytes.TrimSpace(b)
	return len(trimmed) > 1 && trimmed[0] == '{' && json.Valid(trimmed)
}

// eachPeer runs fn against every peer in parallel with the push timeout,
// logging failures.
func (r *Routing) eachPeer(ctx context.Context, op string, fn func(context.Context, Peer) error) {
	var wg sync.WaitGroup
	for _, p := range r.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, r.pushTimeout)
			defer cancel()
			if err := fn(pctx, p); err != nil {
				r.metrics.peerFailures.WithLabelValues(p.Region(), op).Inc()
				r.logger.Warn("peer region failed", slog.String("region", p.Region()), slog.String("op", op), slog.Any("err", err))
			}
		}()
	}
	wg.Wait()
}

// Gateways lists this region's live gateways.
func (r *Routing) Gateways(ctx context.Context) ([]entity.Gateway, error) {
	return r.registry.Gateways(ctx)
}
