package embedded_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/store/embedded"
	"github.com/parleychat/parley/mediasvc/internal/store/storetest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t *testing.T, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(embedded.Config{Dir: dir}, discard)
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
	s, err := embedded.Open(embedded.Config{Dir: dir}, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := entity.Media{ID: 5, OwnerID: 6, State: entity.StatePending, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := s.CreateMedia(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLimits(ctx, entity.Limits{"image/png": 7}, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s = open(t, dir)
	if got, err := s.Media(ctx, 5); err != nil || got.OwnerID != 6 {
		t.Fatalf("media after reopen: %+v, %v", got, err)
	}
	if l, _ := s.Limits(ctx); l["image/png"] != 7 {
		t.Fatalf("limits after reopen: %v", l)
	}
}

func TestSecondOpenOfSameDirFailsClearly(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	_, err := embedded.Open(embedded.Config{Dir: dir, OpenTimeout: 100 * time.Millisecond}, discard)
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: %v", err)
	}
}

func TestCheckpointForgetsOlderChecks(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 3 {
		if err := s.ScheduleCheck(ctx, entity.Check{Due: base.Add(time.Duration(i) * time.Minute), Kind: entity.CheckBlob, Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetCleanupCheckpoint(ctx, base.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = s.DueChecks(ctx, base.Add(-time.Hour), base.Add(time.Hour), func(entity.Check) error { n++; return nil })
	if n != 1 {
		t.Fatalf("%d checks left, want the one after the checkpoint", n)
	}
}
