package embedded

import (
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// The stored JSON forms. They are separate from the entities so a renamed
// entity field never silently changes the file format.

type mediaRecord struct {
	ID             int64     `json:"id"`
	OwnerID        int64     `json:"owner_id"`
	State          string    `json:"state"`
	Name           string    `json:"name,omitempty"`
	DeclaredSize   int64     `json:"declared_size,omitempty"`
	DeclaredSHA256 string    `json:"declared_sha256,omitempty"`
	SHA256         string    `json:"sha256,omitempty"`
	Size           int64     `json:"size,omitempty"`
	Mime           string    `json:"mime,omitempty"`
	Width          int       `json:"width,omitempty"`
	Height         int       `json:"height,omitempty"`
	ContentKey     string    `json:"content_key,omitempty"`
	ThumbnailKey   string    `json:"thumbnail_key,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	FinalizedAt    time.Time `json:"finalized_at,omitzero"`
	DeletedAt      time.Time `json:"deleted_at,omitzero"`
	Attachments    []string  `json:"attachments,omitempty"`
}

func toMediaRecord(m entity.Media) mediaRecord {
	return mediaRecord{ID: int64(m.ID), OwnerID: int64(m.OwnerID), State: string(m.State), Name: m.Name,
		DeclaredSize: m.DeclaredSize, DeclaredSHA256: m.DeclaredSHA256, SHA256: m.SHA256, Size: m.Size,
		Mime: m.Mime, Width: m.Width, Height: m.Height, ContentKey: m.ContentKey, ThumbnailKey: m.ThumbnailKey,
		CreatedAt: m.CreatedAt, FinalizedAt: m.FinalizedAt, DeletedAt: m.DeletedAt, Attachments: m.Attachments}
}

func (r mediaRecord) entity() entity.Media {
	return entity.Media{ID: ids.ID(r.ID), OwnerID: ids.ID(r.OwnerID), State: entity.State(r.State), Name: r.Name,
		DeclaredSize: r.DeclaredSize, DeclaredSHA256: r.DeclaredSHA256, SHA256: r.SHA256, Size: r.Size,
		Mime: r.Mime, Width: r.Width, Height: r.Height, ContentKey: r.ContentKey, ThumbnailKey: r.ThumbnailKey,
		CreatedAt: r.CreatedAt, FinalizedAt: r.FinalizedAt, DeletedAt: r.DeletedAt, Attachments: r.Attachments}
}

type blobRecord struct {
	State        string    `json:"state"`
	ObjectKey    string    `json:"object_key"`
	ThumbnailKey string    `json:"thumbnail_key,omitempty"`
	Size         int64     `json:"size"`
	Mime         string    `json:"mime"`
	Width        int       `json:"width,omitempty"`
	Height       int       `json:"height,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	Refs         []int64   `json:"refs,omitempty"`
}

func toBlobRecord(b entity.Blob) blobRecord {
	r := blobRecord{State: string(b.State), ObjectKey: b.ObjectKey, ThumbnailKey: b.ThumbnailKey, Size: b.Size,
		Mime: b.Mime, Width: b.Width, Height: b.Height, CreatedAt: b.CreatedAt}
	for _, id := range b.Refs {
		r.Refs = append(r.Refs, int64(id))
	}
	return r
}

func (r blobRecord) entity(sha string) entity.Blob {
	b := entity.Blob{SHA256: sha, State: entity.BlobState(r.State), ObjectKey: r.ObjectKey, ThumbnailKey: r.ThumbnailKey,
		Size: r.Size, Mime: r.Mime, Width: r.Width, Height: r.Height, CreatedAt: r.CreatedAt}
	for _, id := range r.Refs {
		b.Refs = append(b.Refs, ids.ID(id))
	}
	return b
}

type limitsRecord struct {
	Limits    map[string]int64 `json:"limits"`
	UpdatedAt time.Time        `json:"updated_at"`
	UpdatedBy int64            `json:"updated_by"`
}
