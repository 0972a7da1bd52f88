package embedded_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/messagesvc/internal/store/embedded"
	"github.com/parleychat/parley/messagesvc/internal/store/storetest"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t testing.TB, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(embedded.Config{Dir: dir, SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestEmbeddedContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, t.TempDir()) })
}

func TestDataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(embedded.Config{Dir: dir, SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conv := protocol.GroupConversation(7)
	m := entity.Message{ID: ids.FromTime(time.Now()), Conversation: conv, SenderID: 1, Kind: protocol.KindUser, Body: "kept"}
	if err := s.PutMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceCursor(ctx, 1, "phone", m.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if got, err := s.GetMessages(ctx, conv, []ids.ID{m.ID}); err != nil || len(got) != 1 || got[0].Body != "kept" {
		t.Fatalf("message after reopen: %+v, %v", got, err)
	}
	if seq, ok, err := s.Cursor(ctx, 1, "phone"); err != nil || !ok || seq != m.ID {
		t.Fatalf("cursor after reopen: %d, %v, %v", seq, ok, err)
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

func TestSweepDeletesOnlyExpired(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	now := time.Now()
	var entries []entity.InboxEntry
	for user := ids.ID(1); user <= 3; user++ { // entries 0..4 hours old, for three users
		for i := range 5 {
			seq := ids.FromTime(now.Add(-time.Duration(i) * time.Hour))
			entries = append(entries, entity.InboxEntry{UserID: user, Seq: seq, Kind: entity.InboxMessage})
		}
	}
	if err := s.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ClaimSend(ctx, 9, "k", 100); err != nil {
		t.Fatal(err)
	}
	// Past the dedup TTL, well within the inbox retention: just the claim.
	if n, err := s.SweepExpired(now.Add(store.DedupTTL + time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep after the dedup TTL: %d, %v; want the claim", n, err)
	}
	if owner, fresh, err := s.ClaimSend(ctx, 9, "k", 200); err != nil || !fresh || owner != 200 {
		t.Fatalf("claim after its key was swept: %d, %v, %v", owner, fresh, err)
	}
	// 2.5 hours before the newest entry expires: the 3 and 4 hour old
	// entries of every user are gone, and the second claim.
	at := now.Add(store.InboxRetention - 150*time.Minute)
	if n, err := s.SweepExpired(at); err != nil || n != 6+1 {
		t.Fatalf("swept %d, %v; want 6 inbox entries and 1 claim", n, err)
	}
	if n, err := s.SweepExpired(at); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v", n, err)
	}
	for user := ids.ID(1); user <= 3; user++ {
		got, _, err := s.ReadAfter(ctx, user, 0, 10)
		if err != nil || len(got) != 3 || got[0].Seq != entries[2].Seq {
			t.Fatalf("user %d after sweep: %+v, %v; want the 3 newest", user, got, err)
		}
	}
}

func TestCallsWithAnEndedContextFailRetryably(t *testing.T) {
	s := open(t, t.TempDir())
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := s.PutMessage(ctx, entity.Message{ID: 1, Conversation: protocol.GroupConversation(1)}); !errs.Is(err, errs.DeadlineExceeded) {
		t.Fatalf("PutMessage with an expired context: %v", err)
	}
	_ = s.Close()
	if _, _, err := s.Cursor(context.Background(), 1, "phone"); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Cursor on a closed store: %v", err)
	}
}
