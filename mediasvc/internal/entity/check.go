package entity

import "time"

// CheckKind says what a cleanup check looks at.
type CheckKind string

// The kinds of cleanup checks.
const (
	// CheckMedia: is media Key (a decimal id) an orphan (never attached and
	// older than the orphan age), an abandoned pending upload, or the
	// leftover object of an upload that never made a record? Written before
	// any byte of the upload is stored, due when the media would expire.
	CheckMedia CheckKind = "media"
	// CheckBlob: does blob Key (a SHA-256) still have live references? If
	// not, delete it. Written whenever a reference is removed.
	CheckBlob CheckKind = "blob"
	// CheckObject: delete object Key, which no blob uses (a presigned PUT
	// target after its URL expired, or the duplicate bytes of a deduplicated
	// upload whose first delete failed).
	CheckObject CheckKind = "object"
	// CheckPurge: drop the tombstone of deleted media Key.
	CheckPurge CheckKind = "purge"
)

// Check asks the cleanup job to look at one thing once Due has passed. The
// checks are an append-only schedule read by time (no queue with deletes):
// the job reads everything due since its last checkpoint, and every check is
// idempotent, so reading one twice is harmless.
type Check struct {
	Due  time.Time
	Kind CheckKind
	Key  string
}
