package embedded

import (
	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// attachmentRecord is one attachment's stored metadata.
type attachmentRecord struct {
	ID     int64  `json:"id"`
	Mime   string `json:"mime,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Name   string `json:"name,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

// toAttachmentRecords keeps the metadata only when there is some beyond the
// ids (attachments accepted without mediasvc carry none).
func toAttachmentRecords(v []entity.Attachment) []attachmentRecord {
	if !hasMetadata(v) {
		return nil
	}
	out := make([]attachmentRecord, len(v))
	for i, a := range v {
		out[i] = attachmentRecord{ID: int64(a.ID), Mime: a.Mime, Size: a.Size, Name: a.Name, Width: a.Width, Height: a.Height}
	}
	return out
}

func hasMetadata(v []entity.Attachment) bool {
	for _, a := range v {
		if a != (entity.Attachment{ID: a.ID}) {
			return true
		}
	}
	return false
}

// attachments prefers the metadata and falls back to the ids.
func (r messageRecord) attachments() []entity.Attachment {
	if len(r.AttachmentInfo) > 0 {
		out := make([]entity.Attachment, len(r.AttachmentInfo))
		for i, a := range r.AttachmentInfo {
			out[i] = entity.Attachment{ID: ids.ID(a.ID), Mime: a.Mime, Size: a.Size, Name: a.Name, Width: a.Width, Height: a.Height}
		}
		return out
	}
	if len(r.Attachments) == 0 {
		return nil
	}
	out := make([]entity.Attachment, len(r.Attachments))
	for i, id := range r.Attachments {
		out[i] = entity.Attachment{ID: ids.ID(id)}
	}
	return out
}
