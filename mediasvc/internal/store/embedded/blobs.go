package embedded

import (
	"context"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

func getBlob(tx *bolt.Tx, sha string) (entity.Blob, error) {
	v := tx.Bucket(bucketBlobs).Get([]byte(sha))
	if v == nil {
		return entity.Blob{}, entity.ErrNotFound
	}
	r, err := decode[blobRecord](v)
	if err != nil {
		return entity.Blob{}, err
	}
	return r.entity(sha), nil
}

func putBlob(tx *bolt.Tx, b entity.Blob) error {
	return tx.Bucket(bucketBlobs).Put([]byte(b.SHA256), encode(toBlobRecord(b)))
}

// Blob implements usecase.BlobStore.
func (s *Store) Blob(ctx context.Context, sha string) (entity.Blob, error) {
	var b entity.Blob
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		b, err = getBlob(tx, sha)
		return err
	})
	return b, err
}

// RemoveBlobRef implements usecase.BlobStore.
func (s *Store) RemoveBlobRef(ctx context.Context, sha string, mediaID ids.ID) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := getBlob(tx, sha)
		if err == entity.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		b.Refs = slices.DeleteFunc(b.Refs, func(id ids.ID) bool { return id == mediaID })
		return putBlob(tx, b)
	})
}

// BeginBlobDelete implements usecase.BlobStore.
func (s *Store) BeginBlobDelete(ctx context.Context, sha string) (entity.Blob, bool, error) {
	var out entity.Blob
	var ok bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := getBlob(tx, sha)
		if err == entity.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case b.State == entity.BlobDeleting:
			out, ok = b, true
			return nil
		case len(b.Refs) > 0:
			return nil
		}
		b.State = entity.BlobDeleting
		out, ok = b, true
		return putBlob(tx, b)
	})
	return out, ok, err
}

// FinishBlobDelete implements usecase.BlobStore.
func (s *Store) FinishBlobDelete(ctx context.Context, sha string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := getBlob(tx, sha)
		if err == entity.ErrNotFound {
			return nil
		}
		if err != nil || b.State != entity.BlobDeleting {
			return err
		}
		return tx.Bucket(bucketBlobs).Delete([]byte(sha))
	})
}
