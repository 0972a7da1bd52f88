// Package storetest is the contract every groupsvc store adapter passes
// (embedded and Cassandra). It lives in a non-test file so each adapter's
// tests can run it. Cases use fresh ids, so adapters may share one
// keyspace; the platform limits are per store, so newStore must return a
// store of its own (or its own scope) for every case.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// Store is everything an adapter implements.
type Store interface {
	usecase.GroupStore
	usecase.LimitStore
}

// Run runs the contract suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	var b [2]byte
	_, _ = rand.Read(b[:])
	gen, _ := ids.NewGenerator(int(b[0])<<2 | int(b[1])&3) // random node: runs sharing a keyspace never collide
	s := &suite{newStore: newStore, ids: gen}
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"CreatedGroupReadsBackWithMembersIndexAndOutbox", s.createReadsBack},
		{"CreateOfAnExistingGroupIsConflict", s.createTwice},
		{"UnknownGroupAndMemberAreNotFound", s.unknown},
		{"StaleVersionIsConflictAndWritesNothing", s.stale},
		{"ConcurrentChangesOfOneVersionHaveExactlyOneWinner", s.concurrentChanges},
		{"ConcurrentAddsStopExactlyAtTheLimit", s.concurrentAdds},
		{"MembersAndMembershipsPageInIDOrder", s.paging},
		{"RemovedMemberLosesRowAndIndexEntry", s.remove},
		{"RepeatedOlderEventNeverUndoesANewerOne", s.repeatOlder},
		{"AckEmptiesTheOutboxAndIdleGroupsLeaveThePendingList", s.ack},
		{"DeletedGroupKeepsRowsUntilPurged", s.deleted},
		{"PlatformLimitsAreConditionalAndAudited", s.limits},
	} {
		t.Run(c.name, c.fn)
	}
}

type suite struct {
	newStore func(t *testing.T) Store
	ids      *ids.Generator
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// now is a millisecond-precision time, what every adapter keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// create writes a group owned by owner with members, version 1.
func (s *suite) create(t *testing.T, st Store, owner ids.ID, members ...ids.ID) (entity.Group, entity.Event) {
	t.Helper()
	at := now()
	g := entity.Group{ID: s.ids.Next(), Name: "team", Topic: "plans", Avatar: s.ids.Next(), SizeLimit: 10,
		MemberCount: 1 + len(members), Version: 1, CreatedAt: at, CreatedBy: owner}
	put := []entity.Member{{Group: g.ID, User: owner, Role: entity.RoleOwner, JoinedAt: at}}
	for _, u := range members {
		put = append(put, entity.Member{Group: g.ID, User: u, Role: entity.RoleMember, JoinedAt: at})
	}
	ev := entity.Event{GroupEvent: groupapi.GroupEvent{Group: g.ID, EventID: s.ids.Next(), Kind: groupapi.EventGroupCreated,
		Actor: owner, Name: g.Name, RosterVersion: 1}}
	for _, m := range put {
		ev.Users = append(ev.Users, m.User)
		ev.Put = append(ev.Put, m.Membership())
	}
	if err := st.Apply(ctx(t), usecase.Change{Group: g, Put: put, Events: []entity.Event{ev}}); err != nil {
		t.Fatalf("create: %v", err)
	}
	return g, ev
}

func (s *suite) users(n int) []ids.ID {
	out := make([]ids.ID, n)
	for i := range out {
		out[i] = s.ids.Next()
	}
	return out
}

func userIDs(ms []entity.Member) []ids.ID {
	out := make([]ids.ID, len(ms))
	for i, m := range ms {
		out[i] = m.User
	}
	return out
}

func groupsOf(ms []entity.Membership) []ids.ID {
	out := make([]ids.ID, len(ms))
	for i, m := range ms {
		out[i] = m.Group
	}
	return out
}

func (s *suite) createReadsBack(t *testing.T) {
	st := s.newStore(t)
	u := s.users(3)
	g, ev := s.create(t, st, u[0], u[1], u[2])
	got, err := st.Group(ctx(t), g.ID)
	if err != nil || got != g {
		t.Fatalf("group = %+v, %v; want %+v", got, err, g)
	}
	m, err := st.Member(ctx(t), g.ID, u[0])
	if err != nil || m.Role != entity.RoleOwner || !m.JoinedAt.Equal(g.CreatedAt) {
		t.Fatalf("owner = %+v, %v", m, err)
	}
	all, err := st.Members(ctx(t), g.ID, 0, 0)
	if err != nil || !slices.Equal(userIDs(all), u) {
		t.Fatalf("members = %v, %v; want %v", userIDs(all), err, u)
	}
	ms, err := st.Memberships(ctx(t), u[1], 0, 0)
	if err != nil || len(ms) != 1 || ms[0].Group != g.ID || ms[0].Role != entity.RoleMember {
		t.Fatalf("memberships of a member = %+v, %v", ms, err)
	}
	out, err := st.Outbox(ctx(t), g.ID)
	if err != nil || len(out) != 1 || out[0].EventID != ev.EventID || out[0].Kind != ev.Kind ||
		!slices.Equal(out[0].Users, ev.Users) || len(out[0].Put) != 3 || !out[0].Put[0].JoinedAt.Equal(g.CreatedAt) {
		t.Fatalf("outbox = %+v, %v", out, err)
	}
	pending, err := st.PendingGroups(ctx(t), 0)
	if err != nil || !slices.Contains(pending, g.ID) {
		t.Fatalf("pending = %v, %v; want %v in it", pending, err, g.ID)
	}
}

func (s *suite) createTwice(t *testing.T) {
	st := s.newStore(t)
	u := s.users(2)
	g, _ := s.create(t, st, u[0])
	again := g
	again.Name = "other"
	err := st.Apply(ctx(t), usecase.Change{Group: again, Put: []entity.Member{{Group: g.ID, User: u[1], Role: entity.RoleOwner, JoinedAt: now()}}})
	if !errors.Is(err, entity.ErrConflict) {
		t.Fatalf("second create = %v, want conflict", err)
	}
	if got, _ := st.Group(ctx(t), g.ID); got.Name != "team" {
		t.Fatalf("second create changed the group: %+v", got)
	}
	if _, err := st.Member(ctx(t), g.ID, u[1]); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("second create wrote a member: %v", err)
	}
}

func (s *suite) unknown(t *testing.T) {
	st := s.newStore(t)
	if _, err := st.Group(ctx(t), s.ids.Next()); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	u := s.users(2)
	g, _ := s.create(t, st, u[0])
	if _, err := st.Member(ctx(t), g.ID, u[1]); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("non-member: %v", err)
	}
	if ms, err := st.Members(ctx(t), s.ids.Next(), 0, 0); err != nil || len(ms) != 0 {
		t.Fatalf("members of an unknown group: %v, %v", ms, err)
	}
	if out, err := st.Outbox(ctx(t), s.ids.Next()); err != nil || len(out) != 0 {
		t.Fatalf("outbox of an unknown group: %v, %v", out, err)
	}
}

// add builds the change adding users to g (at g.Version).
func (s *suite) add(g entity.Group, actor ids.ID, users ...ids.ID) usecase.Change {
	next := g
	next.Version++
	next.MemberCount += len(users)
	at := now()
	ev := entity.Event{GroupEvent: groupapi.GroupEvent{Group: g.ID, EventID: s.ids.Next(), Kind: groupapi.EventMemberAdded,
		Actor: actor, Users: users, RosterVersion: next.Version}}
	var put []entity.Member
	for _, u := range users {
		m := entity.Member{Group: g.ID, User: u, Role: entity.RoleMember, JoinedAt: at}
		put = append(put, m)
		ev.Put = append(ev.Put, m.Membership())
	}
	return usecase.Change{Group: next, Expect: g.Version, Put: put, Events: []entity.Event{ev}}
}

func (s *suite) remove1(g entity.Group, actor, user ids.ID) usecase.Change {
	next := g
	next.Version++
	next.MemberCount--
	ev := entity.Event{GroupEvent: groupapi.GroupEvent{Group: g.ID, EventID: s.ids.Next(), Kind: groupapi.EventMemberRemoved,
		Actor: actor, Users: []ids.ID{user}, Removed: []ids.ID{user}, RosterVersion: next.Version}}
	return usecase.Change{Group: next, Expect: g.Version, Delete: []ids.ID{user}, Events: []entity.Event{ev}}
}

func (s *suite) stale(t *testing.T) {
	st := s.newStore(t)
	u := s.users(3)
	g, _ := s.create(t, st, u[0])
	if err := st.Apply(ctx(t), s.add(g, u[0], u[1])); err != nil {
		t.Fatal(err)
	}
	err := st.Apply(ctx(t), s.add(g, u[0], u[2])) // still at version 1
	if !errors.Is(err, entity.ErrConflict) {
		t.Fatalf("stale change = %v, want conflict", err)
	}
	if _, err := st.Member(ctx(t), g.ID, u[2]); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("stale change wrote its member: %v", err)
	}
	if ms, _ := st.Memberships(ctx(t), u[2], 0, 0); len(ms) != 0 {
		t.Fatalf("stale change wrote its index entry: %v", ms)
	}
	if out, _ := st.Outbox(ctx(t), g.ID); len(out) != 2 {
		t.Fatalf("outbox has %d events, want the 2 applied ones", len(out))
	}
	if got, _ := st.Group(ctx(t), g.ID); got.Version != 2 || got.MemberCount != 2 {
		t.Fatalf("group = %+v", got)
	}
}

func (s *suite) concurrentChanges(t *testing.T) {
	st := s.newStore(t)
	u := s.users(9)
	g, _ := s.create(t, st, u[0])
	var wins, conflicts int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, user := range u[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.Apply(ctx(t), s.add(g, u[0], user))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, entity.ErrConflict):
				conflicts++
			default:
				t.Errorf("apply: %v", err)
			}
		}()
	}
	wg.Wait()
	all, _ := st.Members(ctx(t), g.ID, 0, 0)
	if wins != 1 || conflicts != 7 || len(all) != 2 {
		t.Fatalf("wins %d, conflicts %d, members %d; want 1, 7, 2", wins, conflicts, len(all))
	}
}

// concurrentAdds runs the real add use case: 20 racing adds of one user
// each to a group limited to 10 leave exactly 10 members.
func (s *suite) concurrentAdds(t *testing.T) {
	st := s.newStore(t)
	svc := usecase.New(usecase.Config{Limits: entity.PlatformLimits{Default: 100, Ceiling: 1000}, HardMax: 1000, Attempts: 200},
		usecase.Deps{Groups: st, Limits: st, IDs: s.ids, Now: time.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	owner := s.ids.Next()
	g, err := svc.CreateGroup(ctx(t), usecase.CreateInput{Caller: usecase.Identity{UserID: owner}, Name: "race", SizeLimit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ok, full int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range s.users(20) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.AddMembers(ctx(t), usecase.Identity{UserID: owner}, g.ID, []ids.ID{u})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errs.Is(err, errs.LimitExceeded):
				full++
			default:
				t.Errorf("add: %v", err)
			}
		}()
	}
	wg.Wait()
	all, err := st.Members(ctx(t), g.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.Group(ctx(t), g.ID)
	if ok != 9 || full != 11 || len(all) != 10 || got.MemberCount != 10 || got.Version != 10 {
		t.Fatalf("added %d, refused %d, members %d, count %d, version %d; want 9, 11, 10, 10, 10",
			ok, full, len(all), got.MemberCount, got.Version)
	}
}

func (s *suite) paging(t *testing.T) {
	st := s.newStore(t)
	u := s.users(6)
	g, _ := s.create(t, st, u[0], u[1:]...)
	var seen []ids.ID
	var after ids.ID
	for {
		page, err := st.Members(ctx(t), g.ID, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, userIDs(page)...)
		if len(page) < 4 {
			break
		}
		after = page[len(page)-1].User
	}
	if !slices.Equal(seen, u) {
		t.Fatalf("paged members %v, want %v", seen, u)
	}
	var groups []ids.ID
	for range 3 {
		g2, _ := s.create(t, st, s.ids.Next(), u[5])
		groups = append(groups, g2.ID)
	}
	first, err := st.Memberships(ctx(t), u[5], 0, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first page: %v, %v", first, err)
	}
	rest, err := st.Memberships(ctx(t), u[5], first[1].Group, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]ids.ID{g.ID}, groups...)
	if got := append(groupsOf(first), groupsOf(rest)...); !slices.Equal(got, want) {
		t.Fatalf("paged memberships %v, want %v", got, want)
	}
}

func (s *suite) remove(t *testing.T) {
	st := s.newStore(t)
	u := s.users(2)
	g, _ := s.create(t, st, u[0], u[1])
	if err := st.Apply(ctx(t), s.remove1(g, u[0], u[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Member(ctx(t), g.ID, u[1]); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("removed member: %v", err)
	}
	if ms, _ := st.Memberships(ctx(t), u[1], 0, 0); len(ms) != 0 {
		t.Fatalf("removed member still indexed: %v", ms)
	}
	if got, _ := st.Group(ctx(t), g.ID); got.MemberCount != 1 || got.Version != 2 {
		t.Fatalf("group = %+v", got)
	}
}

func (s *suite) repeatOlder(t *testing.T) {
	st := s.newStore(t)
	u := s.users(2)
	g, _ := s.create(t, st, u[0])
	add := s.add(g, u[0], u[1])
	if err := st.Apply(ctx(t), add); err != nil {
		t.Fatal(err)
	}
	if err := st.Apply(ctx(t), s.remove1(add.Group, u[0], u[1])); err != nil {
		t.Fatal(err)
	}
	// The dispatcher repeats the add's index writes (a replica died, say).
	if err := st.SyncMemberships(ctx(t), add.Events[0]); err != nil {
		t.Fatal(err)
	}
	if ms, _ := st.Memberships(ctx(t), u[1], 0, 0); len(ms) != 0 {
		t.Fatalf("a repeated older add brought back a removed member: %v", ms)
	}
}

func (s *suite) ack(t *testing.T) {
	st := s.newStore(t)
	u := s.users(2)
	g, created := s.create(t, st, u[0])
	add := s.add(g, u[0], u[1])
	if err := st.Apply(ctx(t), add); err != nil {
		t.Fatal(err)
	}
	if err := st.ForgetIfIdle(ctx(t), g.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.PendingGroups(ctx(t), 0); !slices.Contains(p, g.ID) {
		t.Fatal("a group with events left the pending list")
	}
	for _, id := range []ids.ID{created.EventID, add.Events[0].EventID, created.EventID} { // the second ack of one event is harmless
		if err := st.Ack(ctx(t), g.ID, id); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	if out, _ := st.Outbox(ctx(t), g.ID); len(out) != 0 {
		t.Fatalf("outbox after acks: %v", out)
	}
	if err := st.ForgetIfIdle(ctx(t), g.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.PendingGroups(ctx(t), 0); slices.Contains(p, g.ID) {
		t.Fatal("an idle group stayed pending")
	}
	if got, _ := st.Group(ctx(t), g.ID); got.Version != 2 || got.Name != "team" {
		t.Fatalf("acks changed the group: %+v", got)
	}
}

func (s *suite) deleted(t *testing.T) {
	st := s.newStore(t)
	u := s.users(3)
	g, _ := s.create(t, st, u[0], u[1], u[2])
	next := g
	next.Version++
	next.Deleted = true
	ev := entity.Event{GroupEvent: groupapi.GroupEvent{Group: g.ID, EventID: s.ids.Next(), Kind: groupapi.EventGroupDeleted,
		Actor: u[0], RosterVersion: next.Version}}
	if err := st.Apply(ctx(t), usecase.Change{Group: next, Expect: g.Version, Events: []entity.Event{ev}}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Group(ctx(t), g.ID); err != nil || !got.Deleted {
		t.Fatalf("deleted group = %+v, %v", got, err)
	}
	all, _ := st.Members(ctx(t), g.ID, 0, 0)
	if len(all) != 3 {
		t.Fatalf("member rows before purge: %d, want 3 (the event names them)", len(all))
	}
	ev.Removed = userIDs(all)
	if err := st.SyncMemberships(ctx(t), ev); err != nil {
		t.Fatal(err)
	}
	for _, user := range u {
		if ms, _ := st.Memberships(ctx(t), user, 0, 0); len(ms) != 0 {
			t.Fatalf("member of a deleted group still indexed: %v", ms)
		}
	}
	if err := st.PurgeMembers(ctx(t), g.ID); err != nil {
		t.Fatal(err)
	}
	if all, _ := st.Members(ctx(t), g.ID, 0, 0); len(all) != 0 {
		t.Fatalf("member rows after purge: %v", all)
	}
	if got, err := st.Group(ctx(t), g.ID); err != nil || !got.Deleted {
		t.Fatalf("group after purge = %+v, %v", got, err)
	}
}

func (s *suite) limits(t *testing.T) {
	st := s.newStore(t)
	if _, err := st.PlatformLimits(ctx(t)); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("limits never set: %v", err)
	}
	admin := s.ids.Next()
	at := now()
	a1 := entity.AuditEntry{ID: s.ids.Next(), Actor: admin, Field: "ceiling", Old: 1024, New: 500, At: at}
	if err := st.SetPlatformLimits(ctx(t), entity.PlatformLimits{Default: 100, Ceiling: 500, Version: 1}, 0, []entity.AuditEntry{a1}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlatformLimits(ctx(t), entity.PlatformLimits{Default: 9, Ceiling: 9, Version: 1}, 0, nil); !errors.Is(err, entity.ErrConflict) {
		t.Fatalf("second first write = %v, want conflict", err)
	}
	a2 := entity.AuditEntry{ID: s.ids.Next(), Actor: admin, Field: "default_limit", Old: 100, New: 50, At: at}
	a3 := entity.AuditEntry{ID: s.ids.Next(), Actor: admin, Field: "ceiling", Old: 500, New: 400, At: at}
	if err := st.SetPlatformLimits(ctx(t), entity.PlatformLimits{Default: 50, Ceiling: 400, Version: 2}, 1, []entity.AuditEntry{a2, a3}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlatformLimits(ctx(t), entity.PlatformLimits{Default: 3, Ceiling: 3, Version: 2}, 1,
		[]entity.AuditEntry{{ID: s.ids.Next(), Field: "ceiling", At: at}}); !errors.Is(err, entity.ErrConflict) {
		t.Fatalf("stale write = %v, want conflict", err)
	}
	if l, err := st.PlatformLimits(ctx(t)); err != nil || l != (entity.PlatformLimits{Default: 50, Ceiling: 400, Version: 2}) {
		t.Fatalf("limits = %+v, %v", l, err)
	}
	page, err := st.Audit(ctx(t), 0, 2)
	if err != nil || len(page) != 2 || page[0] != a3 || page[1] != a2 {
		t.Fatalf("audit page 1 = %+v, %v", page, err)
	}
	rest, err := st.Audit(ctx(t), page[1].ID, 10)
	if err != nil || len(rest) != 1 || rest[0] != a1 {
		t.Fatalf("audit page 2 = %+v, %v (the stale write must have left no entry)", rest, err)
	}
}
