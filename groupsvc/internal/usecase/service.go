// Package usecase holds groupsvc's use cases as methods of Service: groups
// and their settings, members and roles, the platform limits with their
// audit log, the internal roster reads, and the outbox dispatcher that
// posts every change to messagesvc. They talk to the stores, authsvc and
// messagesvc through the small interfaces in ports.go and return
// *errs.Error values whose code and message are safe to show to the client.
package usecase

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// RoleAdmin is the platform role that manages the platform limits.
const RoleAdmin = "admin"

// Config holds the policy knobs of the use cases.
type Config struct {
	// Limits apply until a platform admin stores others.
	Limits entity.PlatformLimits
	// HardMax bounds the ceiling an admin may set.
	HardMax int
	// MaxBatch bounds the users of one create or add.
	MaxBatch int
	// Attempts bounds the retries of a change that lost a race.
	Attempts int
}

// Deps are the adapters the use cases run on.
type Deps struct {
	Groups   GroupStore
	Limits   LimitStore
	Users    Users    // nil: accounts are not checked
	Messages Messages // nil: events are dropped after the index is synced
	IDs      *ids.Generator
	Now      func() time.Time
	Logger   *slog.Logger
	Metrics  *Metrics
}

// Service runs the use cases. It is safe for concurrent use.
type Service struct {
	cfg Config
	Deps
	kick chan ids.ID
}

// New returns the use cases over deps.
func New(cfg Config, deps Deps) *Service {
	if cfg.Attempts < 1 {
		cfg.Attempts = 40
	}
	if cfg.MaxBatch < 1 {
		cfg.MaxBatch = 100
	}
	return &Service{cfg: cfg, Deps: deps, kick: make(chan ids.ID, 1024)}
}

// Identity is the signed-in caller, as the gateway vouches for it.
type Identity struct {
	UserID ids.ID
	Roles  []string
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

func errNoGroup() error { return errs.New(errs.NotFound, "no such group") }

// retry runs attempt until it does not return entity.ErrConflict, backing
// off with jitter so racing writers spread out. Racing changes of one
// group are serialized by the store's version check; a lost race re-reads
// the group and decides again (the limit is checked against what won).
func (s *Service) retry(ctx context.Context, attempt func() error) error {
	backoff := 2 * time.Millisecond
	for i := 0; ; i++ {
		err := attempt()
		if !errors.Is(err, entity.ErrConflict) {
			return err
		}
		if s.Metrics != nil {
			s.Metrics.Conflicts.Inc()
		}
		if i+1 >= s.cfg.Attempts {
			return errs.Wrap(err, errs.Unavailable, "the group is busy, try again")
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return storeError(ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// loadGroup returns a live group, not_found for missing and deleted ones.
func (s *Service) loadGroup(ctx context.Context, id ids.ID) (entity.Group, error) {
	g, err := s.Groups.Group(ctx, id)
	if errors.Is(err, entity.ErrNotFound) || (err == nil && g.Deleted) {
		return entity.Group{}, errNoGroup()
	}
	if err != nil {
		return entity.Group{}, storeError(err)
	}
	return g, nil
}

// actor returns the caller's membership of a live group. Non-members get
// not_found, like for a group that does not exist: they cannot probe ids.
func (s *Service) actor(ctx context.Context, group, user ids.ID) (entity.Group, entity.Member, error) {
	g, err := s.loadGroup(ctx, group)
	if err != nil {
		return g, entity.Member{}, err
	}
	m, err := s.Groups.Member(ctx, group, user)
	if errors.Is(err, entity.ErrNotFound) {
		return g, m, errNoGroup()
	}
	if err != nil {
		return g, m, storeError(err)
	}
	return g, m, nil
}

// owners counts the owners of a group (roles are read from the roster).
func (s *Service) owners(ctx context.Context, group ids.ID) (int, error) {
	all, err := s.Groups.Members(ctx, group, 0, 0)
	if err != nil {
		return 0, storeError(err)
	}
	n := 0
	for _, m := range all {
		if m.Role == entity.RoleOwner {
			n++
		}
	}
	return n, nil
}

// platformLimits returns the stored limits, or the configured ones.
func (s *Service) platformLimits(ctx context.Context) (entity.PlatformLimits, error) {
	l, err := s.Limits.PlatformLimits(ctx)
	if errors.Is(err, entity.ErrNotFound) {
		return s.cfg.Limits, nil
	}
	if err != nil {
		return l, storeError(err)
	}
	return l, nil
}

// apply writes a change and wakes the dispatcher for its events.
func (s *Service) apply(ctx context.Context, c Change) error {
	if err := s.Groups.Apply(ctx, c); err != nil {
		if errors.Is(err, entity.ErrConflict) {
			return err
		}
		return storeError(err)
	}
	if len(c.Events) > 0 {
		select {
		case s.kick <- c.Group.ID:
		default: // the periodic pass finds it
		}
	}
	return nil
}
