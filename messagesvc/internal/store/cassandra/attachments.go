package cassandra

import (
	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// attachmentUDT is the attachment type of migration 0003: one media's
// metadata in messages.attachment_info.
type attachmentUDT struct {
	ID     int64  `cql:"id"`
	Mime   string `cql:"mime"`
	Size   int64  `cql:"size"`
	Name   string `cql:"name"`
	Width  int    `cql:"width"`
	Height int    `cql:"height"`
}

// unsetAttachmentInfo writes the metadata only when there is some beyond
// the ids (the attachments column has those): attachments accepted without
// mediasvc leave the column unset.
func unsetAttachmentInfo(v []entity.Attachment) any {
	meta := false
	for _, a := range v {
		meta = meta || a != (entity.Attachment{ID: a.ID})
	}
	if !meta {
		return gocql.UnsetValue
	}
	out := make([]attachmentUDT, len(v))
	for i, a := range v {
		out[i] = attachmentUDT{ID: int64(a.ID), Mime: a.Mime, Size: a.Size, Name: a.Name, Width: a.Width, Height: a.Height}
	}
	return out
}

// toAttachments prefers the metadata and falls back to the ids (rows
// written before migration 0003 or without mediasvc).
func toAttachments(idList []int64, info []attachmentUDT) []entity.Attachment {
	if len(info) > 0 {
		out := make([]entity.Attachment, len(info))
		for i, a := range info {
			out[i] = entity.Attachment{ID: ids.ID(a.ID), Mime: a.Mime, Size: a.Size, Name: a.Name, Width: a.Width, Height: a.Height}
		}
		return out
	}
	if len(idList) == 0 {
		return nil
	}
	out := make([]entity.Attachment, len(idList))
	for i, id := range idList {
		out[i] = entity.Attachment{ID: ids.ID(id)}
	}
	return out
}
