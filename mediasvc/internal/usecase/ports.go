package usecase

import (
	"context"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Size int64
	// ETag changes whenever the object is rewritten; Open and Copy can
	// require it, so a verified version is the one that gets used.
	ETag    string
	ModTime time.Time
}

// ObjectReader streams one object; Seek supports ranged reads.
type ObjectReader interface {
	io.ReadSeekCloser
	Info() ObjectInfo
}

// PresignedRequest is a URL a client may call directly on the object store
// until Expires, with exactly these headers.
type PresignedRequest struct {
	Method  string
	URL     string
	Header  http.Header
	Expires time.Time
}

// Download is how a client gets an object's bytes through a presigned URL:
// the content type and disposition the store will answer with.
type Download struct {
	ContentType string
	Disposition string // "inline" or "attachment"
	FileName    string
}

// Header returns the Content-Disposition value, with the file name
// encoded per RFC 2231 when it is not plain ASCII.
func (d Download) Header() string {
	disp := d.Disposition
	if disp == "" {
		disp = "attachment"
	}
	if d.FileName == "" {
		return disp
	}
	if v := mime.FormatMediaType(disp, map[string]string{"filename": d.FileName}); v != "" {
		return v
	}
	return disp
}

// Objects stores media bytes: S3 (any S3-compatible server) or a local
// directory. Keys are short ASCII paths like "o/123". Implementations are
// safe for concurrent use and stream: no call holds a whole object in memory.
type Objects interface {
	// Put stores r under key, reading until EOF; size is the exact length
	// or -1 when unknown. It returns the bytes stored. Put replaces an
	// existing object atomically: readers see the old or the new bytes,
	// never a mix. When it fails — r returned an error, the store failed,
	// ctx ended — nothing new is readable under key.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (int64, error)
	// Open returns a reader of key; with ifETag set it fails with
	// entity.ErrChanged unless the object still has that ETag.
	// entity.ErrNotFound if there is no object.
	Open(ctx context.Context, key, ifETag string) (ObjectReader, error)
	// Stat returns the object's info; entity.ErrNotFound if there is none.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Copy copies src to dst inside the store, only if src still has ETag
	// ifETag (entity.ErrChanged otherwise; entity.ErrNotFound if src is gone).
	Copy(ctx context.Context, src, dst, ifETag string) error
	// Delete removes key; a missing object is no error.
	Delete(ctx context.Context, key string) error
	// PresignPut returns a URL that stores exactly size bytes under key.
	// entity.ErrNotSupported if the store has no presigned URLs (local directory).
	PresignPut(ctx context.Context, key string, size int64, expiry time.Duration) (PresignedRequest, error)
	// PresignGet returns a URL that reads key, answered with d's headers.
	// entity.ErrNotSupported if the store has no presigned URLs.
	PresignGet(ctx context.Context, key string, expiry time.Duration, d Download) (PresignedRequest, error)
	// Ping checks that the store answers (readiness).
	Ping(ctx context.Context) error
}

// MediaStore keeps media records. Implementations are safe for concurrent
// use. State changes are conditional on the current state, so a cleanup
// pass and a user's request racing on one record cannot both win.
type MediaStore interface {
	// CreateMedia schedules checks, then stores m, a new pending record
	// (the checks first: a crash in between leaves a check of nothing,
	// never a record nothing checks). entity.ErrExists if the id is taken.
	CreateMedia(ctx context.Context, m entity.Media, checks ...entity.Check) error
	// Media returns the record in any state; entity.ErrNotFound if there is none.
	Media(ctx context.Context, id ids.ID) (entity.Media, error)
	// ClaimContent records the verified content of pending media id before
	// its bytes are moved into place. Once recorded, only the same content
	// may be claimed again, so concurrent finalizes of one upload can never
	// put different bytes under one hash. entity.ErrConflict with the
	// current record if it is not pending or has other content.
	ClaimContent(ctx context.Context, id ids.ID, sha256 string, size int64, mime string) (entity.Media, error)
	// CompleteMedia finalizes pending record m.ID with m's verified content
	// (SHA256, Size, Mime) and FinalizedAt; m is the pending record as
	// created or read, and the returned record is m as finalized. The record references the live
	// blob with that hash; if there is none, the blob is created from
	// candidate, whose object must be complete (a zero candidate: the
	// caller expects the blob to exist). The record takes the blob's
	// ContentKey, ThumbnailKey, Width and Height. It returns the record and
	// the blob as stored, and whether this call created the blob.
	//
	// Errors, after which nothing is referenced or finalized:
	// entity.ErrBlobDeleting (retry once the deletion is done);
	// entity.ErrConflict with the current record if it is not pending;
	// entity.ErrNotFound if there is no record, or no blob and no candidate.
	//
	// An adapter that cannot do it atomically records the content, then the
	// reference, then the state, in that order, so a crash leaves a pending
	// record whose cleanup knows which reference to drop.
	CompleteMedia(ctx context.Context, m entity.Media, candidate entity.Blob) (entity.Media, entity.Blob, bool, error)
	// Attach adds ref to finalized media id and returns the record;
	// idempotent. entity.ErrConflict with the current record if it is not
	// finalized; entity.ErrNotFound if there is no record.
	Attach(ctx context.Context, id ids.ID, ref string) (entity.Media, error)
	// Detach removes ref from finalized media id; idempotent, like Attach.
	Detach(ctx context.Context, id ids.ID, ref string) (entity.Media, error)
	// MarkDeleted moves media id from state from to deleted at at, only
	// while it has no attachments. It reports whether it did.
	MarkDeleted(ctx context.Context, id ids.ID, from entity.State, at time.Time) (bool, error)
	// PurgeMedia removes the record if it is deleted; otherwise (or if
	// there is none) it does nothing.
	PurgeMedia(ctx context.Context, id ids.ID) error
}

// BlobStore keeps the content blobs and their references (added by
// MediaStore.CompleteMedia). Implementations are safe for concurrent use;
// references change and deletion starts only conditionally on the blob's
// state, so a reference is never added to a blob whose object is being
// deleted.
type BlobStore interface {
	// Blob returns the blob with this SHA-256; entity.ErrNotFound if none.
	Blob(ctx context.Context, sha256 string) (entity.Blob, error)
	// RemoveBlobRef removes mediaID from the blob's references; a missing
	// blob or reference is no error.
	RemoveBlobRef(ctx context.Context, sha256 string, mediaID ids.ID) error
	// BeginBlobDelete moves a live blob without references to deleting and
	// returns it (ok false if it has references, or does not exist). A blob
	// already deleting is returned with ok true, so a crashed deletion resumes.
	BeginBlobDelete(ctx context.Context, sha256 string) (b entity.Blob, ok bool, err error)
	// FinishBlobDelete removes a deleting blob's row; otherwise nothing.
	FinishBlobDelete(ctx context.Context, sha256 string) error
}

// CheckSchedule is the cleanup job's append-only schedule.
// Implementations are safe for concurrent use.
type CheckSchedule interface {
	// ScheduleCheck records c; scheduling the same check twice is harmless.
	// c.Due must not be before the time of the call (a pass that already
	// read that time could miss it).
	ScheduleCheck(ctx context.Context, c entity.Check) error
	// DueChecks calls fn for every check with from <= Due < to, in Due
	// order, stopping at fn's first error. Checks older than the adapter's
	// retention (at least CheckRetention before to) may be gone.
	DueChecks(ctx context.Context, from, to time.Time, fn func(entity.Check) error) error
	// CleanupCheckpoint returns the time before which every check has been
	// handled (zero if never).
	CleanupCheckpoint(ctx context.Context) (time.Time, error)
	// SetCleanupCheckpoint records t as the checkpoint; the adapter may
	// forget checks due before it.
	SetCleanupCheckpoint(ctx context.Context, t time.Time) error
}

// CheckRetention is how long a check stays readable after it is due: a
// cleanup job that was down longer than this skips what it missed (the
// objects then stay until a later check of the same thing).
const CheckRetention = 7 * 24 * time.Hour

// LimitStore persists the admins' per-type limits.
type LimitStore interface {
	// Limits returns the stored overrides (empty if none were ever set).
	Limits(ctx context.Context) (entity.Limits, error)
	// SetLimits replaces the stored overrides.
	SetLimits(ctx context.Context, l entity.Limits, by ids.ID, at time.Time) error
}

// Visibility says whether a user can see a message carrying media. It is
// asked only for media that is attached and not the user's own.
type Visibility interface {
	// CanRead reports whether userID can see at least one of messages, the
	// messages carrying mediaID; an error means the answer is unknown (the
	// caller answers unavailable, never "yes").
	CanRead(ctx context.Context, mediaID, userID ids.ID, messages []entity.MessageRef) (bool, error)
}
