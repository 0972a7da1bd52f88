package embedded

import (
	"context"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

func getMedia(tx *bolt.Tx, id ids.ID) (entity.Media, error) {
	v := tx.Bucket(bucketMedia).Get(be64(int64(id)))
	if v == nil {
		return entity.Media{}, entity.ErrNotFound
	}
	r, err := decode[mediaRecord](v)
	if err != nil {
		return entity.Media{}, err
	}
	return r.entity(), nil
}

func putMedia(tx *bolt.Tx, m entity.Media) error {
	return tx.Bucket(bucketMedia).Put(be64(int64(m.ID)), encode(toMediaRecord(m)))
}

// CreateMedia implements usecase.MediaStore: the checks and the record are
// one transaction.
func (s *Store) CreateMedia(ctx context.Context, m entity.Media, checks ...entity.Check) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		for _, c := range checks {
			if err := tx.Bucket(bucketChecks).Put(checkKey(c), nil); err != nil {
				return err
			}
		}
		if tx.Bucket(bucketMedia).Get(be64(int64(m.ID))) != nil {
			return entity.ErrExists
		}
		m.Attachments = entity.SortedUnique(m.Attachments)
		return putMedia(tx, m)
	})
}

// Media implements usecase.MediaStore.
func (s *Store) Media(ctx context.Context, id ids.ID) (entity.Media, error) {
	var m entity.Media
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		m, err = getMedia(tx, id)
		return err
	})
	return m, err
}

// change applies fn to media id inside one transaction when the record is
// in state want; otherwise it returns the record with entity.ErrConflict.
func (s *Store) change(ctx context.Context, id ids.ID, want entity.State, fn func(*entity.Media)) (entity.Media, error) {
	var out entity.Media
	err := s.update(ctx, func(tx *bolt.Tx) error {
		m, err := getMedia(tx, id)
		if err != nil {
			return err
		}
		out = m
		if m.State != want {
			return entity.ErrConflict
		}
		fn(&m)
		out = m
		return putMedia(tx, m)
	})
	return out, err
}

// ClaimContent implements usecase.MediaStore.
func (s *Store) ClaimContent(ctx context.Context, id ids.ID, sha string, size int64, mime string) (entity.Media, error) {
	var out entity.Media
	err := s.update(ctx, func(tx *bolt.Tx) error {
		m, err := getMedia(tx, id)
		if err != nil {
			return err
		}
		out = m
		if m.State != entity.StatePending || (m.SHA256 != "" && m.SHA256 != sha) {
			return entity.ErrConflict
		}
		m.SHA256, m.Size, m.Mime = sha, size, mime
		out = m
		return putMedia(tx, m)
	})
	return out, err
}

// CompleteMedia implements usecase.MediaStore in one transaction: the
// reference, the blob's creation and the finalize all happen or none does.
func (s *Store) CompleteMedia(ctx context.Context, f entity.Media, cand entity.Blob) (entity.Media, entity.Blob, bool, error) {
	var out entity.Media
	var blob entity.Blob
	var created bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		m, err := getMedia(tx, f.ID)
		if err != nil {
			return err
		}
		out = m
		if m.State != entity.StatePending {
			return entity.ErrConflict
		}
		b, err := getBlob(tx, f.SHA256)
		switch {
		case err == entity.ErrNotFound && cand.SHA256 == "":
			return entity.ErrNotFound
		case err == entity.ErrNotFound:
			b, created = cand, true
			b.SHA256, b.State, b.Refs = f.SHA256, entity.BlobLive, nil
		case err != nil:
			return err
		case b.State != entity.BlobLive:
			return entity.ErrBlobDeleting
		}
		if !slices.Contains(b.Refs, f.ID) {
			b.Refs = append(b.Refs, f.ID)
			slices.Sort(b.Refs)
		}
		if err := putBlob(tx, b); err != nil {
			return err
		}
		m.State = entity.StateFinalized
		m.SHA256, m.Size, m.Mime, m.FinalizedAt = f.SHA256, f.Size, f.Mime, f.FinalizedAt
		m.ContentKey, m.ThumbnailKey, m.Width, m.Height = b.ObjectKey, b.ThumbnailKey, b.Width, b.Height
		out, blob = m, b
		return putMedia(tx, m)
	})
	if err != nil {
		created = false
	}
	return out, blob, created, err
}

// Attach implements usecase.MediaStore.
func (s *Store) Attach(ctx context.Context, id ids.ID, ref string) (entity.Media, error) {
	return s.change(ctx, id, entity.StateFinalized, func(m *entity.Media) {
		m.Attachments = entity.SortedUnique(append(m.Attachments, ref))
	})
}

// Detach implements usecase.MediaStore.
func (s *Store) Detach(ctx context.Context, id ids.ID, ref string) (entity.Media, error) {
	return s.change(ctx, id, entity.StateFinalized, func(m *entity.Media) {
		m.Attachments = slices.DeleteFunc(m.Attachments, func(r string) bool { return r == ref })
		if len(m.Attachments) == 0 {
			m.Attachments = nil
		}
	})
}

// MarkDeleted implements usecase.MediaStore.
func (s *Store) MarkDeleted(ctx context.Context, id ids.ID, from entity.State, at time.Time) (bool, error) {
	var ok bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		m, err := getMedia(tx, id)
		if err == entity.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if m.State != from || m.Attached() {
			return nil
		}
		m.State, m.DeletedAt = entity.StateDeleted, at
		ok = true
		return putMedia(tx, m)
	})
	return ok, err
}

// PurgeMedia implements usecase.MediaStore.
func (s *Store) PurgeMedia(ctx context.Context, id ids.ID) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		m, err := getMedia(tx, id)
		if err == entity.ErrNotFound {
			return nil
		}
		if err != nil || m.State != entity.StateDeleted {
			return err
		}
		return tx.Bucket(bucketMedia).Delete(be64(int64(id)))
	})
}
