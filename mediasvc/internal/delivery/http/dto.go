package http

import (
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/mediaapi"
)

// Request bodies.

type createUploadRequest struct {
	Size   int64  `json:"size"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

type finalizeRequest struct {
	SHA256 string `json:"sha256"`
}

type setLimitsRequest struct {
	Limits *map[string]int64 `json:"limits"` // a pointer, so a missing field differs from {}
}

// The attach and detach bodies are messagesvc's contract: shared/mediaapi.

// Response bodies.

type mediaResponse struct {
	ID           ids.ID     `json:"id"`
	OwnerID      ids.ID     `json:"owner_id"`
	State        string     `json:"state"`
	Name         string     `json:"name"`
	Size         int64      `json:"size"`
	Mime         string     `json:"mime,omitempty"`
	SHA256       string     `json:"sha256,omitempty"`
	Width        int        `json:"width,omitempty"`
	Height       int        `json:"height,omitempty"`
	HasThumbnail bool       `json:"has_thumbnail"`
	CreatedAt    time.Time  `json:"created_at"`
	FinalizedAt  *time.Time `json:"finalized_at,omitempty"`
}

type mediaEnvelope struct {
	Media mediaResponse `json:"media"`
}

type uploadTarget struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

type pendingUploadResponse struct {
	Media  mediaResponse `json:"media"`
	Upload uploadTarget  `json:"upload"`
}

type limitsResponse struct {
	Limits  map[string]int64 `json:"limits"`
	Allowed []string         `json:"allowed"`
}

// Converters from the use-case layer. A pending record shows what was
// declared; the owner and the reader see the same fields (attachments, the
// messages carrying it, stay private).

func toMedia(m entity.Media) mediaResponse {
	r := mediaResponse{ID: m.ID, OwnerID: m.OwnerID, State: string(m.State), Name: m.Name, Size: m.Size,
		Mime: m.Mime, SHA256: m.SHA256, Width: m.Width, Height: m.Height, HasThumbnail: m.ThumbnailKey != "",
		CreatedAt: m.CreatedAt}
	if m.State == entity.StatePending && m.SHA256 == "" {
		r.Size, r.SHA256 = m.DeclaredSize, m.DeclaredSHA256
	}
	if !m.FinalizedAt.IsZero() {
		t := m.FinalizedAt
		r.FinalizedAt = &t
	}
	return r
}

func toPendingUpload(p usecase.PendingUpload) pendingUploadResponse {
	h := map[string]string{}
	for k, v := range p.Upload.Header {
		if len(v) > 0 {
			h[k] = v[0]
		}
	}
	return pendingUploadResponse{Media: toMedia(p.Media), Upload: uploadTarget{Method: p.Upload.Method,
		URL: p.Upload.URL, Headers: h, ExpiresAt: p.Upload.Expires.UTC().Truncate(time.Second)}}
}

func toAttachments(ms []entity.Media) mediaapi.AttachResponse {
	out := mediaapi.AttachResponse{Attachments: make([]mediaapi.Attachment, 0, len(ms))}
	for _, m := range ms {
		out.Attachments = append(out.Attachments, mediaapi.Attachment{ID: m.ID, Mime: m.Mime, Size: m.Size,
			Name: m.Name, Width: m.Width, Height: m.Height})
	}
	return out
}

func toLimits(l entity.Limits) limitsResponse {
	out := limitsResponse{Limits: map[string]int64{}, Allowed: l.Allowed()}
	for t, n := range l {
		out.Limits[t] = n
	}
	if out.Allowed == nil {
		out.Allowed = []string{}
	}
	return out
}
