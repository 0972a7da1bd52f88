package usecase

import (
	"context"
	"errors"
	"sync"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// Page bounds of the listings.
const (
	DefaultPage = 50
	MaxPage     = 200
)

// CheckPage validates a page size; 0 is the default.
func CheckPage(limit int) (int, error) {
	if limit == 0 {
		return DefaultPage, nil
	}
	if limit < 1 || limit > MaxPage {
		return 0, errs.Newf(errs.InvalidArgument, "limit must be between 1 and %d", MaxPage).
			WithDetail("field", "limit").WithDetail("max", itoa(MaxPage))
	}
	return limit, nil
}

// GroupView is a group as one member sees it.
type GroupView struct {
	Group  entity.Group
	Me     entity.Member
	Limit  int    // the effective size limit
	Which  string // which limit that is: group or platform
	Limits entity.PlatformLimits
}

func (s *Service) view(ctx context.Context, g entity.Group, me entity.Member) (GroupView, error) {
	l, err := s.platformLimits(ctx)
	if err != nil {
		return GroupView{}, err
	}
	max, which := l.Effective(g)
	return GroupView{Group: g, Me: me, Limit: max, Which: which, Limits: l}, nil
}

// GetGroup returns a group the caller is a member of.
func (s *Service) GetGroup(ctx context.Context, caller Identity, group ids.ID) (GroupView, error) {
	g, me, err := s.actor(ctx, group, caller.UserID)
	if err != nil {
		return GroupView{}, err
	}
	return s.view(ctx, g, me)
}

// View returns the view of g for the caller's membership me (after a change).
func (s *Service) View(ctx context.Context, g entity.Group, me entity.Member) (GroupView, error) {
	return s.view(ctx, g, me)
}

// MyGroups lists the caller's groups by group id, after the cursor.
func (s *Service) MyGroups(ctx context.Context, caller Identity, after ids.ID, limit int) ([]GroupView, ids.ID, error) {
	limit, err := CheckPage(limit)
	if err != nil {
		return nil, 0, err
	}
	ms, err := s.Groups.Memberships(ctx, caller.UserID, after, limit)
	if err != nil {
		return nil, 0, storeError(err)
	}
	l, err := s.platformLimits(ctx)
	if err != nil {
		return nil, 0, err
	}
	views := make([]*GroupView, len(ms))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, 16)
	)
	for i, m := range ms {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			g, err := s.Groups.Group(ctx, m.Group)
			if errors.Is(err, entity.ErrNotFound) || (err == nil && g.Deleted) {
				return // an index entry the dispatcher has not removed yet
			}
			if err != nil {
				mu.Lock()
				first = storeError(err)
				mu.Unlock()
				return
			}
			max, which := l.Effective(g)
			views[i] = &GroupView{Group: g, Limit: max, Which: which, Limits: l,
				Me: entity.Member{Group: m.Group, User: m.User, Role: m.Role, JoinedAt: m.JoinedAt}}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, 0, first
	}
	out := make([]GroupView, 0, len(ms))
	for _, v := range views {
		if v != nil {
			out = append(out, *v)
		}
	}
	var next ids.ID
	if len(ms) == limit {
		next = ms[len(ms)-1].Group
	}
	return out, next, nil
}

// ListMembers pages through a group's members by user id (members only).
func (s *Service) ListMembers(ctx context.Context, caller Identity, group, after ids.ID, limit int) ([]entity.Member, ids.ID, error) {
	limit, err := CheckPage(limit)
	if err != nil {
		return nil, 0, err
	}
	if _, _, err := s.actor(ctx, group, caller.UserID); err != nil {
		return nil, 0, err
	}
	ms, err := s.Groups.Members(ctx, group, after, limit)
	if err != nil {
		return nil, 0, storeError(err)
	}
	var next ids.ID
	if len(ms) == limit {
		next = ms[len(ms)-1].User
	}
	return ms, next, nil
}

// Roster is the whole current membership, for messagesvc.
func (s *Service) Roster(ctx context.Context, group ids.ID) (groupapi.Roster, error) {
	g, err := s.loadGroup(ctx, group)
	if err != nil {
		return groupapi.Roster{}, err
	}
	ms, err := s.Groups.Members(ctx, group, 0, 0)
	if err != nil {
		return groupapi.Roster{}, storeError(err)
	}
	r := groupapi.Roster{Group: g.ID, Version: g.Version, Members: make([]groupapi.Member, len(ms))}
	for i, m := range ms {
		r.Members[i] = groupapi.Member{User: m.User, Role: m.Role, JoinedAtMs: m.JoinedAt.UnixMilli()}
	}
	return r, nil
}

// RosterMember is one current member, for messagesvc.
func (s *Service) RosterMember(ctx context.Context, group, user ids.ID) (groupapi.Member, error) {
	_, m, err := s.actor(ctx, group, user)
	if err != nil {
		return groupapi.Member{}, err // not_found for a missing group and a non-member alike
	}
	return groupapi.Member{User: m.User, Role: m.Role, JoinedAtMs: m.JoinedAt.UnixMilli()}, nil
}

// UserMemberships lists every group the user is a current member of.
func (s *Service) UserMemberships(ctx context.Context, user ids.ID) (groupapi.Memberships, error) {
	ms, err := s.Groups.Memberships(ctx, user, 0, 0)
	if err != nil {
		return groupapi.Memberships{}, storeError(err)
	}
	out := groupapi.Memberships{User: user, Groups: make([]groupapi.Membership, len(ms))}
	for i, m := range ms {
		out.Groups[i] = groupapi.Membership{Group: m.Group, Role: m.Role, JoinedAtMs: m.JoinedAt.UnixMilli()}
	}
	return out, nil
}

// RosterVersion is the current version of a live group: a cached roster
// of that version is current (every change moves the version in the same
// atomic write as the member rows).
func (s *Service) RosterVersion(ctx context.Context, group ids.ID) (int64, error) {
	g, err := s.loadGroup(ctx, group)
	return g.Version, err
}
