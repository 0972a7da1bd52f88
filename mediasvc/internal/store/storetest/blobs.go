package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

func (s *suite) removeBlobRef(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	a := s.mustComplete(t, st)
	b := s.mustCreate(t, st)
	if _, _, _, err := st.CompleteMedia(ctx, content(b, a.SHA256), entity.Blob{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := st.RemoveBlobRef(ctx, a.SHA256, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := st.Blob(ctx, a.SHA256); !slices.Equal(got.Refs, []ids.ID{b.ID}) {
		t.Fatalf("refs = %v", got.Refs)
	}
	missing := randomSHA()
	if err := st.RemoveBlobRef(ctx, missing, a.ID); err != nil {
		t.Fatalf("RemoveBlobRef of a missing blob: %v", err)
	}
	if _, err := st.Blob(ctx, missing); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("RemoveBlobRef created a blob: %v", err)
	}
}

func (s *suite) blobDeletion(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	a := s.mustComplete(t, st)
	sha := a.SHA256
	if _, ok, err := st.BeginBlobDelete(ctx, sha); ok || err != nil {
		t.Fatalf("BeginBlobDelete with a reference = %v, %v", ok, err)
	}
	if err := st.FinishBlobDelete(ctx, sha); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Blob(ctx, sha); err != nil {
		t.Fatalf("FinishBlobDelete removed a live blob: %v", err)
	}
	if err := st.RemoveBlobRef(ctx, sha, a.ID); err != nil {
		t.Fatal(err)
	}
	b, ok, err := st.BeginBlobDelete(ctx, sha)
	if !ok || err != nil || b.State != entity.BlobDeleting || b.ObjectKey != a.ContentKey {
		t.Fatalf("BeginBlobDelete = %+v, %v, %v", b, ok, err)
	}
	c := s.mustCreate(t, st)
	if _, _, _, err := st.CompleteMedia(ctx, content(c, sha), s.blob(sha, c.ID)); !errors.Is(err, entity.ErrBlobDeleting) {
		t.Fatalf("CompleteMedia while the blob is deleting: %v, want ErrBlobDeleting", err)
	}
	if got, _ := st.Media(ctx, c.ID); got.State != entity.StatePending {
		t.Fatalf("record after ErrBlobDeleting = %+v", got)
	}
	if _, ok, err := st.BeginBlobDelete(ctx, sha); !ok || err != nil {
		t.Fatalf("resumed BeginBlobDelete = %v, %v", ok, err)
	}
	if err := st.FinishBlobDelete(ctx, sha); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Blob(ctx, sha); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("after FinishBlobDelete: %v", err)
	}
	if _, ok, err := st.BeginBlobDelete(ctx, sha); ok || err != nil {
		t.Fatalf("BeginBlobDelete of a missing blob = %v, %v", ok, err)
	}
	got, blob, created, err := st.CompleteMedia(ctx, content(c, sha), s.blob(sha, c.ID))
	if err != nil || !created || got.ContentKey != entity.ObjectKey(c.ID) || blob.ObjectKey != got.ContentKey {
		t.Fatalf("CompleteMedia after the deletion = %+v, %v, %v; want a new blob", got, created, err)
	}
}

func (s *suite) referenceVersusDelete(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	for range 5 {
		a := s.mustComplete(t, st)
		if err := st.RemoveBlobRef(ctx, a.SHA256, a.ID); err != nil {
			t.Fatal(err)
		}
		c := s.mustCreate(t, st)
		var referenced, deleting bool
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			got, _, created, err := st.CompleteMedia(ctx, content(c, a.SHA256), entity.Blob{})
			referenced = err == nil && !created && got.ContentKey == a.ContentKey
			if err != nil && !errors.Is(err, entity.ErrBlobDeleting) {
				t.Errorf("CompleteMedia: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			_, ok, err := st.BeginBlobDelete(ctx, a.SHA256)
			deleting = ok
			if err != nil {
				t.Errorf("BeginBlobDelete: %v", err)
			}
		}()
		wg.Wait()
		if referenced == deleting {
			t.Fatalf("referenced %v and deletion begun %v: exactly one must win", referenced, deleting)
		}
	}
}
