package hub

import (
	"context"
	"time"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/protocol"
)

// SweepConfig sets the liveness rules a sweep enforces.
type SweepConfig struct {
	// AuthTimeout is how long a connection may stay unauthenticated.
	AuthTimeout time.Duration
	// PingInterval is how long a connection may be quiet before the gateway
	// pings it.
	PingInterval time.Duration
	// IdleTimeout closes a connection quiet for this long (no frame, no pong).
	IdleTimeout time.Duration
	// ExpiryGrace is how long past its token's expiry a session survives
	// without a refresh.
	ExpiryGrace time.Duration
}

// Sweep checks every connection once: one pass over the hub replaces a
// timer per connection, so an idle connection costs no timer at all.
func (h *Hub) Sweep(now time.Time, cfg SweepConfig) {
	h.Each(func(c *conn.Conn) {
		if c.Closing() {
			return
		}
		quiet := now.Sub(c.LastRead())
		if c.Identity() == nil {
			if quiet > cfg.AuthTimeout {
				h.metrics.closes.WithLabelValues("auth_timeout").Inc()
				c.Send(protocol.Encode(protocol.ErrorFrame("", errs.New(errs.Unauthenticated, "no auth frame in time"))))
				c.CloseAfterFlush(errs.CloseUnauthenticated, "auth timeout")
			}
			return
		}
		if exp := c.ExpiresAt(); now.After(exp.Add(cfg.ExpiryGrace)) {
			h.metrics.closes.WithLabelValues("token_expired").Inc()
			c.Send(protocol.Encode(protocol.ErrorFrame("", errs.New(errs.TokenExpired, "session expired: refresh the token before it runs out"))))
			c.CloseAfterFlush(errs.CloseTokenExpired, "token expired")
			return
		}
		if quiet > cfg.IdleTimeout {
			h.metrics.closes.WithLabelValues("idle").Inc()
			c.Abort(errs.CloseServerError, "idle timeout")
			return
		}
		if quiet > cfg.PingInterval {
			c.Ping(now, cfg.PingInterval)
		}
	})
}

// RunSweeper sweeps every interval until ctx ends.
func (h *Hub) RunSweeper(ctx context.Context, interval time.Duration, cfg SweepConfig) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.Sweep(now, cfg)
		}
	}
}
