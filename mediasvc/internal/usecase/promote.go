package usecase

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/imaging"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// blobRetries bounds waiting for a blob that the cleanup is deleting.
const blobRetries = 5

// promote turns pending media m, whose verified bytes (m.SHA256, m.Size,
// m.Mime) are complete at entity.ObjectKey(m.ID), into a finalized record.
//
// Dedup: the content is stored once per SHA-256. If a live blob with this
// hash exists, m references it and its own copy of the bytes is deleted; if
// not, m's object becomes the blob's object (no copy), with the image's
// dimensions and thumbnail made now, once. The store adds the reference
// (which stops the blob's deletion) no later than it finalizes the record,
// and a blob being deleted takes no new references, so a finalized
// record's content always exists.
//
// On failure the record stays pending and the cleanup job removes it, its
// reference and its bytes once the orphan age has passed.
func (s *Service) promote(ctx context.Context, m entity.Media) (entity.Media, error) {
	own := entity.ObjectKey(m.ID)
	m.FinalizedAt = s.now()
	var candidate entity.Blob // built only when the content is new
	for attempt := 0; ; attempt++ {
		if candidate.SHA256 == "" {
			_, err := s.Blobs.Blob(ctx, m.SHA256)
			switch {
			case errors.Is(err, entity.ErrNotFound):
				if candidate, err = s.newBlob(ctx, m); err != nil {
					return entity.Media{}, err
				}
			case err != nil:
				return entity.Media{}, storeError(err)
			}
		}
		got, blob, created, err := s.Media.CompleteMedia(ctx, m, candidate)
		switch {
		case err == nil:
			if !created && blob.ObjectKey != own {
				// Our bytes duplicate a stored blob: keep one copy.
				drop := []string{own}
				if candidate.ThumbnailKey != "" && candidate.ThumbnailKey != blob.ThumbnailKey {
					drop = append(drop, candidate.ThumbnailKey)
				}
				s.deleteObjects(ctx, drop...)
				s.Metrics.DedupHits.Inc()
			}
			return got, nil
		case errors.Is(err, entity.ErrNotFound) && candidate.SHA256 == "":
			// The blob went between the read and now: store ours instead.
			if candidate, err = s.newBlob(ctx, m); err != nil {
				return entity.Media{}, err
			}
			continue
		case errors.Is(err, entity.ErrNotFound):
			return entity.Media{}, errNoMedia()
		case errors.Is(err, entity.ErrBlobDeleting):
			if attempt+1 >= blobRetries {
				return entity.Media{}, errs.Wrap(err, errs.Unavailable, "this content is being cleaned up, try again")
			}
			if werr := sleep(ctx, time.Duration(25<<attempt)*time.Millisecond); werr != nil {
				return entity.Media{}, storeError(werr)
			}
		case errors.Is(err, entity.ErrConflict):
			if got.State == entity.StateFinalized && got.SHA256 == m.SHA256 {
				return got, nil // a concurrent finalize of the same upload won
			}
			// The cleanup deleted the pending record meanwhile. Our bytes may
			// have become a blob's: have the cleanup sort out which objects
			// to keep, as it does for any deleted record.
			s.recheck(ctx, m.ID)
			return entity.Media{}, errNoMedia()
		default:
			return entity.Media{}, storeError(err)
		}
	}
}

// recheck has the cleanup look at media id now.
func (s *Service) recheck(ctx context.Context, id ids.ID) {
	ctx, cancel := cleanupCtx(ctx)
	defer cancel()
	if err := s.Checks.ScheduleCheck(ctx, entity.Check{Due: s.now(), Kind: entity.CheckMedia, Key: id.String()}); err != nil {
		s.Logger.Warn("scheduling a media check failed", slog.String("media_id", id.String()), slog.Any("err", err))
	}
}

// newBlob describes the new content of m; for images it reads the
// dimensions and stores a thumbnail. Undecodable images get neither (they
// are still stored); store failures fail the upload.
func (s *Service) newBlob(ctx context.Context, m entity.Media) (entity.Blob, error) {
	b := entity.Blob{SHA256: m.SHA256, State: entity.BlobLive, ObjectKey: entity.ObjectKey(m.ID),
		Size: m.Size, Mime: m.Mime, CreatedAt: s.now()}
	if !entity.IsImage(m.Mime) {
		return b, nil
	}
	select {
	case s.thumbSlots <- struct{}{}:
		defer func() { <-s.thumbSlots }()
	case <-ctx.Done():
		return b, storeError(ctx.Err())
	}
	r, err := s.Objects.Open(ctx, b.ObjectKey, "")
	if err != nil {
		return b, objectsError(err)
	}
	defer r.Close()
	w, h, err := imaging.Dimensions(r)
	if err != nil {
		s.Metrics.Thumbnails.WithLabelValues("undecodable").Inc()
		s.Logger.Debug("image header undecodable; no dimensions or thumbnail", slog.String("media_id", m.ID.String()), slog.Any("err", err))
		return b, nil
	}
	b.Width, b.Height = w, h
	if _, err := r.Seek(0, 0); err != nil {
		return b, objectsError(err)
	}
	thumb, err := imaging.Thumbnail(r, w, h, s.cfg.Thumbnail)
	switch {
	case errors.Is(err, imaging.ErrTooManyPixels):
		s.Metrics.Thumbnails.WithLabelValues("too_large").Inc()
		return b, nil
	case err != nil:
		if ctx.Err() != nil {
			return b, storeError(ctx.Err())
		}
		s.Metrics.Thumbnails.WithLabelValues("undecodable").Inc()
		s.Logger.Debug("image undecodable; no thumbnail", slog.String("media_id", m.ID.String()), slog.Any("err", err))
		return b, nil
	}
	key := entity.ThumbnailKey(m.ID)
	if _, err := s.Objects.Put(ctx, key, bytes.NewReader(thumb), int64(len(thumb)), "image/jpeg"); err != nil {
		s.Metrics.Thumbnails.WithLabelValues("error").Inc()
		return b, objectsError(err)
	}
	s.Metrics.Thumbnails.WithLabelValues("ok").Inc()
	b.ThumbnailKey = key
	return b, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
