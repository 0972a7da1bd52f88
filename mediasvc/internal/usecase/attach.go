package usecase

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/mediaapi"
)

// MaxAttachIDs bounds the media ids of one attach or detach call.
const MaxAttachIDs = mediaapi.MaxMediaIDs

// AttachInput is messagesvc's request to carry media in a message.
type AttachInput struct {
	// UserID is the sender: every media id must be theirs.
	UserID   ids.ID
	MediaIDs []ids.ID
	Message  entity.MessageRef
}

// Attach records that a message carries the media and returns their
// metadata, in the order given. Each media must exist, be finalized and
// belong to UserID: a missing (or deleted) id is not_found, someone else's
// upload permission_denied, a pending one failed_precondition. All ids are
// checked before any is attached. Attaching again with the same message is
// idempotent; a group message references media once, whatever its size.
func (s *Service) Attach(ctx context.Context, in AttachInput) ([]entity.Media, error) {
	if err := checkIDs(in.MediaIDs); err != nil {
		return nil, err
	}
	if in.UserID <= 0 {
		return nil, errs.New(errs.InvalidArgument, "user_id is required")
	}
	if err := in.Message.Validate(); err != nil {
		return nil, err
	}
	for _, id := range in.MediaIDs {
		m, err := s.Media.Media(ctx, id)
		if err := attachable(id, m, err, in.UserID); err != nil {
			return nil, err
		}
	}
	ref := in.Message.String()
	out := make([]entity.Media, 0, len(in.MediaIDs))
	for _, id := range in.MediaIDs {
		m, err := s.Media.Attach(ctx, id, ref)
		if errors.Is(err, entity.ErrConflict) || errors.Is(err, entity.ErrNotFound) {
			// Deleted by the cleanup between the check and now.
			return nil, errs.Newf(errs.NotFound, "media %s not found", id)
		}
		if err != nil {
			return nil, storeError(err)
		}
		out = append(out, m)
	}
	return out, nil
}

func attachable(id ids.ID, m entity.Media, err error, user ids.ID) error {
	switch {
	case errors.Is(err, entity.ErrNotFound) || (err == nil && m.State == entity.StateDeleted):
		return errs.Newf(errs.NotFound, "media %s not found", id).WithDetail("media_id", id.String())
	case err != nil:
		return storeError(err)
	case m.OwnerID != user:
		return errs.Newf(errs.PermissionDenied, "media %s was not uploaded by this user", id).WithDetail("media_id", id.String())
	case m.State != entity.StateFinalized:
		return errs.Newf(errs.FailedPrecondition, "media %s is not finalized yet", id).WithDetail("media_id", id.String())
	}
	return nil
}

// Detach records that a message no longer carries the media (it was deleted
// or never sent). Media left in no message becomes an orphan again and the
// cleanup deletes it once it is older than the orphan age. Unknown ids and
// references are ignored: detaching is idempotent.
func (s *Service) Detach(ctx context.Context, mediaIDs []ids.ID, msg entity.MessageRef) error {
	if err := checkIDs(mediaIDs); err != nil {
		return err
	}
	if err := msg.Validate(); err != nil {
		return err
	}
	for _, id := range mediaIDs {
		m, err := s.Media.Detach(ctx, id, msg.String())
		if errors.Is(err, entity.ErrNotFound) || errors.Is(err, entity.ErrConflict) {
			continue
		}
		if err != nil {
			return storeError(err)
		}
		if m.Attached() {
			continue
		}
		due := m.CreatedAt.Add(s.cfg.OrphanAge)
		if now := s.now(); due.Before(now) {
			due = now
		}
		if err := s.Checks.ScheduleCheck(ctx, entity.Check{Due: due, Kind: entity.CheckMedia, Key: id.String()}); err != nil {
			s.Logger.Warn("scheduling the check of detached media failed", slog.String("media_id", id.String()), slog.Any("err", err))
			return storeError(err)
		}
	}
	return nil
}

func checkIDs(list []ids.ID) error {
	if len(list) == 0 || len(list) > MaxAttachIDs {
		return errs.Newf(errs.InvalidArgument, "media_ids must hold 1–%d ids", MaxAttachIDs)
	}
	for i, id := range list {
		if id <= 0 {
			return errs.New(errs.InvalidArgument, "media_ids must be positive ids")
		}
		if slices.Contains(list[:i], id) {
			return errs.Newf(errs.InvalidArgument, "media id %s is listed twice", id)
		}
	}
	return nil
}
