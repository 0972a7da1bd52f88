package cassandra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// unset leaves a column untouched instead of writing a null (a tombstone).
func unsetTime(t time.Time) any {
	if t.IsZero() {
		return gocql.UnsetValue
	}
	return t
}

func unsetList[T any](l []T) any {
	if len(l) == 0 {
		return gocql.UnsetValue
	}
	return l
}

// CreateMedia implements usecase.MediaStore: the checks (plain writes),
// then the record with INSERT … IF NOT EXISTS.
func (s *Store) CreateMedia(ctx context.Context, m entity.Media, checks ...entity.Check) error {
	for _, c := range checks {
		if err := s.ScheduleCheck(ctx, c); err != nil {
			return fmt.Errorf("cassandra: schedule check: %w", err)
		}
	}
	applied, _, err := s.lwt(ctx, cqlInsertMedia, int64(m.ID), int64(m.OwnerID), string(m.State), m.Name,
		m.DeclaredSize, m.DeclaredSHA256, m.SHA256, m.Size, m.Mime, m.Width, m.Height, m.ContentKey, m.ThumbnailKey,
		m.CreatedAt, unsetTime(m.FinalizedAt), unsetTime(m.DeletedAt), unsetList(entity.SortedUnique(m.Attachments)))
	if err != nil {
		return fmt.Errorf("cassandra: insert media: %w", err)
	}
	if !applied {
		return entity.ErrExists
	}
	return nil
}

// Media implements usecase.MediaStore.
func (s *Store) Media(ctx context.Context, id ids.ID) (entity.Media, error) {
	return s.media(ctx, id, gocql.LocalQuorum)
}

// media reads a record; after a conditional write that did not apply it
// reads at LOCAL_SERIAL, which sees any in-flight transaction's outcome.
func (s *Store) media(ctx context.Context, id ids.ID, cons gocql.Consistency) (entity.Media, error) {
	var m entity.Media
	var mid, owner int64
	var state string
	err := s.session.Read(ctx, cqlSelectMedia, int64(id)).Consistency(cons).Scan(&mid, &owner, &state, &m.Name,
		&m.DeclaredSize, &m.DeclaredSHA256, &m.SHA256, &m.Size, &m.Mime, &m.Width, &m.Height, &m.ContentKey,
		&m.ThumbnailKey, &m.CreatedAt, &m.FinalizedAt, &m.DeletedAt, &m.Attachments)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && state == "") {
		return entity.Media{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.Media{}, fmt.Errorf("cassandra: read media: %w", err)
	}
	m.ID, m.OwnerID, m.State = ids.ID(mid), ids.ID(owner), entity.State(state)
	m.CreatedAt, m.FinalizedAt, m.DeletedAt = utc(m.CreatedAt), utc(m.FinalizedAt), utc(m.DeletedAt)
	if len(m.Attachments) == 0 {
		m.Attachments = nil
	} else {
		slices.Sort(m.Attachments)
	}
	return m, nil
}

// utc keeps a zero time zero (a null column scans to the zero time).
func utc(t time.Time) time.Time {
	if t.IsZero() || t.UnixMilli() == 0 {
		return time.Time{}
	}
	return t.UTC()
}

// conditional runs an LWT on media id and returns the record after it: the
// new one if it applied, else the current one with entity.ErrConflict
// (entity.ErrNotFound if there is no record).
func (s *Store) conditional(ctx context.Context, id ids.ID, stmt string, args ...any) (entity.Media, error) {
	applied, _, err := s.lwt(ctx, stmt, args...)
	if err != nil {
		return entity.Media{}, fmt.Errorf("cassandra: update media: %w", err)
	}
	if applied {
		return s.media(ctx, id, gocql.LocalQuorum)
	}
	m, err := s.media(ctx, id, gocql.LocalSerial)
	if err != nil {
		return m, err
	}
	return m, entity.ErrConflict
}

// ClaimContent implements usecase.MediaStore: a conditional update that
// applies only while the record is pending without content; a repeated
// claim of the same content succeeds.
func (s *Store) ClaimContent(ctx context.Context, id ids.ID, sha string, size int64, mime string) (entity.Media, error) {
	m, err := s.conditional(ctx, id, cqlClaimContent, sha, size, mime, int64(id))
	if errors.Is(err, entity.ErrConflict) && m.State == entity.StatePending && m.SHA256 == sha {
		return m, nil
	}
	return m, err
}

// claim is ClaimContent without reading the record back when it applies.
func (s *Store) claim(ctx context.Context, id ids.ID, sha string, size int64, mime string) (entity.Media, error) {
	applied, _, err := s.lwt(ctx, cqlClaimContent, sha, size, mime, int64(id))
	if err != nil {
		return entity.Media{}, fmt.Errorf("cassandra: claim content: %w", err)
	}
	if applied {
		return entity.Media{}, nil
	}
	m, err := s.media(ctx, id, gocql.LocalSerial)
	switch {
	case err != nil:
		return m, err
	case m.State == entity.StatePending && m.SHA256 == sha:
		return m, nil
	}
	return m, entity.ErrConflict
}

// CompleteMedia implements usecase.MediaStore in three conditional steps,
// in the order the port asks for: the content is claimed, the blob
// referenced (or created), the record finalized. If the finalize does not
// apply, the reference is taken back; a blob this call created then stays
// without references for the cleanup. The finalized record is f as
// finalized (f is the pending record the caller read or created).
func (s *Store) CompleteMedia(ctx context.Context, f entity.Media, cand entity.Blob) (entity.Media, entity.Blob, bool, error) {
	if m, err := s.claim(ctx, f.ID, f.SHA256, f.Size, f.Mime); err != nil {
		return m, entity.Blob{}, false, err
	}
	blob, created, err := s.addBlobRef(ctx, f.SHA256, cand, f.ID)
	if err != nil {
		return entity.Media{}, entity.Blob{}, false, err
	}
	applied, _, err := s.lwt(ctx, cqlFinalizeMedia, f.SHA256, f.Size, f.Mime, blob.Width, blob.Height,
		blob.ObjectKey, blob.ThumbnailKey, f.FinalizedAt, int64(f.ID))
	if err == nil && applied {
		m := f
		m.State = entity.StateFinalized
		m.ContentKey, m.ThumbnailKey, m.Width, m.Height = blob.ObjectKey, blob.ThumbnailKey, blob.Width, blob.Height
		return m, blob, created, nil
	}
	if rerr := s.RemoveBlobRef(ctx, f.SHA256, f.ID); rerr != nil {
		s.logger.Warn("taking back a blob reference failed; the cleanup drops it", slog.String("sha256", f.SHA256), slog.Any("err", rerr))
	}
	if err != nil {
		return entity.Media{}, entity.Blob{}, false, fmt.Errorf("cassandra: finalize media: %w", err)
	}
	m, err := s.media(ctx, f.ID, gocql.LocalSerial)
	if err != nil {
		return m, entity.Blob{}, false, err
	}
	return m, entity.Blob{}, false, entity.ErrConflict
}

// Attach implements usecase.MediaStore.
func (s *Store) Attach(ctx context.Context, id ids.ID, ref string) (entity.Media, error) {
	return s.conditional(ctx, id, cqlAttach, []string{ref}, int64(id))
}

// Detach implements usecase.MediaStore.
func (s *Store) Detach(ctx context.Context, id ids.ID, ref string) (entity.Media, error) {
	return s.conditional(ctx, id, cqlDetach, []string{ref}, int64(id))
}

// MarkDeleted implements usecase.MediaStore: "attachments = null" is how
// Cassandra says the set is empty.
func (s *Store) MarkDeleted(ctx context.Context, id ids.ID, from entity.State, at time.Time) (bool, error) {
	applied, _, err := s.lwt(ctx, cqlMarkDeleted, at, int64(id), string(from))
	if err != nil {
		return false, fmt.Errorf("cassandra: mark media deleted: %w", err)
	}
	return applied, nil
}

// PurgeMedia implements usecase.MediaStore.
func (s *Store) PurgeMedia(ctx context.Context, id ids.ID) error {
	if _, _, err := s.lwt(ctx, cqlPurgeMedia, int64(id)); err != nil {
		return fmt.Errorf("cassandra: purge media: %w", err)
	}
	return nil
}
