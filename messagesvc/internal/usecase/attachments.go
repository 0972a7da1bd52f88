package usecase

import (
	"context"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Media records that a message carries media (mediasvc owns media).
type Media interface {
	// Attach records that message msg of conv, sent by sender, carries
	// mediaIDs and returns their metadata in the order given. Every media
	// must be sender's own finalized upload. Attaching the same media to the
	// same message again is a no-op, so a retried send may call it again.
	Attach(ctx context.Context, sender ids.ID, conv protocol.ConversationID, msg ids.ID, mediaIDs []ids.ID) ([]entity.Attachment, error)
}

// WithMedia makes the send use case attach media through mediasvc: a send
// with attachment ids then stores the metadata mediasvc returns, and fails
// unless every id is the sender's own finalized upload. Without it the ids
// are stored as sent (validated by the protocol, not checked for
// ownership): messagesvc running without mediasvc.
func (uc *SendMessage) WithMedia(m Media) *SendMessage {
	uc.media = m
	return uc
}

// attach fills msg's attachments. It runs after the idempotency claim,
// keyed by the claimed message id, and before anything is written: a send
// that fails here stores nothing, and a retry (same client message id,
// same claimed id) attaches again, which mediasvc treats as a no-op. The
// reference is per message, so a group message references each media once.
func (uc *SendMessage) attach(ctx context.Context, sender ids.ID, msg *entity.Message, mediaIDs []protocol.MediaID) error {
	if len(mediaIDs) == 0 {
		return nil
	}
	if uc.media == nil {
		msg.Attachments = make([]entity.Attachment, 0, len(mediaIDs))
		for _, a := range mediaIDs {
			msg.Attachments = append(msg.Attachments, entity.Attachment{ID: ids.ID(a)})
		}
		return nil
	}
	want := make([]ids.ID, len(mediaIDs))
	for i, a := range mediaIDs {
		want[i] = ids.ID(a)
	}
	got, err := uc.media.Attach(ctx, sender, msg.Conversation, msg.ID, want)
	if err != nil {
		return attachError(err)
	}
	if len(got) != len(want) {
		return errs.Newf(errs.Unavailable, "media service answered %d attachments for %d ids, try again", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i] {
			return errs.New(errs.Unavailable, "media service answered other attachments, try again")
		}
	}
	msg.Attachments = got
	return nil
}

// attachError turns mediasvc's answer into the sender's. Someone else's
// media and media that does not exist get the same not_found, so a forged
// id tells the sender nothing about other users' uploads; the sender's own
// unfinished upload is failed_precondition; mediasvc unreachable or failing
// is a retryable unavailable (the send is not acknowledged).
func attachError(err error) error {
	e, ok := errs.As(err)
	if !ok {
		return errs.Wrap(err, errs.Unavailable, "media service unavailable, try again")
	}
	media := e.Details["media_id"]
	switch e.Code {
	case errs.NotFound, errs.PermissionDenied:
		out := errs.New(errs.NotFound, "attachment_ids: no such media among your uploads").WithDetail("field", "attachment_ids")
		if media != "" {
			out = out.WithDetail("media_id", media)
		}
		return out
	case errs.FailedPrecondition:
		out := errs.New(errs.FailedPrecondition, "attachment_ids: the upload is not finished yet").WithDetail("field", "attachment_ids")
		if media != "" {
			out = out.WithDetail("media_id", media)
		}
		return out
	case errs.InvalidArgument:
		return errs.Wrap(err, errs.InvalidArgument, "attachment_ids: "+e.Message).WithDetail("field", "attachment_ids")
	}
	if e.Code.Retryable() {
		return err
	}
	return errs.Wrap(err, errs.Unavailable, "media service unavailable, try again")
}
