package embedded_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/authsvc/internal/store/embedded"
	"github.com/parleychat/parley/authsvc/internal/store/storetest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t *testing.T, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(embedded.Config{Dir: dir, SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestEmbeddedContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t, t.TempDir()) })
}

func TestDataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(embedded.Config{Dir: dir, SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := entity.NewSigningKey(time.Now(), time.Now())
	if err := s.AddSigningKey(ctx, "", k); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, entity.Account{ID: 1, Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s = open(t, dir)
	if head, _, _ := s.SigningKeys(ctx); head != k.ID {
		t.Fatalf("head after reopen = %q", head)
	}
	if a, err := s.AccountByUsername(ctx, "alice"); err != nil || a.ID != 1 {
		t.Fatalf("account after reopen: %+v, %v", a, err)
	}
}

func TestSecondOpenOfSameDirFailsClearly(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	_, err := embedded.Open(embedded.Config{Dir: dir, SweepInterval: -1, OpenTimeout: 100 * time.Millisecond}, discard)
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: %v", err)
	}
}

func TestSweepDeletesOnlyExpiredRefreshTokens(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	dev := entity.Device{UserID: 1, ID: 2, SessionID: 3, CreatedAt: now}
	_, oldHash := entity.NewRefreshToken()
	_, liveHash := entity.NewRefreshToken()
	for hash, exp := range map[*[]byte]time.Time{&oldHash: now.Add(-time.Minute), &liveHash: now.Add(time.Hour)} {
		tok := entity.RefreshToken{Hash: *hash, UserID: 1, DeviceID: 2, SessionID: 3, IssuedAt: now, ExpiresAt: exp}
		if err := s.StartSession(ctx, dev, tok); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.SweepExpired(now)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want 1", n, err)
	}
	_, hash := entity.NewRefreshToken()
	if _, err := s.ConsumeRefreshToken(ctx, oldHash, hash, now.Add(time.Hour), now); err != entity.ErrNotFound {
		t.Fatalf("expired token after sweep: %v", err)
	}
	if _, err := s.ConsumeRefreshToken(ctx, liveHash, hash, now.Add(time.Hour), now); err != nil {
		t.Fatalf("live token after sweep: %v", err)
	}
}
