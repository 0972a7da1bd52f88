package cassandra

import (
	"context"
	"errors"
	"fmt"
	"slices"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// Blob implements usecase.BlobStore.
func (s *Store) Blob(ctx context.Context, sha string) (entity.Blob, error) {
	return s.blob(ctx, sha, gocql.LocalQuorum)
}

func (s *Store) blob(ctx context.Context, sha string, cons gocql.Consistency) (entity.Blob, error) {
	var b entity.Blob
	var state string
	var refs []int64
	err := s.session.Read(ctx, cqlSelectBlob, sha).Consistency(cons).Scan(&b.SHA256, &state, &b.ObjectKey, &b.ThumbnailKey,
		&b.Size, &b.Mime, &b.Width, &b.Height, &b.CreatedAt, &refs)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && state == "") {
		return entity.Blob{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.Blob{}, fmt.Errorf("cassandra: read blob: %w", err)
	}
	b.State, b.CreatedAt = entity.BlobState(state), utc(b.CreatedAt)
	for _, r := range refs {
		b.Refs = append(b.Refs, ids.ID(r))
	}
	slices.Sort(b.Refs)
	return b, nil
}

// addBlobRef adds mediaID to the references of blob sha. With a
// candidate, INSERT … IF NOT EXISTS creates the blob with this reference;
// if it exists, a conditional update adds the reference while it is live
// (a blob deleted between the two steps is created anew). Without a
// candidate a missing blob is entity.ErrNotFound.
func (s *Store) addBlobRef(ctx context.Context, sha string, b entity.Blob, mediaID ids.ID) (entity.Blob, bool, error) {
	for range 3 {
		if b.SHA256 != "" {
			applied, _, err := s.lwt(ctx, cqlInsertBlob, sha, b.ObjectKey, b.ThumbnailKey, b.Size, b.Mime,
				b.Width, b.Height, b.CreatedAt, []int64{int64(mediaID)})
			if err != nil {
				return entity.Blob{}, false, fmt.Errorf("cassandra: insert blob: %w", err)
			}
			if applied {
				out := b
				out.SHA256, out.State, out.Refs = sha, entity.BlobLive, []ids.ID{mediaID}
				return out, true, nil
			}
		}
		applied, prev, err := s.lwt(ctx, cqlAddBlobRef, []int64{int64(mediaID)}, sha)
		if err != nil {
			return entity.Blob{}, false, fmt.Errorf("cassandra: add blob reference: %w", err)
		}
		if applied {
			got, err := s.blob(ctx, sha, gocql.LocalQuorum)
			return got, false, err
		}
		switch st, _ := prev["state"].(string); {
		case st == string(entity.BlobDeleting):
			return entity.Blob{}, false, entity.ErrBlobDeleting
		case b.SHA256 == "":
			return entity.Blob{}, false, entity.ErrNotFound
		}
		// Gone between the insert and the update: try creating it again.
	}
	return entity.Blob{}, false, errors.New("cassandra: blob kept changing while adding a reference")
}

// RemoveBlobRef implements usecase.BlobStore.
func (s *Store) RemoveBlobRef(ctx context.Context, sha string, mediaID ids.ID) error {
	if _, _, err := s.lwt(ctx, cqlRemoveBlobRef, []int64{int64(mediaID)}, sha); err != nil {
		return fmt.Errorf("cassandra: remove blob reference: %w", err)
	}
	return nil
}

// BeginBlobDelete implements usecase.BlobStore.
func (s *Store) BeginBlobDelete(ctx context.Context, sha string) (entity.Blob, bool, error) {
	applied, prev, err := s.lwt(ctx, cqlBeginBlobDelete, sha)
	if err != nil {
		return entity.Blob{}, false, fmt.Errorf("cassandra: begin blob deletion: %w", err)
	}
	if st, _ := prev["state"].(string); !applied && st != string(entity.BlobDeleting) {
		return entity.Blob{}, false, nil
	}
	b, err := s.blob(ctx, sha, gocql.LocalSerial)
	if errors.Is(err, entity.ErrNotFound) {
		return entity.Blob{}, false, nil
	}
	return b, err == nil, err
}

// FinishBlobDelete implements usecase.BlobStore.
func (s *Store) FinishBlobDelete(ctx context.Context, sha string) error {
	if _, _, err := s.lwt(ctx, cqlFinishBlobDel, sha); err != nil {
		return fmt.Errorf("cassandra: finish blob deletion: %w", err)
	}
	return nil
}
