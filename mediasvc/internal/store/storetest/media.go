package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

func (s *suite) mustCreate(t *testing.T, st Store) entity.Media {
	t.Helper()
	m := s.pending(s.ids.Next())
	if err := st.CreateMedia(context.Background(), m); err != nil {
		t.Fatalf("CreateMedia: %v", err)
	}
	return m
}

// content returns m with verified content of hash sha.
func content(m entity.Media, sha string) entity.Media {
	f := m
	f.SHA256, f.Size, f.Mime, f.FinalizedAt = sha, 1234, "image/png", now()
	return f
}

// mustComplete finalizes a new record with new content and returns it.
func (s *suite) mustComplete(t *testing.T, st Store) entity.Media {
	t.Helper()
	m := s.mustCreate(t, st)
	sha := randomSHA()
	got, _, _, err := st.CompleteMedia(context.Background(), content(m, sha), s.blob(sha, m.ID))
	if err != nil {
		t.Fatalf("CompleteMedia: %v", err)
	}
	return got
}

func (s *suite) createdMediaReadsBack(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.pending(s.ids.Next())
	due := window()
	checks := []entity.Check{{Due: due, Kind: entity.CheckMedia, Key: m.ID.String()},
		{Due: due.Add(time.Minute), Kind: entity.CheckObject, Key: entity.UploadKey(m.ID)}}
	if err := st.CreateMedia(ctx, m, checks...); err != nil {
		t.Fatal(err)
	}
	got, err := st.Media(ctx, m.ID)
	if err != nil || !equalMedia(got, m) {
		t.Fatalf("Media = %+v, %v; want %+v", got, err, m)
	}
	var scheduled []entity.Check
	_ = st.DueChecks(ctx, due, due.Add(time.Hour), func(c entity.Check) error { scheduled = append(scheduled, c); return nil })
	slices.SortFunc(scheduled, cmpCheck)
	if !equalChecks(scheduled, checks) {
		t.Fatalf("checks = %v, want %v", scheduled, checks)
	}
}

func (s *suite) createTwice(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.mustCreate(t, st)
	other := m
	other.OwnerID, other.Name = s.ids.Next(), "other"
	if err := st.CreateMedia(ctx, other); !errors.Is(err, entity.ErrExists) {
		t.Fatalf("second CreateMedia: %v, want ErrExists", err)
	}
	if got, _ := st.Media(ctx, m.ID); !equalMedia(got, m) {
		t.Fatalf("record changed to %+v", got)
	}
}

func (s *suite) unknownMedia(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	id := s.ids.Next()
	if _, err := st.Media(ctx, id); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("Media: %v", err)
	}
	if _, err := st.Attach(ctx, id, "c/1"); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("Attach: %v", err)
	}
	if _, err := st.Detach(ctx, id, "c/1"); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("Detach: %v", err)
	}
	if _, err := st.ClaimContent(ctx, id, randomSHA(), 1, "text/plain"); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("ClaimContent: %v", err)
	}
	sha := randomSHA()
	if _, _, _, err := st.CompleteMedia(ctx, content(entity.Media{ID: id}, sha), s.blob(sha, id)); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("CompleteMedia: %v", err)
	}
	if ok, err := st.MarkDeleted(ctx, id, entity.StateFinalized, now()); ok || err != nil {
		t.Fatalf("MarkDeleted = %v, %v", ok, err)
	}
	if err := st.PurgeMedia(ctx, id); err != nil {
		t.Fatalf("PurgeMedia: %v", err)
	}
	if _, err := st.Media(ctx, id); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("a failed change created a record: %v", err)
	}
	if b, err := st.Blob(ctx, sha); err == nil && len(b.Refs) > 0 {
		t.Fatalf("a failed complete left a reference: %+v", b)
	}
}

func (s *suite) claimContent(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.mustCreate(t, st)
	sha := randomSHA()
	got, err := st.ClaimContent(ctx, m.ID, sha, 777, "video/mp4")
	if err != nil || got.SHA256 != sha || got.Size != 777 || got.Mime != "video/mp4" || got.State != entity.StatePending || got.Name != m.Name {
		t.Fatalf("ClaimContent = %+v, %v", got, err)
	}
	if _, err := st.ClaimContent(ctx, m.ID, sha, 777, "video/mp4"); err != nil {
		t.Fatalf("claiming the same content again: %v", err)
	}
	if got, err := st.ClaimContent(ctx, m.ID, randomSHA(), 777, "video/mp4"); !errors.Is(err, entity.ErrConflict) || got.SHA256 != sha {
		t.Fatalf("claiming other content = %+v, %v; want ErrConflict with the first", got, err)
	}
	f := s.mustComplete(t, st)
	if got, err := st.ClaimContent(ctx, f.ID, f.SHA256, 1, "text/plain"); !errors.Is(err, entity.ErrConflict) || got.State != entity.StateFinalized {
		t.Fatalf("on finalized: %+v, %v", got, err)
	}
}

func (s *suite) completeCreates(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.mustCreate(t, st)
	sha := randomSHA()
	cand := s.blob(sha, m.ID)
	f := content(m, sha)
	got, blob, created, err := st.CompleteMedia(ctx, f, cand)
	if err != nil || !created {
		t.Fatalf("CompleteMedia = %v, created %v", err, created)
	}
	want := m
	want.State, want.SHA256, want.Size, want.Mime, want.FinalizedAt = entity.StateFinalized, sha, f.Size, f.Mime, f.FinalizedAt
	want.ContentKey, want.ThumbnailKey, want.Width, want.Height = cand.ObjectKey, cand.ThumbnailKey, cand.Width, cand.Height
	if !equalMedia(got, want) {
		t.Fatalf("record = %+v\nwant %+v", got, want)
	}
	if back, _ := st.Media(ctx, m.ID); !equalMedia(back, want) {
		t.Fatalf("stored %+v", back)
	}
	wantBlob := cand
	wantBlob.Refs = []ids.ID{m.ID}
	if !equalBlob(blob, wantBlob) {
		t.Fatalf("blob = %+v\nwant %+v", blob, wantBlob)
	}
	if back, err := st.Blob(ctx, sha); err != nil || !equalBlob(back, wantBlob) {
		t.Fatalf("stored blob = %+v, %v", back, err)
	}
}

func (s *suite) completeReferences(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	first := s.mustComplete(t, st)
	second := s.mustCreate(t, st)
	got, blob, created, err := st.CompleteMedia(ctx, content(second, first.SHA256), s.blob(first.SHA256, second.ID))
	if err != nil || created {
		t.Fatalf("CompleteMedia = %v, created %v", err, created)
	}
	if got.ContentKey != first.ContentKey || got.ThumbnailKey != first.ThumbnailKey || got.Width != first.Width {
		t.Fatalf("second record = %+v, want the first blob's keys", got)
	}
	want := []ids.ID{first.ID, second.ID}
	slices.Sort(want)
	if !slices.Equal(blob.Refs, want) || blob.ObjectKey != first.ContentKey {
		t.Fatalf("blob = %+v", blob)
	}
	// Without a candidate, an existing blob is referenced as well.
	third := s.mustCreate(t, st)
	if _, blob, _, err = st.CompleteMedia(ctx, content(third, first.SHA256), entity.Blob{}); err != nil || len(blob.Refs) != 3 {
		t.Fatalf("without candidate = %+v, %v", blob, err)
	}
}

func (s *suite) completeNeedsBlob(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.mustCreate(t, st)
	sha := randomSHA()
	if _, _, _, err := st.CompleteMedia(ctx, content(m, sha), entity.Blob{}); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("CompleteMedia without a blob or candidate: %v", err)
	}
	if got, _ := st.Media(ctx, m.ID); got.State != entity.StatePending {
		t.Fatalf("record = %+v", got)
	}
	if _, err := st.Blob(ctx, sha); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("a blob appeared: %v", err)
	}
}

func (s *suite) completeTwice(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	f := s.mustComplete(t, st)
	got, _, _, err := st.CompleteMedia(ctx, content(f, f.SHA256), entity.Blob{})
	if !errors.Is(err, entity.ErrConflict) || got.State != entity.StateFinalized || got.SHA256 != f.SHA256 {
		t.Fatalf("second CompleteMedia = %+v, %v; want ErrConflict with the record", got, err)
	}
	if b, _ := st.Blob(ctx, f.SHA256); len(b.Refs) != 1 {
		t.Fatalf("refs = %v", b.Refs)
	}
}

func (s *suite) completeDeleted(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.mustCreate(t, st)
	if ok, err := st.MarkDeleted(ctx, m.ID, entity.StatePending, now()); !ok || err != nil {
		t.Fatalf("MarkDeleted = %v, %v", ok, err)
	}
	sha := randomSHA()
	got, _, _, err := st.CompleteMedia(ctx, content(m, sha), s.blob(sha, m.ID))
	if !errors.Is(err, entity.ErrConflict) || got.State != entity.StateDeleted {
		t.Fatalf("CompleteMedia of deleted media = %+v, %v", got, err)
	}
	// The cleanup may find an unreferenced blob (adapters that cannot
	// complete atomically), never a reference.
	if b, err := st.Blob(ctx, sha); err == nil && len(b.Refs) != 0 {
		t.Fatalf("blob = %+v", b)
	}
}

func (s *suite) concurrentComplete(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.mustCreate(t, st)
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sha := randomSHA() // racing finalizes that verified different bytes
			if _, _, _, err := st.CompleteMedia(ctx, content(m, sha), s.blob(sha, m.ID)); err == nil {
				wins <- sha
			} else if !errors.Is(err, entity.ErrConflict) {
				t.Errorf("CompleteMedia: %v", err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	var won []string
	for w := range wins {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("%d winners", len(won))
	}
	if got, _ := st.Media(ctx, m.ID); got.SHA256 != won[0] || got.State != entity.StateFinalized {
		t.Fatalf("stored %+v, winner %s", got, won[0])
	}
}

func (s *suite) concurrentBlobCreators(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	sha := randomSHA()
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var creators int
	keys := map[string]bool{}
	var refs []ids.ID
	for range n {
		m := s.mustCreate(t, st)
		refs = append(refs, m.ID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, blob, created, err := st.CompleteMedia(ctx, content(m, sha), s.blob(sha, m.ID))
			if err != nil {
				t.Errorf("CompleteMedia: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if created {
				creators++
				if blob.ObjectKey != entity.ObjectKey(m.ID) {
					t.Errorf("creator got someone else's object %s", blob.ObjectKey)
				}
			}
			keys[got.ContentKey] = true
		}()
	}
	wg.Wait()
	if creators != 1 || len(keys) != 1 {
		t.Fatalf("%d creators, content keys %v; want exactly one", creators, keys)
	}
	b, _ := st.Blob(ctx, sha)
	slices.Sort(refs)
	if !slices.Equal(b.Refs, refs) {
		t.Fatalf("refs = %v, want %v", b.Refs, refs)
	}
}

func (s *suite) attachDetach(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	pending := s.mustCreate(t, st)
	if got, err := st.Attach(ctx, pending.ID, "d:1:2/5"); !errors.Is(err, entity.ErrConflict) || got.State != entity.StatePending {
		t.Fatalf("Attach to pending = %+v, %v", got, err)
	}
	m := s.mustComplete(t, st)
	for _, ref := range []string{"g:9/7", "d:1:2/5", "g:9/7"} {
		if _, err := st.Attach(ctx, m.ID, ref); err != nil {
			t.Fatalf("Attach %s: %v", ref, err)
		}
	}
	got, _ := st.Media(ctx, m.ID)
	if len(got.Attachments) != 2 || got.Attachments[0] != "d:1:2/5" || got.Attachments[1] != "g:9/7" {
		t.Fatalf("attachments = %v, want the two refs sorted", got.Attachments)
	}
	got, err := st.Detach(ctx, m.ID, "g:9/7")
	if err != nil || len(got.Attachments) != 1 {
		t.Fatalf("Detach = %v, %v", got.Attachments, err)
	}
	if got, err = st.Detach(ctx, m.ID, "g:9/7"); err != nil || len(got.Attachments) != 1 {
		t.Fatalf("second Detach = %v, %v", got.Attachments, err)
	}
	if got, err = st.Detach(ctx, m.ID, "d:1:2/5"); err != nil || got.Attached() {
		t.Fatalf("last Detach = %v, %v", got.Attachments, err)
	}
}

func (s *suite) markDeleted(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.mustComplete(t, st)
	if _, err := st.Attach(ctx, m.ID, "d:1:2/5"); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.MarkDeleted(ctx, m.ID, entity.StateFinalized, now()); ok || err != nil {
		t.Fatalf("MarkDeleted of attached media = %v, %v", ok, err)
	}
	if _, err := st.Detach(ctx, m.ID, "d:1:2/5"); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.MarkDeleted(ctx, m.ID, entity.StatePending, now()); ok || err != nil {
		t.Fatalf("MarkDeleted from the wrong state = %v, %v", ok, err)
	}
	at := now()
	if ok, err := st.MarkDeleted(ctx, m.ID, entity.StateFinalized, at); !ok || err != nil {
		t.Fatalf("MarkDeleted = %v, %v", ok, err)
	}
	got, _ := st.Media(ctx, m.ID)
	if got.State != entity.StateDeleted || !got.DeletedAt.Equal(at) || got.SHA256 != m.SHA256 || got.OwnerID != m.OwnerID {
		t.Fatalf("deleted record = %+v", got)
	}
	if _, err := st.Attach(ctx, m.ID, "d:1:2/6"); !errors.Is(err, entity.ErrConflict) {
		t.Fatalf("Attach to deleted: %v", err)
	}
}

func (s *suite) attachVersusDelete(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	for range 5 {
		m := s.mustComplete(t, st)
		var attached, deleted bool
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := st.Attach(ctx, m.ID, "d:1:2/5")
			attached = err == nil
			if err != nil && !errors.Is(err, entity.ErrConflict) {
				t.Errorf("Attach: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			ok, err := st.MarkDeleted(ctx, m.ID, entity.StateFinalized, now())
			deleted = ok
			if err != nil {
				t.Errorf("MarkDeleted: %v", err)
			}
		}()
		wg.Wait()
		if attached == deleted {
			t.Fatalf("attached %v and deleted %v: exactly one must win", attached, deleted)
		}
		got, _ := st.Media(ctx, m.ID)
		if attached && (got.State != entity.StateFinalized || !got.Attached()) || deleted && (got.State != entity.StateDeleted || got.Attached()) {
			t.Fatalf("record %+v after attached=%v deleted=%v", got, attached, deleted)
		}
	}
}

func (s *suite) purge(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	m := s.mustComplete(t, st)
	if err := st.PurgeMedia(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Media(ctx, m.ID); err != nil {
		t.Fatalf("purge removed finalized media: %v", err)
	}
	if ok, _ := st.MarkDeleted(ctx, m.ID, entity.StateFinalized, now().Add(-time.Hour)); !ok {
		t.Fatal("MarkDeleted")
	}
	if err := st.PurgeMedia(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Media(ctx, m.ID); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("after purge: %v", err)
	}
	fresh := s.pending(m.OwnerID)
	fresh.ID = m.ID
	if err := st.CreateMedia(ctx, fresh); err != nil {
		t.Fatalf("id reusable after purge: %v", err)
	}
}
