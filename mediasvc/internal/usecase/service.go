// Package usecase holds mediasvc's use cases, one file each, as methods of
// Service: streaming upload, presigned upload and its finalize, reading
// metadata, content and thumbnails under the access rule, attaching media to
// messages, the admins' limits, and the cleanup job. They talk to the
// object store, the metadata store and messagesvc through the small
// interfaces in ports.go, and return *errs.Error values whose code and
// message are safe to show to the client.
package usecase

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/imaging"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/ratelimit"
)

// RoleAdmin may change the limits and run the cleanup.
const RoleAdmin = "admin"

// Config holds the policy knobs of the use cases.
type Config struct {
	// Limits are the configured per-type limits; admins' overrides from
	// the store replace entries.
	Limits entity.Limits
	// PresignExpiry is the lifetime of a presigned PUT URL.
	PresignExpiry time.Duration
	// DownloadExpiry is the lifetime of a presigned GET URL.
	DownloadExpiry time.Duration
	// Redirect serves content as a redirect to a presigned GET URL when the
	// store has them; otherwise content streams through mediasvc.
	Redirect bool
	// OrphanAge is how long an upload may stay unattached (and a presigned
	// upload unfinalized) before the cleanup deletes it.
	OrphanAge time.Duration
	// TombstoneRetention is how long a deleted record stays as a tombstone;
	// keep it above CheckRetention.
	TombstoneRetention time.Duration
	// Thumbnail sets the thumbnail size and the largest image decoded.
	Thumbnail imaging.Options
	// ThumbnailConcurrency bounds images decoded at once (memory).
	ThumbnailConcurrency int
	// LimitsCacheTTL is how long the limits read from the store are reused;
	// other replicas see an admin's change within it.
	LimitsCacheTTL time.Duration
	// CheckpointLag is subtracted from a pass's start to make its
	// checkpoint, covering clock skew between replicas.
	CheckpointLag time.Duration
	// UnsentAge, when positive, makes the cleanup ask Visibility about
	// attached media whose messages are all older than it: references to
	// messages that were never stored (a send that attached, then died
	// and was never retried) are dropped, and the media becomes an orphan
	// (cleanup_unsent.go). Keep it above messagesvc's dedup window (48 h),
	// within which a retry may still store the message. 0 disables it
	// (no messagesvc to ask).
	UnsentAge time.Duration
	// UploadRate bounds each user's uploads (streamed and presigned
	// together); Max 0 disables it. See rate_limit.go.
	UploadRate ratelimit.Limit
}

// Deps are the adapters the use cases run on.
type Deps struct {
	Objects    Objects
	Media      MediaStore
	Blobs      BlobStore
	Checks     CheckSchedule
	LimitStore LimitStore
	Visibility Visibility
	// RateLimiter counts uploads per user; nil disables the limit.
	RateLimiter RateLimiter
	IDs         *ids.Generator
	Now         func() time.Time
	Logger      *slog.Logger
	Metrics     *Metrics
}

// Service runs the use cases. It is safe for concurrent use.
type Service struct {
	cfg Config
	Deps
	thumbSlots chan struct{}

	limitsMu sync.Mutex
	limits   entity.Limits
	limitsAt time.Time
}

// New returns the use cases over deps.
func New(cfg Config, deps Deps) *Service {
	if cfg.ThumbnailConcurrency < 1 {
		cfg.ThumbnailConcurrency = 1
	}
	if cfg.TombstoneRetention < CheckRetention {
		cfg.TombstoneRetention = CheckRetention + 24*time.Hour
	}
	return &Service{cfg: cfg, Deps: deps, thumbSlots: make(chan struct{}, cfg.ThumbnailConcurrency)}
}

// Identity is the signed-in caller, as the gateway vouches for it.
type Identity struct {
	UserID ids.ID
	Roles  []string
}

// HasRole reports whether the caller's token grants role.
func (i Identity) HasRole(role string) bool { return slices.Contains(i.Roles, role) }

// now returns the time truncated to the millisecond, the precision every
// store keeps, so what is written reads back equal.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// storeError turns an unexpected store failure into a retryable error for
// the client; the cause is kept for the log only.
func storeError(err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(err, errs.DeadlineExceeded, "storage timed out, try again")
	case errors.Is(err, context.Canceled):
		return errs.Wrap(err, errs.Unavailable, "request cancelled")
	}
	return errs.Wrap(err, errs.Unavailable, "storage unavailable, try again")
}

// errNoMedia is the one answer for media that does not exist, is not
// finalized, or is not visible to the caller: it never tells them apart.
func errNoMedia() error { return errs.New(errs.NotFound, "no such media") }

func requireAdmin(caller Identity) error {
	if !caller.HasRole(RoleAdmin) {
		return errs.New(errs.PermissionDenied, "admin role required")
	}
	return nil
}

// cleanupCtx detaches ctx from its cancellation, with a deadline, for
// compensating work that must run even when the client went away.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// deleteObjects deletes keys best-effort; a key that cannot be deleted now
// is scheduled for the cleanup job, so nothing leaks.
func (s *Service) deleteObjects(ctx context.Context, keys ...string) {
	ctx, cancel := cleanupCtx(ctx)
	defer cancel()
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := s.Objects.Delete(ctx, k); err != nil {
			s.Logger.Warn("deleting an object failed; the cleanup job will retry", slog.String("key", k), slog.Any("err", err))
			if err := s.Checks.ScheduleCheck(ctx, entity.Check{Due: s.now(), Kind: entity.CheckObject, Key: k}); err != nil {
				s.Logger.Error("scheduling an object deletion failed; the object leaks", slog.String("key", k), slog.Any("err", err))
			}
		}
	}
}
