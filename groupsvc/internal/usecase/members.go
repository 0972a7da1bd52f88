package usecase

import (
	"context"
	"errors"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// AddResult is what an add did.
type AddResult struct {
	Group   entity.Group
	Added   []entity.Member
	Already []ids.ID // were members already: skipped, so a retried add is harmless
}

// AddMembers adds users to the group (owners and admins), all or none:
// every user must exist, and the group must stay within its limit. Users
// already in the group are skipped. Concurrent adds never overshoot the
// limit: each is written only if the group is still at the version its
// check read, and a lost race checks again against what won.
func (s *Service) AddMembers(ctx context.Context, caller Identity, group ids.ID, users []ids.ID) (AddResult, error) {
	if err := s.checkUsers(ctx, users, false); err != nil {
		return AddResult{}, err
	}
	var out AddResult
	err := s.retry(ctx, func() error {
		out = AddResult{}
		g, me, err := s.actor(ctx, group, caller.UserID)
		if err != nil {
			return err
		}
		if err := entity.CanAdd(me.Role); err != nil {
			return err
		}
		in, err := s.present(ctx, group, users)
		if err != nil {
			return err
		}
		var fresh []ids.ID
		for _, u := range users {
			if in[u] {
				out.Already = append(out.Already, u)
			} else {
				fresh = append(fresh, u)
			}
		}
		out.Group = g
		if len(fresh) == 0 {
			return nil
		}
		limits, err := s.platformLimits(ctx)
		if err != nil {
			return err
		}
		if err := s.limitCheck(limits, g, g.MemberCount+len(fresh)); err != nil {
			return err
		}
		next := g
		next.Version++
		next.MemberCount += len(fresh)
		now := s.now()
		ev := s.event(next, groupapi.EventMemberAdded, caller.UserID)
		for _, u := range fresh {
			m := entity.Member{Group: g.ID, User: u, Role: entity.RoleMember, JoinedAt: now}
			out.Added = append(out.Added, m)
			ev.Users = append(ev.Users, u)
			ev.Put = append(ev.Put, m.Membership())
		}
		out.Group = next
		return s.apply(ctx, Change{Group: next, Expect: g.Version, Put: out.Added, Events: []entity.Event{ev}})
	})
	return out, err
}

// RemoveMember removes target (owners remove anyone but the last owner,
// admins remove members). Removing oneself is leaving.
func (s *Service) RemoveMember(ctx context.Context, caller Identity, group, target ids.ID) error {
	if target == caller.UserID {
		return s.Leave(ctx, caller, group)
	}
	return s.retry(ctx, func() error {
		g, me, err := s.actor(ctx, group, caller.UserID)
		if err != nil {
			return err
		}
		victim, err := s.member(ctx, group, target)
		if err != nil {
			return err
		}
		owners, err := s.owners(ctx, group)
		if err != nil {
			return err
		}
		if err := entity.CanRemove(me.Role, victim.Role, owners); err != nil {
			return err
		}
		return s.removeMembers(ctx, g, caller.UserID, groupapi.EventMemberRemoved, target)
	})
}

// Leave removes the caller from the group; the last owner hands over first.
func (s *Service) Leave(ctx context.Context, caller Identity, group ids.ID) error {
	return s.retry(ctx, func() error {
		g, me, err := s.actor(ctx, group, caller.UserID)
		if err != nil {
			return err
		}
		owners, err := s.owners(ctx, group)
		if err != nil {
			return err
		}
		if err := entity.CanLeave(me.Role, owners); err != nil {
			return err
		}
		return s.removeMembers(ctx, g, caller.UserID, groupapi.EventMemberLeft, caller.UserID)
	})
}

func (s *Service) removeMembers(ctx context.Context, g entity.Group, actor ids.ID, kind string, users ...ids.ID) error {
	next := g
	next.Version++
	next.MemberCount -= len(users)
	ev := s.event(next, kind, actor)
	ev.Users, ev.Removed = users, users
	return s.apply(ctx, Change{Group: next, Expect: g.Version, Delete: users, Events: []entity.Event{ev}})
}

// member returns a current member other than the caller.
func (s *Service) member(ctx context.Context, group, user ids.ID) (entity.Member, error) {
	m, err := s.Groups.Member(ctx, group, user)
	if errors.Is(err, entity.ErrNotFound) {
		return m, errs.Newf(errs.NotFound, "user %s is not a member of this group", user).WithDetail("user", user.String())
	}
	if err != nil {
		return m, storeError(err)
	}
	return m, nil
}

// ChangeRole sets target's role (owners only; the last owner is never
// demoted). Making someone else owner is how ownership is handed over.
func (s *Service) ChangeRole(ctx context.Context, caller Identity, group, target ids.ID, role string) (entity.Member, error) {
	if !entity.ValidRole(role) {
		return entity.Member{}, errs.Newf(errs.InvalidArgument, "role must be owner, admin or member, not %q", role).
			WithDetail("field", "role")
	}
	var out entity.Member
	err := s.retry(ctx, func() error {
		g, me, err := s.actor(ctx, group, caller.UserID)
		if err != nil {
			return err
		}
		m, err := s.member(ctx, group, target)
		if err != nil {
			return err
		}
		owners, err := s.owners(ctx, group)
		if err != nil {
			return err
		}
		if err := entity.CanChangeRole(me.Role, m.Role, role, owners); err != nil {
			return err
		}
		out = m
		if m.Role == role {
			return nil
		}
		next := g
		next.Version++
		out.Role = role
		ev := s.event(next, groupapi.EventRoleChanged, caller.UserID)
		ev.Users = []ids.ID{target}
		ev.Put = []entity.Membership{out.Membership()}
		return s.apply(ctx, Change{Group: next, Expect: g.Version, Put: []entity.Member{out}, Events: []entity.Event{ev}})
	})
	return out, err
}

// pointReads is the batch size up to which present looks users up one by
// one; above it, reading the whole roster once is cheaper.
const pointReads = 8

// present returns which of users are members of the group.
func (s *Service) present(ctx context.Context, group ids.ID, users []ids.ID) (map[ids.ID]bool, error) {
	in := make(map[ids.ID]bool, len(users))
	if len(users) <= pointReads {
		for _, u := range users {
			_, err := s.Groups.Member(ctx, group, u)
			switch {
			case err == nil:
				in[u] = true
			case !errors.Is(err, entity.ErrNotFound):
				return nil, storeError(err)
			}
		}
		return in, nil
	}
	all, err := s.Groups.Members(ctx, group, 0, 0)
	if err != nil {
		return nil, storeError(err)
	}
	for _, m := range all {
		in[m.User] = true
	}
	return in, nil
}
