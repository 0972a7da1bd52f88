package usecase_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/imaging"
	"github.com/parleychat/parley/mediasvc/internal/objects/localdir"
	"github.com/parleychat/parley/mediasvc/internal/store/embedded"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/mediasvc/internal/visibility"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// store lets a test run code in the middle of a use case.
type store struct {
	*embedded.Store
	beforeComplete func()
	beforeCreate   func() error
}

func (s *store) CreateMedia(ctx context.Context, m entity.Media, checks ...entity.Check) error {
	if s.beforeCreate != nil {
		if err := s.beforeCreate(); err != nil {
			return err
		}
	}
	return s.Store.CreateMedia(ctx, m, checks...)
}

func (s *store) CompleteMedia(ctx context.Context, m entity.Media, b entity.Blob) (entity.Media, entity.Blob, bool, error) {
	if s.beforeComplete != nil {
		s.beforeComplete()
	}
	return s.Store.CompleteMedia(ctx, m, b)
}

type fixture struct {
	dir     string
	uc      *usecase.Service
	meta    *store
	objects *localdir.Store
	now     time.Time
}

func newFixture(t *testing.T, limits string) *fixture {
	t.Helper()
	emb, err := embedded.Open(embedded.Config{Dir: t.TempDir()}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	dir := t.TempDir()
	objects, err := localdir.Open(localdir.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	l, err := entity.ParseLimits(limits)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir, meta: &store{Store: emb}, objects: objects, now: time.Now().UTC()}
	gen, _ := ids.NewGenerator(3)
	f.uc = usecase.New(usecase.Config{Limits: l, OrphanAge: time.Hour, Thumbnail: imaging.DefaultOptions(),
		PresignExpiry: time.Minute, DownloadExpiry: time.Minute},
		usecase.Deps{Objects: objects, Media: f.meta, Blobs: f.meta, Checks: f.meta, LimitStore: f.meta,
			Visibility: visibility.UploaderOnly{}, IDs: gen, Now: func() time.Time { return f.now }, Logger: discard,
			Metrics: usecase.NewMetrics(prometheus.NewRegistry())})
	return f
}

func (f *fixture) upload(data []byte) (entity.Media, error) {
	return f.uc.Upload(context.Background(), usecase.UploadInput{Caller: usecase.Identity{UserID: 7},
		Body: bytes.NewReader(data), Length: -1})
}

func TestUploadAtExactlyTheLimitPassesAndOneByteMoreDoesNot(t *testing.T) {
	f := newFixture(t, "text/plain=1000")
	if _, err := f.upload([]byte(strings.Repeat("a", 1000))); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := f.upload([]byte(strings.Repeat("a", 1001))); !errs.Is(err, errs.PayloadTooLarge) {
		t.Fatalf("one byte over: %v", err)
	}
}

func TestUploadWaitsForABlobBeingDeletedThenStoresItAnew(t *testing.T) {
	f := newFixture(t, entity.DefaultLimits)
	ctx := context.Background()
	data := []byte("same bytes again")
	first, err := f.upload(data)
	if err != nil {
		t.Fatal(err)
	}
	// The cleanup has started deleting the blob (its last reference went).
	if err := f.meta.RemoveBlobRef(ctx, first.SHA256, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.meta.BeginBlobDelete(ctx, first.SHA256); !ok || err != nil {
		t.Fatalf("BeginBlobDelete = %v, %v", ok, err)
	}
	go func() {
		time.Sleep(60 * time.Millisecond)
		_ = f.objects.Delete(ctx, first.ContentKey)
		_ = f.meta.FinishBlobDelete(ctx, first.SHA256)
	}()
	second, err := f.upload(data)
	if err != nil {
		t.Fatalf("upload during the deletion: %v", err)
	}
	if second.ContentKey != entity.ObjectKey(second.ID) {
		t.Fatalf("second upload references %s, want its own new blob", second.ContentKey)
	}
	r, err := f.objects.Open(ctx, second.ContentKey, "")
	if err != nil {
		t.Fatalf("the new blob's object: %v", err)
	}
	r.Close()
}

func TestFinalizeAfterTheCleanupDeletedThePendingRecordGivesTheReferenceBack(t *testing.T) {
	f := newFixture(t, entity.DefaultLimits)
	ctx := context.Background()
	var victim ids.ID
	f.meta.beforeComplete = func() {
		// The cleanup runs between the reference and the finalize.
		f.meta.beforeComplete = nil
		_ = f.meta.DueChecks(ctx, f.now.Add(-time.Hour), f.now.Add(2*time.Hour), func(c entity.Check) error {
			if c.Kind == entity.CheckMedia {
				victim, _ = ids.Parse(c.Key)
			}
			return nil
		})
		if ok, err := f.meta.MarkDeleted(ctx, victim, entity.StatePending, f.now); !ok || err != nil {
			t.Errorf("MarkDeleted = %v, %v", ok, err)
		}
	}
	data := []byte("racing the cleanup")
	if _, err := f.upload(data); !errs.Is(err, errs.NotFound) {
		t.Fatalf("upload = %v, want not_found", err)
	}
	if b, err := f.meta.Blob(ctx, shaOf(data)); err == nil && len(b.Refs) != 0 {
		t.Fatalf("blob after the lost race = %+v; want no references", b)
	}
	// The cleanup (scheduled now by the loser) removes the bytes.
	f.now = f.now.Add(time.Minute)
	if _, err := f.uc.RunCleanup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{entity.ObjectKey(victim), entity.ThumbnailKey(victim)} {
		if _, err := f.objects.Stat(ctx, k); !errors.Is(err, entity.ErrNotFound) {
			t.Fatalf("object %s left: %v", k, err)
		}
	}
}

func TestBlobCheckDropsReferencesOfMediaThatNoLongerExists(t *testing.T) {
	f := newFixture(t, entity.DefaultLimits)
	ctx := context.Background()
	m, err := f.upload([]byte("orphaned reference"))
	if err != nil {
		t.Fatal(err)
	}
	// A reference left by an upload that crashed after referencing the blob
	// and whose record was purged since.
	ghost := f.ghost(t, m.SHA256)
	_ = ghost
	f.now = f.now.Add(2 * time.Hour)
	if rep, err := f.uc.RunCleanup(ctx); err != nil || rep.Media != 1 || rep.Blobs != 1 {
		t.Fatalf("cleanup = %+v, %v; want the media and, despite the ghost reference, the blob", rep, err)
	}
}

func shaOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ghost makes a media record that references blob sha, then deletes and
// purges it behind the blob's back: what a crash can leave.
func (f *fixture) ghost(t *testing.T, sha string) ids.ID {
	t.Helper()
	ctx := context.Background()
	id := ids.ID(12345)
	if err := f.meta.Store.CreateMedia(ctx, entity.Media{ID: id, OwnerID: 1, State: entity.StatePending, CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.meta.Store.CompleteMedia(ctx, entity.Media{ID: id, SHA256: sha, Size: 1, Mime: "text/plain"}, entity.Blob{}); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.meta.MarkDeleted(ctx, id, entity.StateFinalized, f.now); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := f.meta.PurgeMedia(ctx, id); err != nil {
		t.Fatal(err)
	}
	if b, _ := f.meta.Blob(ctx, sha); len(b.Refs) != 2 {
		t.Fatalf("refs = %v", b.Refs)
	}
	return id
}

func TestNoObjectIsCompleteBeforeItsRecordAndCheckAre(t *testing.T) {
	for _, length := range []int64{-1, 20} {
		f := newFixture(t, entity.DefaultLimits)
		ctx := context.Background()
		release := make(chan struct{})
		f.meta.beforeCreate = func() error { <-release; return nil }
		data := []byte(strings.Repeat("x", 20))
		done := make(chan error, 1)
		go func() {
			_, err := f.uc.Upload(ctx, usecase.UploadInput{Caller: usecase.Identity{UserID: 7}, Body: bytes.NewReader(data), Length: length})
			done <- err
		}()
		time.Sleep(100 * time.Millisecond)
		var n int
		_ = f.meta.DueChecks(ctx, f.now.Add(-time.Hour), f.now.Add(2*time.Hour), func(entity.Check) error { n++; return nil })
		if n != 0 {
			t.Fatal("check written before CreateMedia")
		}
		if keys := objectFiles(t, f); len(keys) != 0 {
			t.Fatalf("length %d: object %v complete while the record is not written", length, keys)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("length %d: %v", length, err)
		}
	}
}

func TestUploadFailsCleanlyWhenTheRecordCannotBeWritten(t *testing.T) {
	f := newFixture(t, entity.DefaultLimits)
	f.meta.beforeCreate = func() error { return errors.New("store down") }
	_, err := f.upload([]byte("some text"))
	if !errs.Is(err, errs.Unavailable) {
		t.Fatalf("upload = %v, want unavailable", err)
	}
	if keys := objectFiles(t, f); len(keys) != 0 {
		t.Fatalf("objects left: %v", keys)
	}
}

// objectFiles lists the local store's objects.
func objectFiles(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(f.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, string(filepath.Separator)+"objects"+string(filepath.Separator)) {
			out = append(out, p)
		}
		return nil
	})
	return out
}
