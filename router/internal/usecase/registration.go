package usecase

import (
	"context"
	"time"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/router/internal/store"
	"github.com/parleychat/parley/shared/errs"
)

// MaxConnsPerCall bounds one attach or detach batch.
const MaxConnsPerCall = 5000

// Registration is how gateways tell the router who they hold.
type Registration struct {
	registry   store.Registry
	region     string
	gatewayTTL time.Duration
}

// NewRegistration returns the registration use cases for region.
func NewRegistration(registry store.Registry, region string, gatewayTTL time.Duration) *Registration {
	return &Registration{registry: registry, region: region, gatewayTTL: gatewayTTL}
}

// GatewayTTL is how long a gateway stays alive without a heartbeat.
func (r *Registration) GatewayTTL() time.Duration { return r.gatewayTTL }

// Announce registers or renews a gateway. known=false tells the gateway to
// attach all its connections again (first start, or the store lost its data).
func (r *Registration) Announce(ctx context.Context, g entity.Gateway) (bool, error) {
	if err := g.Validate(); err != nil {
		return false, errs.Wrap(err, errs.InvalidArgument, err.Error())
	}
	if g.Region != r.region {
		return false, errs.Newf(errs.FailedPrecondition, "gateway of region %q announced to the router of region %q", g.Region, r.region)
	}
	return r.registry.Announce(ctx, g, r.gatewayTTL)
}

// Withdraw removes a draining or stopping gateway.
func (r *Registration) Withdraw(ctx context.Context, gatewayID string) error {
	if gatewayID == "" {
		return errs.New(errs.InvalidArgument, "gateway_id is required")
	}
	return r.registry.Withdraw(ctx, gatewayID)
}

// Attach records connections on a gateway.
func (r *Registration) Attach(ctx context.Context, gatewayID string, conns []entity.Conn) error {
	if err := validateConns(gatewayID, conns); err != nil {
		return err
	}
	return r.registry.Attach(ctx, gatewayID, conns)
}

// Detach forgets connections of a gateway.
func (r *Registration) Detach(ctx context.Context, gatewayID string, conns []entity.Conn) error {
	if err := validateConns(gatewayID, conns); err != nil {
		return err
	}
	return r.registry.Detach(ctx, gatewayID, conns)
}

func validateConns(gatewayID string, conns []entity.Conn) error {
	if gatewayID == "" {
		return errs.New(errs.InvalidArgument, "gateway_id is required")
	}
	if len(conns) > MaxConnsPerCall {
		return errs.Newf(errs.LimitExceeded, "%d connections in one call, max %d", len(conns), MaxConnsPerCall)
	}
	for i, c := range conns {
		if err := c.Validate(); err != nil {
			return errs.Newf(errs.InvalidArgument, "conns[%d]: %v", i, err)
		}
	}
	return nil
}
