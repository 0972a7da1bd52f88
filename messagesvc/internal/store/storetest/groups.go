package storetest

import (
	"cmp"
	"maps"
	"slices"
	"testing"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// groupCases are the contract of store.Groups, run by Run.
func (s *suite) groupCases() []namedCase {
	return []namedCase{
		{"GroupHeadsOnlyGrowAndPulledRaisesBoth", s.groupHeadsGrow},
		{"GroupHeadsOfUnknownConversationsAreAbsent", s.groupHeadsAbsent},
		{"GroupHeadsConcurrentTouchesEndAtMax", s.groupHeadsConcurrent},
		{"AdvanceMemberOnlyMovesForwardPerMark", s.advanceMemberForward},
		{"AdvanceMemberConcurrentEndsAtMax", s.advanceMemberConcurrent},
		{"MemberStatesListEveryMemberOfOneGroup", s.memberStatesList},
	}
}

type namedCase struct {
	name string
	fn   func(*testing.T)
}

func heads(t *testing.T, s store.Store, convs ...protocol.ConversationID) map[protocol.ConversationID]entity.GroupHead {
	t.Helper()
	got, err := s.GroupHeads(ctx(t), convs)
	if err != nil {
		t.Fatalf("GroupHeads: %v", err)
	}
	return got
}

func (s *suite) groupHeadsGrow(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv := s.group()
	m := make([]ids.ID, 5)
	for i := range m {
		m[i] = s.ids.Next()
	}
	steps := []struct {
		id     ids.ID
		pulled bool
		want   entity.GroupHead
	}{
		{m[1], false, entity.GroupHead{LastMessageID: m[1]}},
		{m[2], true, entity.GroupHead{LastMessageID: m[2], LastPullID: m[2]}},
		{m[3], false, entity.GroupHead{LastMessageID: m[3], LastPullID: m[2]}},
		{m[0], true, entity.GroupHead{LastMessageID: m[3], LastPullID: m[2]}}, // lower: ignored
		{m[3], true, entity.GroupHead{LastMessageID: m[3], LastPullID: m[3]}}, // equal last, higher pull
		{m[4], false, entity.GroupHead{LastMessageID: m[4], LastPullID: m[3]}},
	}
	for i, step := range steps {
		if err := st.TouchGroup(c, conv, step.id, step.pulled); err != nil {
			t.Fatalf("step %d: TouchGroup: %v", i, err)
		}
		if got := heads(t, st, conv)[conv]; got != step.want {
			t.Fatalf("step %d: head %+v, want %+v", i, got, step.want)
		}
	}
	if err := st.TouchGroup(c, conv, 0, true); err == nil {
		t.Fatal("TouchGroup with id 0: want an error")
	}
}

func (s *suite) groupHeadsAbsent(t *testing.T) {
	st := s.newStore(t)
	known, unknown := s.group(), s.group()
	id := s.ids.Next()
	if err := st.TouchGroup(ctx(t), known, id, false); err != nil {
		t.Fatal(err)
	}
	got := heads(t, st, known, unknown)
	want := map[protocol.ConversationID]entity.GroupHead{known: {LastMessageID: id}}
	if !maps.Equal(got, want) {
		t.Fatalf("GroupHeads = %+v, want %+v", got, want)
	}
	if got := heads(t, st); len(got) != 0 {
		t.Fatalf("GroupHeads() = %+v, want empty", got)
	}
}

func (s *suite) groupHeadsConcurrent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv := s.group()
	const n = 20
	idsIn := make([]ids.ID, n)
	for i := range idsIn {
		idsIn[i] = s.ids.Next()
	}
	order := shuffled(n)
	errs := make([]error, n)
	parallel(n, func(i int) { errs[i] = st.TouchGroup(c, conv, idsIn[order[i]], order[i]%2 == 0) })
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := entity.GroupHead{LastMessageID: idsIn[n-1], LastPullID: idsIn[n-2]} // n-2 is the highest even index
	if got := heads(t, st, conv)[conv]; got != want {
		t.Fatalf("head after concurrent touches %+v, want %+v", got, want)
	}
}

func (s *suite) advanceMemberForward(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, user := s.group(), s.ids.Next()
	m1, m2, m3 := s.ids.Next(), s.ids.Next(), s.ids.Next()
	t1, t2 := daysAgo(1), now()
	steps := []struct {
		mark  entity.MemberMark
		id    ids.ID
		moved bool
	}{
		{entity.MarkReceived, m2, true},
		{entity.MarkReceived, m1, false}, // late lower ack
		{entity.MarkReceived, m2, false}, // repeat
		{entity.MarkRead, m1, true},      // the read mark is separate
		{entity.MarkRead, m1, false},
	}
	for i, step := range steps {
		moved, err := st.AdvanceMember(c, conv, user, step.mark, step.id, t1)
		if err != nil || moved != step.moved {
			t.Fatalf("step %d: AdvanceMember(%s, %d) = %v, %v; want moved %v", i, step.mark, step.id, moved, err, step.moved)
		}
	}
	if moved, err := st.AdvanceMember(c, conv, user, entity.MarkRead, m3, t2); err != nil || !moved {
		t.Fatalf("read to m3: %v, %v", moved, err)
	}
	got, err := st.MemberStates(c, conv)
	want := []entity.MemberState{{UserID: user, Received: entity.Watermark{UpTo: m2, At: t1}, Read: entity.Watermark{UpTo: m3, At: t2}}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("MemberStates = %+v, %v; want %+v", got, err, want)
	}
	if _, err := st.AdvanceMember(c, conv, user, "seen", m3, t2); err == nil {
		t.Fatal("unknown mark: want an error")
	}
	if _, err := st.AdvanceMember(c, conv, user, entity.MarkRead, 0, t2); err == nil {
		t.Fatal("id 0: want an error")
	}
}

func (s *suite) advanceMemberConcurrent(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, user := s.group(), s.ids.Next()
	const n = 20
	marks := make([]ids.ID, n)
	for i := range marks {
		marks[i] = s.ids.Next()
	}
	order := shuffled(n)
	errs := make([]error, n)
	moves := make([]bool, n)
	parallel(n, func(i int) {
		moves[i], errs[i] = st.AdvanceMember(c, conv, user, entity.MarkReceived, marks[order[i]], now())
	})
	anyMoved := false
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		anyMoved = anyMoved || moves[i]
	}
	got, err := st.MemberStates(c, conv)
	if err != nil || len(got) != 1 || got[0].Received.UpTo != marks[n-1] || got[0].Read.UpTo != 0 || !anyMoved {
		t.Fatalf("after concurrent advances: %+v, %v (any moved %v); want received %d", got, err, anyMoved, marks[n-1])
	}
}

func (s *suite) memberStatesList(t *testing.T) {
	st, c := s.newStore(t), ctx(t)
	conv, other := s.group(), s.group()
	at := now()
	var want []entity.MemberState
	for i := range 5 {
		user, m := s.ids.Next(), s.ids.Next()
		mark, state := entity.MarkReceived, entity.MemberState{UserID: user, Received: entity.Watermark{UpTo: m, At: at}}
		if i%2 == 1 {
			mark, state = entity.MarkRead, entity.MemberState{UserID: user, Read: entity.Watermark{UpTo: m, At: at}}
		}
		if _, err := st.AdvanceMember(c, conv, user, mark, m, at); err != nil {
			t.Fatal(err)
		}
		want = append(want, state)
	}
	if _, err := st.AdvanceMember(c, other, s.ids.Next(), entity.MarkRead, s.ids.Next(), at); err != nil {
		t.Fatal(err)
	}
	got, err := st.MemberStates(c, conv)
	if err != nil {
		t.Fatal(err)
	}
	byUser := func(a, b entity.MemberState) int { return cmp.Compare(a.UserID, b.UserID) }
	slices.SortFunc(got, byUser)
	slices.SortFunc(want, byUser)
	if !slices.Equal(got, want) {
		t.Fatalf("MemberStates\n got %+v\nwant %+v", got, want)
	}
	if got, err := st.MemberStates(c, s.group()); err != nil || len(got) != 0 {
		t.Fatalf("MemberStates of an unknown group = %+v, %v", got, err)
	}
}
