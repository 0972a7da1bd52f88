package usecase

import (
	"context"
	"log/slog"
	"time"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// Backoff of a group whose event messagesvc did not take.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// RunDispatcher posts outbox events until ctx ends: at once for the groups
// this process changed, and every `every` for whatever any replica left
// pending (a crash between a change and its post, messagesvc down). A
// group's events go in order; the first failure stops that group until
// its backoff passes, so a later event never overtakes an earlier one.
func (s *Service) RunDispatcher(ctx context.Context, every time.Duration) {
	d := &dispatcher{s: s, backoff: map[ids.ID]time.Duration{}, next: map[ids.ID]time.Time{}}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case g := <-s.kick:
			d.group(ctx, g)
		case <-t.C:
			d.pass(ctx)
		}
	}
}

// DispatchPending delivers every pending event once, in order, and
// returns the first failure (for tests and the admin tooling).
func (s *Service) DispatchPending(ctx context.Context) error {
	groups, err := s.Groups.PendingGroups(ctx, 0)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := s.dispatchGroup(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

type dispatcher struct {
	s       *Service
	backoff map[ids.ID]time.Duration
	next    map[ids.ID]time.Time
}

func (d *dispatcher) pass(ctx context.Context) {
	groups, err := d.s.Groups.PendingGroups(ctx, 0)
	if err != nil {
		d.s.Logger.Warn("listing pending group events failed", slog.Any("err", err))
		return
	}
	depth := 0
	for _, g := range groups {
		depth += d.group(ctx, g)
	}
	if d.s.Metrics != nil {
		d.s.Metrics.OutboxDepth.Set(float64(depth))
	}
}

// group dispatches one group unless it is backing off; it returns how
// many events are left.
func (d *dispatcher) group(ctx context.Context, g ids.ID) int {
	if at, ok := d.next[g]; ok && time.Now().Before(at) {
		return 1
	}
	left, err := d.s.dispatchGroup(ctx, g)
	if err == nil {
		delete(d.backoff, g)
		delete(d.next, g)
		return 0
	}
	b := min(max(d.backoff[g]*2, minBackoff), maxBackoff)
	d.backoff[g], d.next[g] = b, time.Now().Add(b)
	d.s.Logger.Warn("delivering a group event failed; retrying", slog.String("group", g.String()),
		slog.Duration("backoff", b), slog.Any("err", err))
	return left
}

// dispatchGroup delivers the group's pending events in order: the per-user
// index is written again (idempotent), the event posted (EventID is
// messagesvc's idempotency key), and only then removed from the outbox.
func (s *Service) dispatchGroup(ctx context.Context, g ids.ID) (int, error) {
	evs, err := s.Groups.Outbox(ctx, g)
	if err != nil {
		return 1, err
	}
	for i, ev := range evs {
		if ev.Kind == groupapi.EventGroupDeleted && len(ev.Removed) == 0 {
			ms, err := s.Groups.Members(ctx, g, 0, 0)
			if err != nil {
				return len(evs) - i, err
			}
			for _, m := range ms {
				ev.Removed = append(ev.Removed, m.User)
			}
		}
		if err := s.Groups.SyncMemberships(ctx, ev); err != nil {
			return len(evs) - i, err
		}
		if err := s.post(ctx, ev.GroupEvent); err != nil {
			if !rejected(err) {
				return len(evs) - i, err
			}
			// messagesvc will never take this event: retrying would stall
			// every later event of the group behind it.
			s.Logger.Error("messagesvc rejected a group event; it is dropped", slog.String("group", g.String()),
				slog.String("event", ev.EventID.String()), slog.String("kind", ev.Kind), slog.Any("err", err))
		}
		if err := s.Groups.Ack(ctx, g, ev.EventID); err != nil {
			return len(evs) - i, err
		}
		if ev.Kind == groupapi.EventGroupDeleted {
			if err := s.Groups.PurgeMembers(ctx, g); err != nil {
				s.Logger.Warn("purging a deleted group's members failed", slog.String("group", g.String()), slog.Any("err", err))
			}
		}
	}
	return 0, s.Groups.ForgetIfIdle(ctx, g)
}

func (s *Service) post(ctx context.Context, ev groupapi.GroupEvent) error {
	if s.Messages == nil {
		s.count("dropped")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Messages.PostGroupEvent(ctx, ev); err != nil {
		if rejected(err) {
			s.count("rejected")
		} else {
			s.count("error")
		}
		return err
	}
	s.count("ok")
	return nil
}

func (s *Service) count(outcome string) {
	if s.Metrics != nil {
		s.Metrics.EventPosts.WithLabelValues(outcome).Inc()
	}
}

// rejected reports an answer that no retry changes: the event itself is
// invalid for messagesvc. Everything else (unreachable, 5xx, an unknown
// route during a rollout) is retried.
func rejected(err error) bool {
	c := errs.CodeOf(err)
	return c == errs.InvalidArgument || c == errs.PayloadTooLarge
}
