package usecase

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
)

// dropUnsent handles a finalized, attached media in a cleanup check. A
// send attaches its media before it stores the message (messagesvc README,
// *Attachments*); a send that died in between and was never retried leaves
// a reference to a message that does not exist, which would keep the media
// from ever being collected. Once every reference is older than UnsentAge
// (past the window in which a retry could still store the message), the
// uploader — the sender of every message carrying it — is asked about: if
// messagesvc has none of those messages, the references are dropped and m
// goes on as an orphan. It returns done=true when the check is over for
// now: a real attachment, or a later look scheduled.
func (s *Service) dropUnsent(ctx context.Context, m *entity.Media, now time.Time) (done bool, err error) {
	if s.cfg.UnsentAge <= 0 {
		return true, nil
	}
	var refs []entity.MessageRef
	var newest time.Time
	for _, a := range m.Attachments {
		r, ok := entity.ParseMessageRef(a)
		if !ok {
			continue
		}
		refs = append(refs, r)
		if t := r.MessageID.Time(); t.After(newest) {
			newest = t
		}
	}
	if due := newest.Add(s.cfg.UnsentAge); now.Before(due) {
		return true, s.Checks.ScheduleCheck(ctx, entity.Check{Due: due, Kind: entity.CheckMedia, Key: m.ID.String()})
	}
	if len(refs) > 0 {
		sent, err := s.Visibility.CanRead(ctx, m.ID, m.OwnerID, refs)
		if err != nil || sent {
			return true, err
		}
	}
	for _, a := range m.Attachments {
		got, err := s.Media.Detach(ctx, m.ID, a)
		if errors.Is(err, entity.ErrNotFound) || errors.Is(err, entity.ErrConflict) {
			return true, nil // deleted or changed meanwhile: nothing to do
		}
		if err != nil {
			return true, err
		}
		*m = got
	}
	s.Logger.Info("dropped references to messages never stored", slog.String("media_id", m.ID.String()),
		slog.Int("references", len(refs)))
	return m.Attached(), nil
}
