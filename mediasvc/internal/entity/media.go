package entity

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// State is where a media record is in its life.
type State string

// The states of a media record. A record is created pending (its bytes are
// being verified, or a presigned upload has not been finalized yet), becomes
// finalized once its content is verified and referenced from a blob, and is
// marked deleted by the cleanup job; a deleted record stays as a tombstone
// for a while (so a late cleanup pass can tell "deleted" from "never
// created") and is then purged.
const (
	StatePending   State = "pending"
	StateFinalized State = "finalized"
	StateDeleted   State = "deleted"
)

// Media is one upload by one user. Identical bytes uploaded twice make two
// media records that share one Blob.
type Media struct {
	ID      ids.ID
	OwnerID ids.ID
	State   State
	// Name is the file name the uploader gave (may be empty).
	Name string
	// DeclaredSize and DeclaredSHA256 are what a presigned upload promised.
	DeclaredSize   int64
	DeclaredSHA256 string
	// SHA256 (lower-case hex), Size and Mime describe the verified content;
	// they are set once the bytes have been read (pending records of the
	// streaming path have them, presigned ones get them at finalize).
	SHA256 string
	Size   int64
	Mime   string
	// Width and Height are the pixel dimensions of images (else 0).
	Width, Height int
	// ContentKey and ThumbnailKey are the object keys of the blob's content
	// and thumbnail ("" when there is none), copied from the blob at finalize.
	ContentKey   string
	ThumbnailKey string
	CreatedAt    time.Time
	FinalizedAt  time.Time
	DeletedAt    time.Time
	// Attachments are the messages carrying this media (MessageRef.String()),
	// sorted; a group message counts once however many members it has.
	Attachments []string
}

// Attached reports whether any message carries the media.
func (m Media) Attached() bool { return len(m.Attachments) > 0 }

// Readable reports whether the content can be served: finalized only.
func (m Media) Readable() bool { return m.State == StateFinalized }

// Object keys derived from a media id. Each upload writes its bytes under
// ObjectKey(id) (directly on the streaming path, by a verified server-side
// copy from UploadKey(id) on the presigned path); if that content is new it
// becomes the blob's object, else it is deleted and the existing blob is
// referenced. ThumbnailKey(id) holds the thumbnail made with a new blob.
// UploadKey(id) is the presigned PUT target: a client may write it until the
// URL expires, so it never holds a blob's content.
func ObjectKey(id ids.ID) string    { return "o/" + id.String() }
func ThumbnailKey(id ids.ID) string { return "t/" + id.String() }
func UploadKey(id ids.ID) string    { return "u/" + id.String() }

// MaxNameBytes bounds a file name.
const MaxNameBytes = 255

// NormalizeName keeps the last path element of a client's file name (both
// separators), trims it, and checks it: at most 255 bytes of valid UTF-8
// without control characters. Empty is allowed (no name).
func NormalizeName(s string) (string, error) {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSpace(s)
	if s == "." || s == ".." {
		s = ""
	}
	if len(s) > MaxNameBytes {
		return "", errs.Newf(errs.InvalidArgument, "name must be at most %d bytes", MaxNameBytes)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return "", errs.New(errs.InvalidArgument, "name must be valid UTF-8")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", errs.New(errs.InvalidArgument, "name must not contain control characters")
	}
	return s, nil
}

// MessageRef names a message that carries media.
type MessageRef struct {
	ConversationID string
	MessageID      ids.ID
}

// MaxConversationIDLen bounds MessageRef.ConversationID.
const MaxConversationIDLen = 128

// Validate checks the reference: a printable ASCII conversation id without
// '/' or spaces, and a message id.
func (r MessageRef) Validate() error {
	if r.ConversationID == "" || len(r.ConversationID) > MaxConversationIDLen {
		return errs.Newf(errs.InvalidArgument, "message.conversation_id must be 1–%d characters", MaxConversationIDLen)
	}
	for i := 0; i < len(r.ConversationID); i++ {
		if c := r.ConversationID[i]; c <= ' ' || c >= 0x7f || c == '/' {
			return errs.New(errs.InvalidArgument, "message.conversation_id must be printable ASCII without '/' or spaces")
		}
	}
	if r.MessageID <= 0 {
		return errs.New(errs.InvalidArgument, "message.message_id is required")
	}
	return nil
}

// String is the stored form, "<conversation id>/<message id>".
func (r MessageRef) String() string { return r.ConversationID + "/" + r.MessageID.String() }

// ParseMessageRef reads the stored form back; ok is false for anything
// String did not produce.
func ParseMessageRef(s string) (MessageRef, bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return MessageRef{}, false
	}
	id, err := ids.Parse(s[i+1:])
	r := MessageRef{ConversationID: s[:i], MessageID: id}
	if err != nil || r.Validate() != nil {
		return MessageRef{}, false
	}
	return r, true
}

// SortedUnique returns refs sorted without duplicates (nil when empty).
func SortedUnique(refs []string) []string {
	if len(refs) == 0 {
		return nil
	}
	out := slices.Clone(refs)
	slices.Sort(out)
	return slices.Compact(out)
}
