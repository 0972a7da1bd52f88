package storetest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
)

// window returns a start time of its own for a case: somewhere in the next
// year, on a whole hour plus a bit, so cases sharing a store never overlap.
func window() time.Time {
	var b [4]byte
	_, _ = rand.Read(b[:])
	hours := time.Duration(binary.BigEndian.Uint32(b[:])%8000+48) * time.Hour
	return now().Truncate(time.Hour).Add(hours + 7*time.Minute)
}

func (s *suite) dueChecks(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	base := window()
	var all []entity.Check
	for i, off := range []time.Duration{0, time.Second, 50 * time.Minute, 70 * time.Minute, 5 * time.Hour, 30 * time.Hour} {
		kind := []entity.CheckKind{entity.CheckMedia, entity.CheckBlob, entity.CheckObject, entity.CheckPurge}[i%4]
		all = append(all, entity.Check{Due: base.Add(off), Kind: kind, Key: "k" + strconv.Itoa(i)})
	}
	// Same due, same kind, two keys; and one check written twice.
	all = append(all, entity.Check{Due: base, Kind: entity.CheckMedia, Key: "twin"})
	for _, c := range append(all, all[2]) {
		if err := st.ScheduleCheck(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(from, to time.Time) []entity.Check {
		var got []entity.Check
		if err := st.DueChecks(ctx, from, to, func(c entity.Check) error { got = append(got, c); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, cmpCheck)
		return got
	}
	want := slices.Clone(all)
	slices.SortFunc(want, cmpCheck)
	if got := collect(base, base.Add(31*time.Hour)); !equalChecks(got, want) {
		t.Fatalf("whole window = %v\nwant %v", got, want)
	}
	// [from, to): the lower bound is included, the upper one not.
	if got := collect(base.Add(time.Second), base.Add(70*time.Minute)); !equalChecks(got, []entity.Check{all[1], all[2]}) {
		t.Fatalf("inner window = %v", got)
	}
	if got := collect(base.Add(-time.Hour), base); len(got) != 0 {
		t.Fatalf("before the window: %v", got)
	}
	stop := errors.New("stop")
	n := 0
	if err := st.DueChecks(ctx, base, base.Add(31*time.Hour), func(entity.Check) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fn's error: %v after %d calls", err, n)
	}
}

func cmpCheck(a, b entity.Check) int {
	if c := a.Due.Compare(b.Due); c != 0 {
		return c
	}
	if a.Kind != b.Kind {
		if a.Kind < b.Kind {
			return -1
		}
		return 1
	}
	switch {
	case a.Key < b.Key:
		return -1
	case a.Key > b.Key:
		return 1
	}
	return 0
}

func equalChecks(a, b []entity.Check) bool {
	return slices.EqualFunc(a, b, func(x, y entity.Check) bool { return cmpCheck(x, y) == 0 })
}

func (s *suite) checkpoint(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	if cp, err := st.CleanupCheckpoint(ctx); err != nil || !cp.IsZero() {
		t.Fatalf("initial checkpoint = %v, %v", cp, err)
	}
	at := now().Add(-time.Minute)
	if err := st.SetCleanupCheckpoint(ctx, at); err != nil {
		t.Fatal(err)
	}
	if cp, err := st.CleanupCheckpoint(ctx); err != nil || !cp.Equal(at) {
		t.Fatalf("checkpoint = %v, %v; want %v", cp, err, at)
	}
}

func (s *suite) limits(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	if l, err := st.Limits(ctx); err != nil || len(l) != 0 {
		t.Fatalf("initial limits = %v, %v", l, err)
	}
	first := entity.Limits{"image/png": 10 << 20, "video/mp4": 0}
	if err := st.SetLimits(ctx, first, 42, now()); err != nil {
		t.Fatal(err)
	}
	if l, err := st.Limits(ctx); err != nil || l.String() != first.String() {
		t.Fatalf("limits = %v, %v", l, err)
	}
	second := entity.Limits{"text/plain": 1}
	if err := st.SetLimits(ctx, second, 42, now()); err != nil {
		t.Fatal(err)
	}
	if l, _ := st.Limits(ctx); l.String() != second.String() {
		t.Fatalf("limits after replace = %v", l)
	}
}
