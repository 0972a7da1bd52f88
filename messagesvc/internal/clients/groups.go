package clients

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
)

var _ usecase.Groups = (*Groups)(nil)

// Groups asks groupsvc for rosters and memberships, with a cache. A cached
// roster is dropped at once when a GroupEvent for its group arrives
// (Invalidate, driven by the event endpoint), so a removed member stops
// receiving immediately; the TTL is the backstop for an event that never
// came (groupsvc crashed between its write and the post). Concurrent
// misses for one group share one call.
type Groups struct {
	client *kit.Client
	ttl    time.Duration
	now    func() time.Time

	mu          sync.Mutex
	rosters     map[ids.ID]cachedRoster
	minVersion  map[ids.ID]int64 // versions announced by events: an older roster is never cached
	inflight    map[ids.ID]*rosterCall
	memberships map[ids.ID]cachedMemberships
}

type cachedRoster struct {
	roster groupapi.Roster
	at     time.Time
}

type cachedMemberships struct {
	groups []groupapi.Membership
	at     time.Time
}

type rosterCall struct {
	done   chan struct{}
	roster groupapi.Roster
	err    error
}

// maxCachedGroups bounds each cache; past it, it starts over.
const maxCachedGroups = 1 << 16

// NewGroups returns the groupsvc adapter; ttl bounds how long a roster or
// a user's memberships are trusted without an event (a few seconds).
func NewGroups(client *kit.Client, ttl time.Duration) *Groups {
	return &Groups{client: client, ttl: ttl, now: time.Now, rosters: map[ids.ID]cachedRoster{},
		minVersion: map[ids.ID]int64{}, inflight: map[ids.ID]*rosterCall{}, memberships: map[ids.ID]cachedMemberships{}}
}

// Roster implements usecase.Groups.
func (g *Groups) Roster(ctx context.Context, group ids.ID) (groupapi.Roster, error) {
	g.mu.Lock()
	if c, ok := g.rosters[group]; ok && g.now().Sub(c.at) < g.ttl {
		g.mu.Unlock()
		return c.roster, nil
	}
	call, joined := g.inflight[group]
	if !joined {
		call = &rosterCall{done: make(chan struct{})}
		g.inflight[group] = call
	}
	g.mu.Unlock()
	if joined {
		select {
		case <-call.done:
			return call.roster, call.err
		case <-ctx.Done():
			return groupapi.Roster{}, ctx.Err()
		}
	}
	start := g.now()
	var r groupapi.Roster
	err := g.client.Do(ctx, http.MethodGet, path(groupapi.PathRoster, ":group", group), nil, &r)
	g.mu.Lock()
	delete(g.inflight, group)
	if err == nil && r.Version >= g.minVersion[group] {
		if len(g.rosters) >= maxCachedGroups {
			g.rosters = map[ids.ID]cachedRoster{}
		}
		g.rosters[group] = cachedRoster{roster: r, at: start}
	}
	g.mu.Unlock()
	call.roster, call.err = r, err
	close(call.done)
	return r, err
}

// Memberships implements usecase.Groups.
func (g *Groups) Memberships(ctx context.Context, user ids.ID) ([]groupapi.Membership, error) {
	g.mu.Lock()
	if c, ok := g.memberships[user]; ok && g.now().Sub(c.at) < g.ttl {
		g.mu.Unlock()
		return c.groups, nil
	}
	g.mu.Unlock()
	start := g.now()
	var m groupapi.Memberships
	if err := g.client.Do(ctx, http.MethodGet, path(groupapi.PathMemberships, ":user", user), nil, &m); err != nil {
		return nil, err
	}
	g.mu.Lock()
	if len(g.memberships) >= maxCachedGroups {
		g.memberships = map[ids.ID]cachedMemberships{}
	}
	g.memberships[user] = cachedMemberships{groups: m.Groups, at: start}
	g.mu.Unlock()
	return m.Groups, nil
}

// Invalidate implements usecase.Groups: the roster of group changed to
// version, and users' memberships changed with it.
func (g *Groups) Invalidate(group ids.ID, version int64, users []ids.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.rosters[group]; !ok || c.roster.Version < version || version == 0 {
		delete(g.rosters, group)
	}
	if version > g.minVersion[group] {
		if len(g.minVersion) >= maxCachedGroups {
			g.minVersion = map[ids.ID]int64{}
		}
		g.minVersion[group] = version
	}
	for _, u := range users {
		delete(g.memberships, u)
	}
}

func path(pattern, param string, id ids.ID) string {
	return strings.Replace(pattern, param, id.String(), 1)
}
