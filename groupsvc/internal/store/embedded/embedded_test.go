package embedded_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/store/embedded"
	"github.com/parleychat/parley/groupsvc/internal/store/storetest"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
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
	g := entity.Group{ID: 5, Name: "n", Version: 1, MemberCount: 1, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := s.Apply(ctx, usecase.Change{Group: g, Put: []entity.Member{{Group: 5, User: 6, Role: entity.RoleOwner}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPlatformLimits(ctx, entity.PlatformLimits{Default: 3, Ceiling: 7, Version: 1}, 0, nil); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s = open(t, dir)
	if got, err := s.Member(ctx, 5, 6); err != nil || got.Role != entity.RoleOwner {
		t.Fatalf("member after reopen: %+v, %v", got, err)
	}
	if l, _ := s.PlatformLimits(ctx); l.Ceiling != 7 {
		t.Fatalf("limits after reopen: %+v", l)
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
