package entity

import (
	"encoding/hex"
	"time"

	"github.com/parleychat/parley/shared/ids"
)

// BlobState is where a blob is in its life.
type BlobState string

// A blob is live while media may reference it. The cleanup job moves a blob
// without references to deleting (a conditional change: nothing can add a
// reference from then on), deletes its objects, then removes the row.
const (
	BlobLive     BlobState = "live"
	BlobDeleting BlobState = "deleting"
)

// Blob is one distinct content, keyed by its SHA-256, stored once however
// many uploads carried it. Refs are the media records that reference it:
// the reference count is len(Refs), and the set form makes adding or
// removing a reference idempotent, so a retried request never miscounts.
//
// Invariant: while a blob is live its object exists. The row is created only
// after the object was written in full, and the object is deleted only after
// the row left live with no references.
type Blob struct {
	SHA256       string
	State        BlobState
	ObjectKey    string
	ThumbnailKey string // "" when there is none
	Size         int64
	Mime         string
	Width        int
	Height       int
	CreatedAt    time.Time
	Refs         []ids.ID // sorted
}

// ValidSHA256 reports whether s is 64 lower-case hex digits.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
