// Package usecase holds authsvc's use cases, one file each, as methods of
// Service. They validate input with the entity rules, talk to the stores and
// signers through the small interfaces in ports.go, and return *errs.Error
// values whose code and message are safe to show to the client.
package usecase

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/ratelimit"
)

// Config holds the policy knobs of the use cases.
type Config struct {
	Issuer     string
	Audience   string
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// SignInPerAccount and SignInPerAddr bound sign-in attempts per username
	// and per client address.
	SignInPerAccount ratelimit.Limit
	SignInPerAddr    ratelimit.Limit
}

// Deps are the adapters the use cases run on.
type Deps struct {
	Accounts  Accounts
	Sessions  Sessions
	Passwords Passwords
	Tokens    Tokens
	Limiter   RateLimiter
	IDs       *ids.Generator
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *Metrics
}

// Service runs the use cases. It is safe for concurrent use.
type Service struct {
	cfg Config
	Deps
}

// New returns the use cases over deps.
func New(cfg Config, deps Deps) *Service { return &Service{cfg: cfg, Deps: deps} }

// Identity is the signed-in caller, as the gateway vouches for it (see the
// delivery layer's identity headers).
type Identity struct {
	UserID   ids.ID
	DeviceID ids.ID
	Roles    []string
}

// HasRole reports whether the caller's token grants role.
func (i Identity) HasRole(role string) bool { return slices.Contains(i.Roles, role) }

// now returns the time truncated to the millisecond, the precision every
// store keeps, so what is written reads back equal.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// storeError turns an unexpected store failure into a retryable error for
// the client; the cause is kept for the log only.
func storeError(err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(err, errs.DeadlineExceeded, "storage timed out, try again")
	case errors.Is(err, context.Canceled):
		return errs.Wrap(err, errs.Unavailable, "request cancelled")
	}
	return errs.Wrap(err, errs.Unavailable, "storage unavailable, try again")
}

// hashError maps a failure to get a hashing slot (the context ended while
// queued behind other hashes) to a retryable error.
func hashError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(err, errs.DeadlineExceeded, "server busy, try again")
	}
	return errs.Wrap(err, errs.Unavailable, "server busy, try again")
}

var errInvalidCredentials = errs.New(errs.Unauthenticated, "invalid username or password")
