package usecase

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// CleanupReport counts what one cleanup pass did.
type CleanupReport struct {
	Checks int `json:"checks"`
	// Media: finalized uploads never attached within the orphan age.
	Media int `json:"media"`
	// Pending: presigned uploads never finalized, and streamed uploads whose
	// finalize never finished.
	Pending int `json:"pending"`
	// Blobs: contents whose last reference went.
	Blobs int `json:"blobs"`
	// Objects: stray objects (interrupted uploads, duplicate bytes, expired
	// presigned targets).
	Objects int `json:"objects"`
	// Tombstones: deleted records purged after the retention.
	Tombstones int   `json:"tombstones"`
	Bytes      int64 `json:"bytes"`
	Errors     int   `json:"errors"`
}

var cleanupKinds = []string{"media", "pending", "blob", "object", "tombstone"}

// blobRecheck is when a blob is looked at again after one of its references
// went, to catch a reference that an upload racing the deletion added.
const blobRecheck = time.Hour

// RunCleanup runs one cleanup pass: every check due since the last
// checkpoint (at most CheckRetention ago) up to now. A check that fails is
// counted and retried by the next pass (the checkpoint stops before it);
// the others go on. Passes on several replicas at once are safe: every step
// is idempotent or conditional.
func (s *Service) RunCleanup(ctx context.Context) (CleanupReport, error) {
	start := s.now()
	var rep CleanupReport
	from, err := s.Checks.CleanupCheckpoint(ctx)
	if err != nil {
		s.Metrics.CleanupRuns.WithLabelValues("error").Inc()
		s.Logger.Warn("cleanup pass: reading the checkpoint failed", slog.Any("err", err))
		return rep, storeError(err)
	}
	if oldest := start.Add(-CheckRetention); from.Before(oldest) {
		from = oldest
	}
	checkpoint := start.Add(-s.cfg.CheckpointLag)
	err = s.Checks.DueChecks(ctx, from, start, func(c entity.Check) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.Checks++
		if err := s.runCheck(ctx, c, start, &rep); err != nil {
			rep.Errors++
			s.Logger.Warn("cleanup check failed; the next pass retries it", slog.String("kind", string(c.Kind)),
				slog.String("key", c.Key), slog.Any("err", err))
			if c.Due.Before(checkpoint) {
				checkpoint = c.Due
			}
		}
		return nil
	})
	if err == nil && checkpoint.After(from) {
		err = s.Checks.SetCleanupCheckpoint(ctx, checkpoint)
	}
	s.record(rep)
	if err != nil {
		s.Metrics.CleanupRuns.WithLabelValues("error").Inc()
		s.Logger.Warn("cleanup pass: reading the schedule or saving the checkpoint failed", slog.Any("err", err))
		return rep, storeError(err)
	}
	s.Metrics.CleanupRuns.WithLabelValues("ok").Inc()
	if rep.Errors == 0 {
		s.Metrics.CleanupLastOK.Set(float64(s.Now().Unix()))
	}
	if rep.Media+rep.Pending+rep.Blobs+rep.Objects+rep.Tombstones > 0 || rep.Errors > 0 {
		s.Logger.Info("cleanup pass", slog.Int("checks", rep.Checks), slog.Int("media", rep.Media),
			slog.Int("pending", rep.Pending), slog.Int("blobs", rep.Blobs), slog.Int("objects", rep.Objects),
			slog.Int("tombstones", rep.Tombstones), slog.Int64("bytes", rep.Bytes), slog.Int("errors", rep.Errors))
	}
	return rep, nil
}

func (s *Service) record(rep CleanupReport) {
	for kind, n := range map[string]int{"media": rep.Media, "pending": rep.Pending, "blob": rep.Blobs,
		"object": rep.Objects, "tombstone": rep.Tombstones} {
		s.Metrics.CleanupDeleted.WithLabelValues(kind).Add(float64(n))
	}
	s.Metrics.CleanupBytes.Add(float64(rep.Bytes))
}

// RunCleanupEvery runs a pass every interval (with ±10% jitter, so replicas
// drift apart) until ctx ends.
func (s *Service) RunCleanupEvery(ctx context.Context, interval time.Duration) {
	for {
		jitter := time.Duration(rand.Int64N(int64(interval)/5+1)) - interval/10
		if sleep(ctx, interval+jitter) != nil {
			return
		}
		if _, err := s.RunCleanup(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("cleanup pass failed", slog.Any("err", err))
		}
	}
}

func (s *Service) runCheck(ctx context.Context, c entity.Check, now time.Time, rep *CleanupReport) error {
	switch c.Kind {
	case entity.CheckMedia:
		id, err := ids.Parse(c.Key)
		if err != nil {
			s.Logger.Warn("ignoring a media check with a bad key", slog.String("key", c.Key))
			return nil
		}
		return s.checkMedia(ctx, id, now, rep, true)
	case entity.CheckBlob:
		return s.collectBlob(ctx, c.Key, rep)
	case entity.CheckObject:
		return s.deleteStray(ctx, rep, c.Key)
	case entity.CheckPurge:
		id, err := ids.Parse(c.Key)
		if err != nil {
			return nil
		}
		m, err := s.Media.Media(ctx, id)
		if errors.Is(err, entity.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.State != entity.StateDeleted || now.Before(m.DeletedAt.Add(s.cfg.TombstoneRetention)) {
			return nil
		}
		if err := s.Media.PurgeMedia(ctx, id); err != nil {
			return err
		}
		rep.Tombstones++
		return nil
	}
	s.Logger.Warn("ignoring a check of unknown kind", slog.String("kind", string(c.Kind)))
	return nil
}

// checkMedia deletes media id if it is an orphan (finalized, in no message,
// older than the orphan age) or an abandoned pending upload, and removes the
// bytes of an upload that never made a record.
func (s *Service) checkMedia(ctx context.Context, id ids.ID, now time.Time, rep *CleanupReport, again bool) error {
	m, err := s.Media.Media(ctx, id)
	if errors.Is(err, entity.ErrNotFound) {
		// The upload died before it made a record, so its bytes never became
		// a blob's (a blob adopts an upload's object only after the record
		// exists, and deleted records stay as tombstones longer than any
		// check of theirs lives).
		return s.deleteStray(ctx, rep, entity.ObjectKey(id), entity.ThumbnailKey(id), entity.UploadKey(id))
	}
	if err != nil {
		return err
	}
	switch m.State {
	case entity.StateFinalized, entity.StatePending:
		if m.State == entity.StateFinalized && m.Attached() {
			// Detach schedules a new check when the last message lets go;
			// references to messages never stored are found here.
			if done, err := s.dropUnsent(ctx, &m, now); done || err != nil {
				return err
			}
		}
		due := m.CreatedAt.Add(s.cfg.OrphanAge)
		if now.Before(due) {
			// The orphan age grew since the check was written.
			return s.Checks.ScheduleCheck(ctx, entity.Check{Due: due, Kind: entity.CheckMedia, Key: id.String()})
		}
		ok, err := s.Media.MarkDeleted(ctx, id, m.State, now)
		if err != nil {
			return err
		}
		if !ok {
			// Attached, or finalized, just now: look again at what it became.
			if again {
				return s.checkMedia(ctx, id, now, rep, false)
			}
			return nil
		}
		if m.State == entity.StateFinalized {
			rep.Media++
		} else {
			rep.Pending++
		}
		m.State, m.DeletedAt = entity.StateDeleted, now
	case entity.StateDeleted:
		// A pass that failed half-way: finish it.
	default:
		return nil
	}
	return s.release(ctx, m, rep)
}

// release frees what deleted media m held: its reference to the blob (and
// the blob, if that was the last), the objects of its own upload that did
// not become the blob's, and later its tombstone.
func (s *Service) release(ctx context.Context, m entity.Media, rep *CleanupReport) error {
	keep := map[string]bool{}
	if m.SHA256 != "" {
		if err := s.Checks.ScheduleCheck(ctx, entity.Check{Due: s.now().Add(blobRecheck), Kind: entity.CheckBlob, Key: m.SHA256}); err != nil {
			return err
		}
		if err := s.Blobs.RemoveBlobRef(ctx, m.SHA256, m.ID); err != nil {
			return err
		}
		if err := s.collectBlob(ctx, m.SHA256, rep); err != nil {
			return err
		}
		b, err := s.Blobs.Blob(ctx, m.SHA256)
		switch {
		case err == nil:
			keep[b.ObjectKey], keep[b.ThumbnailKey] = true, true
		case !errors.Is(err, entity.ErrNotFound):
			return err
		}
	}
	var stray []string
	for _, k := range []string{entity.ObjectKey(m.ID), entity.ThumbnailKey(m.ID), entity.UploadKey(m.ID)} {
		if !keep[k] {
			stray = append(stray, k)
		}
	}
	if err := s.deleteStray(ctx, rep, stray...); err != nil {
		return err
	}
	purge := m.DeletedAt.Add(s.cfg.TombstoneRetention)
	if now := s.now(); purge.Before(now) {
		purge = now
	}
	return s.Checks.ScheduleCheck(ctx, entity.Check{Due: purge, Kind: entity.CheckPurge, Key: m.ID.String()})
}

// collectBlob deletes blob sha if nothing references it any more. It first
// drops references of media that no longer exist or are deleted (left by an
// upload that lost a race with the cleanup, or crashed between steps).
func (s *Service) collectBlob(ctx context.Context, sha string, rep *CleanupReport) error {
	b, err := s.Blobs.Blob(ctx, sha)
	if errors.Is(err, entity.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ref := range b.Refs {
		m, err := s.Media.Media(ctx, ref)
		switch {
		case errors.Is(err, entity.ErrNotFound) || (err == nil && m.State == entity.StateDeleted):
			if err := s.Blobs.RemoveBlobRef(ctx, sha, ref); err != nil {
				return err
			}
		case err != nil:
			return err
		}
	}
	b, ok, err := s.Blobs.BeginBlobDelete(ctx, sha)
	if err != nil || !ok {
		return err
	}
	if err := s.Objects.Delete(ctx, b.ObjectKey); err != nil {
		return err
	}
	if b.ThumbnailKey != "" {
		if err := s.Objects.Delete(ctx, b.ThumbnailKey); err != nil {
			return err
		}
	}
	if err := s.Blobs.FinishBlobDelete(ctx, sha); err != nil {
		return err
	}
	rep.Blobs++
	rep.Bytes += b.Size
	return nil
}

// deleteStray deletes objects that no blob uses, counting the ones that existed.
func (s *Service) deleteStray(ctx context.Context, rep *CleanupReport, keys ...string) error {
	for _, k := range keys {
		info, err := s.Objects.Stat(ctx, k)
		if errors.Is(err, entity.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.Objects.Delete(ctx, k); err != nil {
			return err
		}
		rep.Objects++
		rep.Bytes += info.Size
	}
	return nil
}
