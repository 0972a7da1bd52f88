package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// signIn stores a new session for a fresh or given device and returns the
// device and its first token.
func (s *suite) signIn(t *testing.T, st Store, userID, deviceID ids.ID) (entity.Device, entity.RefreshToken) {
	t.Helper()
	at := now()
	if deviceID == 0 {
		deviceID = s.ids.Next()
	}
	d := entity.Device{UserID: userID, ID: deviceID, Name: "phone", CreatedAt: at, LastSeenAt: at, SessionID: s.ids.Next()}
	_, hash := entity.NewRefreshToken()
	rt := entity.RefreshToken{Hash: hash, UserID: userID, DeviceID: d.ID, SessionID: d.SessionID,
		IssuedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := st.StartSession(context.Background(), d, rt); err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	return d, rt
}

func newHash() []byte { _, h := entity.NewRefreshToken(); return h }

func (s *suite) startSession(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	user := s.ids.Next()
	d, _ := s.signIn(t, st, user, 0)
	got, err := st.Device(ctx, user, d.ID)
	if err != nil || got.SessionID != d.SessionID || got.Name != "phone" || !got.CreatedAt.Equal(d.CreatedAt) {
		t.Fatalf("Device = %+v, %v; want %+v", got, err, d)
	}
	if _, err := st.Device(ctx, user, s.ids.Next()); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if _, err := st.Device(ctx, s.ids.Next(), d.ID); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("device of another user: %v", err)
	}
	d2, _ := s.signIn(t, st, user, 0)
	all, err := st.Devices(ctx, user)
	if err != nil || len(all) != 2 {
		t.Fatalf("Devices = %v, %v", all, err)
	}
	gotIDs := []ids.ID{all[0].ID, all[1].ID}
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, []ids.ID{d.ID, d2.ID}) {
		t.Fatalf("device ids %v, want %v", gotIDs, []ids.ID{d.ID, d2.ID})
	}
}

func (s *suite) consumeRotates(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	user := s.ids.Next()
	d, rt := s.signIn(t, st, user, 0)
	later := now().Add(2 * time.Second)
	next := newHash()
	old, err := st.ConsumeRefreshToken(ctx, rt.Hash, next, later.Add(time.Hour), later)
	if err != nil {
		t.Fatal(err)
	}
	if old.UserID != user || old.DeviceID != d.ID || old.SessionID != d.SessionID || !bytes.Equal(old.Hash, rt.Hash) {
		t.Fatalf("old record = %+v", old)
	}
	if got, _ := st.Device(ctx, user, d.ID); !got.LastSeenAt.Equal(later) {
		t.Fatalf("last seen = %v, want %v", got.LastSeenAt, later)
	}
	// The successor works once, in the same session.
	again, err := st.ConsumeRefreshToken(ctx, next, newHash(), later.Add(time.Hour), later)
	if err != nil || again.SessionID != d.SessionID || again.DeviceID != d.ID {
		t.Fatalf("successor: %+v, %v", again, err)
	}
}

func (s *suite) consumeTwiceIsReused(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	d, rt := s.signIn(t, st, s.ids.Next(), 0)
	if _, err := st.ConsumeRefreshToken(ctx, rt.Hash, newHash(), now().Add(time.Hour), now()); err != nil {
		t.Fatal(err)
	}
	old, err := st.ConsumeRefreshToken(ctx, rt.Hash, newHash(), now().Add(time.Hour), now())
	if !errors.Is(err, entity.ErrTokenReused) {
		t.Fatalf("second use: %v, want ErrTokenReused", err)
	}
	if old.SessionID != d.SessionID || old.DeviceID != d.ID || old.UserID != d.UserID {
		t.Fatalf("reused record = %+v, want the session to revoke", old)
	}
}

func (s *suite) consumeUnknown(t *testing.T) {
	st := s.newStore(t)
	if _, err := st.ConsumeRefreshToken(context.Background(), newHash(), newHash(), now().Add(time.Hour), now()); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
}

func (s *suite) consumeExpired(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	_, rt := s.signIn(t, st, s.ids.Next(), 0)
	next := newHash()
	if _, err := st.ConsumeRefreshToken(ctx, rt.Hash, next, now().Add(time.Hour), rt.ExpiresAt); !errors.Is(err, entity.ErrTokenExpired) {
		t.Fatalf("expired: %v", err)
	}
	// Nothing was written: the successor does not exist, the token is unused.
	if _, err := st.ConsumeRefreshToken(ctx, next, newHash(), now().Add(time.Hour), now()); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("successor of an expired token exists: %v", err)
	}
	if _, err := st.ConsumeRefreshToken(ctx, rt.Hash, newHash(), now().Add(time.Hour), now()); err != nil {
		t.Fatalf("expiry check marked the token used: %v", err)
	}
}

func (s *suite) consumeAfterEnd(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	d, rt := s.signIn(t, st, s.ids.Next(), 0)
	if err := st.EndSession(ctx, d.UserID, d.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Device(ctx, d.UserID, d.ID); got.SignedIn() {
		t.Fatalf("device still signed in: %+v", got)
	}
	if _, err := st.ConsumeRefreshToken(ctx, rt.Hash, newHash(), now().Add(time.Hour), now()); !errors.Is(err, entity.ErrSessionRevoked) {
		t.Fatalf("token of ended session: %v", err)
	}
	if err := st.EndSession(ctx, d.UserID, d.ID, 0); err != nil {
		t.Fatalf("second sign-out: %v", err)
	}
	if err := st.EndSession(ctx, d.UserID, s.ids.Next(), 0); err != nil {
		t.Fatalf("sign-out of unknown device: %v", err)
	}
}

func (s *suite) concurrentConsume(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	_, rt := s.signIn(t, st, s.ids.Next(), 0)
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.ConsumeRefreshToken(ctx, rt.Hash, newHash(), now().Add(time.Hour), now())
		}()
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, entity.ErrTokenReused):
			t.Fatalf("consumer %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d consumers won, want exactly 1", wins)
	}
}

func (s *suite) newSignInRevokesOld(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	d, old := s.signIn(t, st, s.ids.Next(), 0)
	d2, fresh := s.signIn(t, st, d.UserID, d.ID)
	if d2.ID != d.ID {
		t.Fatal("device id changed")
	}
	if _, err := st.ConsumeRefreshToken(ctx, old.Hash, newHash(), now().Add(time.Hour), now()); !errors.Is(err, entity.ErrSessionRevoked) {
		t.Fatalf("old session's token: %v", err)
	}
	if _, err := st.ConsumeRefreshToken(ctx, fresh.Hash, newHash(), now().Add(time.Hour), now()); err != nil {
		t.Fatalf("new session's token: %v", err)
	}
}

func (s *suite) endStaleSession(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	d, _ := s.signIn(t, st, s.ids.Next(), 0)
	d2, _ := s.signIn(t, st, d.UserID, d.ID)
	if err := st.EndSession(ctx, d.UserID, d.ID, d.SessionID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Device(ctx, d.UserID, d.ID); got.SessionID != d2.SessionID {
		t.Fatalf("stale revocation ended the newer session: %+v", got)
	}
	if err := st.EndSession(ctx, d.UserID, d.ID, d2.SessionID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Device(ctx, d.UserID, d.ID); got.SignedIn() {
		t.Fatalf("current session not ended: %+v", got)
	}
}

func (s *suite) endAllSessions(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	user := s.ids.Next()
	keep, keepTok := s.signIn(t, st, user, 0)
	_, tokB := s.signIn(t, st, user, 0)
	_, tokC := s.signIn(t, st, user, 0)
	other, otherTok := s.signIn(t, st, s.ids.Next(), 0)
	if err := st.EndAllSessions(ctx, user, keep.ID); err != nil {
		t.Fatal(err)
	}
	all, _ := st.Devices(ctx, user)
	for _, d := range all {
		if d.SignedIn() != (d.ID == keep.ID) {
			t.Fatalf("device %d signed in = %v", d.ID, d.SignedIn())
		}
	}
	for _, tok := range []entity.RefreshToken{tokB, tokC} {
		if _, err := st.ConsumeRefreshToken(ctx, tok.Hash, newHash(), now().Add(time.Hour), now()); !errors.Is(err, entity.ErrSessionRevoked) {
			t.Fatalf("ended device's token: %v", err)
		}
	}
	if _, err := st.ConsumeRefreshToken(ctx, keepTok.Hash, newHash(), now().Add(time.Hour), now()); err != nil {
		t.Fatalf("kept device's token: %v", err)
	}
	if _, err := st.ConsumeRefreshToken(ctx, otherTok.Hash, newHash(), now().Add(time.Hour), now()); err != nil {
		t.Fatalf("another user's device (%d) was signed out: %v", other.ID, err)
	}
	if err := st.EndAllSessions(ctx, user, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Device(ctx, user, keep.ID); got.SignedIn() {
		t.Fatal("EndAllSessions(keep=0) kept a device")
	}
}
