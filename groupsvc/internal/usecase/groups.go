package usecase

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// event starts an outbox event for a change that brings g to its version.
func (s *Service) event(g entity.Group, kind string, actor ids.ID) entity.Event {
	return entity.Event{GroupEvent: groupapi.GroupEvent{Group: g.ID, EventID: s.IDs.Next(), Kind: kind,
		Actor: actor, RosterVersion: g.Version}}
}

// checkUsers validates a list of users to add: not empty, bounded, no
// repeats, and every account exists (not_found names the first that does not).
func (s *Service) checkUsers(ctx context.Context, users []ids.ID, allowEmpty bool) error {
	if len(users) == 0 && !allowEmpty {
		return errs.New(errs.InvalidArgument, "users must not be empty").WithDetail("field", "users")
	}
	if len(users) > s.cfg.MaxBatch {
		return errs.Newf(errs.InvalidArgument, "at most %d users per request", s.cfg.MaxBatch).
			WithDetail("field", "users").WithDetail("max", itoa(s.cfg.MaxBatch))
	}
	seen := make(map[ids.ID]bool, len(users))
	for _, u := range users {
		if u <= 0 {
			return errs.New(errs.InvalidArgument, "user ids must be positive").WithDetail("field", "users")
		}
		if seen[u] {
			return errs.Newf(errs.InvalidArgument, "user %s is listed twice", u).WithDetail("user", u.String())
		}
		seen[u] = true
	}
	if s.Users == nil {
		return nil
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, 8)
	)
	for _, u := range users {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			ok, err := s.Users.Exists(ctx, u)
			switch {
			case err != nil:
				code := errs.CodeOf(err)
				if !code.Retryable() {
					code = errs.Unavailable
				}
				err = errs.Wrap(err, code, "could not check the users, try again")
			case !ok:
				err = errs.Newf(errs.NotFound, "no such user %s", u).WithDetail("user", u.String())
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// CreateInput is a new group.
type CreateInput struct {
	Caller    Identity
	Name      string
	Topic     string
	Avatar    ids.ID
	Members   []ids.ID // besides the caller, who becomes the owner
	SizeLimit int      // 0: the platform default
}

// CreateGroup creates a group with the caller as owner and the initial
// members, all of whom must exist.
func (s *Service) CreateGroup(ctx context.Context, in CreateInput) (entity.Group, error) {
	name, err := entity.NormalizeName(in.Name)
	if err != nil {
		return entity.Group{}, err
	}
	topic, err := entity.NormalizeTopic(in.Topic)
	if err != nil {
		return entity.Group{}, err
	}
	if in.Avatar < 0 {
		return entity.Group{}, errs.New(errs.InvalidArgument, "avatar must be a media id").WithDetail("field", "avatar")
	}
	members := slices.DeleteFunc(slices.Clone(in.Members), func(u ids.ID) bool { return u == in.Caller.UserID })
	limits, err := s.platformLimits(ctx)
	if err != nil {
		return entity.Group{}, err
	}
	if in.SizeLimit != 0 {
		if err := limits.CheckGroupLimit(in.SizeLimit); err != nil {
			return entity.Group{}, err
		}
	}
	now := s.now()
	g := entity.Group{ID: s.IDs.Next(), Name: name, Topic: topic, Avatar: in.Avatar, SizeLimit: in.SizeLimit,
		MemberCount: 1 + len(members), Version: 1, CreatedAt: now, CreatedBy: in.Caller.UserID}
	if err := s.limitCheck(limits, g, g.MemberCount); err != nil {
		return entity.Group{}, err
	}
	if err := s.checkUsers(ctx, members, true); err != nil {
		return entity.Group{}, err
	}
	put := []entity.Member{{Group: g.ID, User: in.Caller.UserID, Role: entity.RoleOwner, JoinedAt: now}}
	for _, u := range members {
		put = append(put, entity.Member{Group: g.ID, User: u, Role: entity.RoleMember, JoinedAt: now})
	}
	ev := s.event(g, groupapi.EventGroupCreated, in.Caller.UserID)
	ev.Name = name
	for _, m := range put {
		ev.Users = append(ev.Users, m.User)
		ev.Put = append(ev.Put, m.Membership())
	}
	err = s.apply(ctx, Change{Group: g, Put: put, Events: []entity.Event{ev}})
	if errors.Is(err, entity.ErrConflict) { // a fresh id exists: never, unless ids repeat
		return entity.Group{}, errs.Wrap(err, errs.Internal, "group id already taken")
	}
	return g, err
}

func (s *Service) limitCheck(l entity.PlatformLimits, g entity.Group, size int) error {
	err := l.CheckJoin(g, size)
	if e, ok := errs.As(err); ok && s.Metrics != nil {
		s.Metrics.LimitRejections.WithLabelValues(e.Details["limit"]).Inc()
	}
	return err
}

// SettingsInput changes a group's settings; nil fields stay as they are.
type SettingsInput struct {
	Caller Identity
	Group  ids.ID
	Name   *string
	Topic  *string
	Avatar *ids.ID // 0 clears it
}

// UpdateSettings renames the group or sets its topic or avatar (owners and
// admins). A rename posts group_renamed, the others group_updated.
func (s *Service) UpdateSettings(ctx context.Context, in SettingsInput) (entity.Group, error) {
	var name, topic string
	var err error
	if in.Name != nil {
		if name, err = entity.NormalizeName(*in.Name); err != nil {
			return entity.Group{}, err
		}
	}
	if in.Topic != nil {
		if topic, err = entity.NormalizeTopic(*in.Topic); err != nil {
			return entity.Group{}, err
		}
	}
	if in.Avatar != nil && *in.Avatar < 0 {
		return entity.Group{}, errs.New(errs.InvalidArgument, "avatar must be a media id").WithDetail("field", "avatar")
	}
	var out entity.Group
	err = s.retry(ctx, func() error {
		g, me, err := s.actor(ctx, in.Group, in.Caller.UserID)
		if err != nil {
			return err
		}
		if err := entity.CanEditSettings(me.Role); err != nil {
			return err
		}
		next := g
		next.Version++
		var events []entity.Event
		if in.Name != nil && name != g.Name {
			next.Name = name
			ev := s.event(next, groupapi.EventGroupRenamed, in.Caller.UserID)
			ev.Name = name
			events = append(events, ev)
		}
		updated := false
		if in.Topic != nil && topic != g.Topic {
			next.Topic, updated = topic, true
		}
		if in.Avatar != nil && *in.Avatar != g.Avatar {
			next.Avatar, updated = *in.Avatar, true
		}
		if updated {
			events = append(events, s.event(next, groupapi.EventGroupUpdated, in.Caller.UserID))
		}
		if len(events) == 0 {
			out = g
			return nil
		}
		out = next
		return s.apply(ctx, Change{Group: next, Expect: g.Version, Events: events})
	})
	return out, err
}

// SetGroupLimit sets the group's size limit (owners and admins), between 2
// and the platform ceiling. A limit below the current size blocks joins
// and evicts nobody.
func (s *Service) SetGroupLimit(ctx context.Context, caller Identity, group ids.ID, limit int) (entity.Group, error) {
	var out entity.Group
	err := s.retry(ctx, func() error {
		g, me, err := s.actor(ctx, group, caller.UserID)
		if err != nil {
			return err
		}
		if err := entity.CanEditSettings(me.Role); err != nil {
			return err
		}
		limits, err := s.platformLimits(ctx)
		if err != nil {
			return err
		}
		if err := limits.CheckGroupLimit(limit); err != nil {
			return err
		}
		if g.SizeLimit == limit {
			out = g
			return nil
		}
		next := g
		next.Version++
		next.SizeLimit = limit
		out = next
		return s.apply(ctx, Change{Group: next, Expect: g.Version,
			Events: []entity.Event{s.event(next, groupapi.EventGroupUpdated, caller.UserID)}})
	})
	return out, err
}

// DeleteGroup deletes the group (owners). Members lose access at once; the
// member rows stay until messagesvc has the group_deleted event (which
// names them all), then go.
func (s *Service) DeleteGroup(ctx context.Context, caller Identity, group ids.ID) error {
	return s.retry(ctx, func() error {
		g, me, err := s.actor(ctx, group, caller.UserID)
		if err != nil {
			return err
		}
		if err := entity.CanDelete(me.Role); err != nil {
			return err
		}
		next := g
		next.Version++
		next.Deleted = true
		return s.apply(ctx, Change{Group: next, Expect: g.Version,
			Events: []entity.Event{s.event(next, groupapi.EventGroupDeleted, caller.UserID)}})
	})
}
