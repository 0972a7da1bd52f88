package usecase

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// Get returns media metadata. The uploader sees their record in any state
// but deleted; anyone else sees finalized media only if Visibility says they
// can see a message carrying it. Everyone else gets not_found, the same
// answer as for media that does not exist.
func (s *Service) Get(ctx context.Context, caller Identity, id ids.ID) (entity.Media, error) {
	m, err := s.Media.Media(ctx, id)
	switch {
	case errors.Is(err, entity.ErrNotFound):
		return entity.Media{}, errNoMedia()
	case err != nil:
		return entity.Media{}, storeError(err)
	case m.OwnerID == caller.UserID && m.State != entity.StateDeleted:
		return m, nil
	}
	return s.readable(ctx, caller, m)
}

// readable applies the access rule to a record someone may read the content of.
func (s *Service) readable(ctx context.Context, caller Identity, m entity.Media) (entity.Media, error) {
	if !m.Readable() {
		return entity.Media{}, errNoMedia()
	}
	if m.OwnerID == caller.UserID {
		return m, nil
	}
	if !m.Attached() {
		// Not in any message yet: only its uploader can know it.
		return entity.Media{}, errNoMedia()
	}
	refs := make([]entity.MessageRef, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		if r, ok := entity.ParseMessageRef(a); ok {
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		return entity.Media{}, errNoMedia()
	}
	ok, err := s.Visibility.CanRead(ctx, m.ID, caller.UserID, refs)
	if err != nil {
		s.Logger.Warn("visibility check failed", slog.String("media_id", m.ID.String()), slog.Any("err", err))
		if errs.CodeOf(err).Retryable() {
			return entity.Media{}, err
		}
		return entity.Media{}, errs.Wrap(err, errs.Unavailable, "cannot check access right now, try again")
	}
	if !ok {
		return entity.Media{}, errNoMedia()
	}
	return m, nil
}

// Content is how to deliver an object: a redirect to a presigned URL, or a
// stream the caller must close.
type Content struct {
	Redirect *PresignedRequest
	Reader   ObjectReader
	Mime     string
	Name     string
	// Disposition is "inline" or "attachment".
	Disposition string
}

// Content returns the media's bytes to a reader allowed by the access rule.
func (s *Service) Content(ctx context.Context, caller Identity, id ids.ID) (Content, error) {
	m, err := s.readableByID(ctx, caller, id)
	if err != nil {
		return Content{}, err
	}
	return s.deliver(ctx, m.ContentKey, m.Mime, m.Name, disposition(m.Mime))
}

// Thumbnail returns the media's thumbnail (a JPEG) under the same rule;
// not_found for media without one.
func (s *Service) Thumbnail(ctx context.Context, caller Identity, id ids.ID) (Content, error) {
	m, err := s.readableByID(ctx, caller, id)
	if err != nil {
		return Content{}, err
	}
	if m.ThumbnailKey == "" {
		return Content{}, errs.New(errs.NotFound, "this media has no thumbnail")
	}
	return s.deliver(ctx, m.ThumbnailKey, "image/jpeg", "", "inline")
}

func (s *Service) readableByID(ctx context.Context, caller Identity, id ids.ID) (entity.Media, error) {
	m, err := s.Media.Media(ctx, id)
	if errors.Is(err, entity.ErrNotFound) {
		return entity.Media{}, errNoMedia()
	}
	if err != nil {
		return entity.Media{}, storeError(err)
	}
	return s.readable(ctx, caller, m)
}

func (s *Service) deliver(ctx context.Context, key, mime, name, disp string) (Content, error) {
	c := Content{Mime: mime, Name: name, Disposition: disp}
	if s.cfg.Redirect {
		req, err := s.Objects.PresignGet(ctx, key, s.cfg.DownloadExpiry, Download{ContentType: mime, Disposition: disp, FileName: name})
		if err == nil {
			c.Redirect = &req
			return c, nil
		}
		if !errors.Is(err, entity.ErrNotSupported) {
			return Content{}, objectsError(err)
		}
	}
	r, err := s.Objects.Open(ctx, key, "")
	if errors.Is(err, entity.ErrNotFound) {
		s.Logger.Error("a finalized media's object is missing", slog.String("key", key))
		return Content{}, errs.Wrap(err, errs.Internal, "media content missing")
	}
	if err != nil {
		return Content{}, objectsError(err)
	}
	c.Reader = r
	return c, nil
}

// disposition shows media inline that browsers render safely (the type was
// sniffed and allow-listed), and offers everything else as a download.
func disposition(mime string) string {
	for _, p := range []string{"image/", "video/", "audio/", "application/ogg"} {
		if strings.HasPrefix(mime, p) {
			return "inline"
		}
	}
	return "attachment"
}
