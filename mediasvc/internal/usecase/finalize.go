package usecase

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// Finalize verifies a presigned upload and finalizes its record: the object
// must exist with the declared size, its bytes (streamed back through the
// hasher, never held in memory) must hash to the declared SHA-256, and the
// sniffed type must be allowed within its limit. A mismatch deletes what was
// uploaded and finalizes nothing; the client may PUT again while the URL
// lasts. The verified version is pinned by its ETag, and copied to a key the
// URL cannot write before it can become a blob, so a PUT racing the
// finalize cannot swap the content after it was checked. Finalizing twice
// returns the same record.
func (s *Service) Finalize(ctx context.Context, caller Identity, id ids.ID, sha string) (entity.Media, error) {
	m, outcome, err := s.finalize(ctx, caller, id, sha)
	if outcome != "" {
		s.Metrics.Uploads.WithLabelValues("presigned", outcome).Inc()
	}
	return m, err
}

func (s *Service) finalize(ctx context.Context, caller Identity, id ids.ID, sha string) (entity.Media, string, error) {
	sha, err := normalizeSHA(sha)
	if err != nil {
		return entity.Media{}, "", err
	}
	m, err := s.Media.Media(ctx, id)
	switch {
	case errors.Is(err, entity.ErrNotFound):
		return entity.Media{}, "", errNoMedia()
	case err != nil:
		return entity.Media{}, "", storeError(err)
	case m.OwnerID != caller.UserID || m.State == entity.StateDeleted:
		return entity.Media{}, "", errNoMedia()
	case m.State == entity.StateFinalized:
		if sha != "" && sha != m.SHA256 {
			return entity.Media{}, "", errs.New(errs.InvalidArgument, "this media is already finalized with other content")
		}
		return m, "", nil
	}
	want := sha
	if m.SHA256 != "" {
		// An earlier finalize verified and recorded the content: its bytes
		// may already be a blob's, so only that content may follow.
		if want != "" && want != m.SHA256 {
			return entity.Media{}, outcomeInvalid, errs.New(errs.InvalidArgument, "sha256 differs from the content verified by an earlier finalize")
		}
		want = m.SHA256
	}
	switch {
	case want == "" && m.DeclaredSHA256 == "":
		return entity.Media{}, outcomeInvalid, errs.New(errs.InvalidArgument, "sha256 is required: the hash of the bytes you uploaded")
	case want == "":
		want = m.DeclaredSHA256
	case m.DeclaredSHA256 != "" && want != m.DeclaredSHA256:
		return entity.Media{}, outcomeInvalid, errs.New(errs.InvalidArgument, "sha256 differs from the one declared when the upload was created")
	}

	upload := entity.UploadKey(id)
	info, err := s.Objects.Stat(ctx, upload)
	if errors.Is(err, entity.ErrNotFound) {
		return entity.Media{}, outcomeInvalid, errs.New(errs.FailedPrecondition, "nothing uploaded yet: PUT the bytes to the upload URL first")
	}
	if err != nil {
		return entity.Media{}, outcomeError, objectsError(err)
	}
	if info.Size != m.DeclaredSize {
		s.deleteObjects(ctx, upload)
		return entity.Media{}, outcomeInvalid, errs.Newf(errs.InvalidArgument, "uploaded %d bytes, but %d were declared", info.Size, m.DeclaredSize).
			WithDetail("declared_size", strconv.FormatInt(m.DeclaredSize, 10)).WithDetail("size", strconv.FormatInt(info.Size, 10))
	}
	mime, got, outcome, err := s.verifyObject(ctx, upload, info)
	if err != nil {
		return entity.Media{}, outcome, err
	}
	if got != want {
		s.deleteObjects(ctx, upload)
		return entity.Media{}, outcomeInvalid, errs.New(errs.InvalidArgument, "the uploaded bytes do not match the declared sha256").
			WithDetail("declared_sha256", want).WithDetail("sha256", got)
	}
	if cur, err := s.Media.ClaimContent(ctx, id, got, info.Size, mime); err != nil {
		switch {
		case errors.Is(err, entity.ErrConflict) && cur.State == entity.StateFinalized && cur.SHA256 == got:
			return cur, "", nil // a concurrent finalize of the same content won
		case errors.Is(err, entity.ErrConflict) && cur.State == entity.StatePending:
			return entity.Media{}, outcomeInvalid, errs.New(errs.FailedPrecondition, "another finalize of this upload verified other content")
		case errors.Is(err, entity.ErrConflict) || errors.Is(err, entity.ErrNotFound):
			return entity.Media{}, "", errNoMedia()
		}
		return entity.Media{}, outcomeError, storeError(err)
	}
	if err := s.Objects.Copy(ctx, upload, entity.ObjectKey(id), info.ETag); err != nil {
		if errors.Is(err, entity.ErrChanged) || errors.Is(err, entity.ErrNotFound) {
			return entity.Media{}, outcomeInvalid, changedDuringFinalize()
		}
		return entity.Media{}, outcomeError, objectsError(err)
	}
	m.SHA256, m.Size, m.Mime = got, info.Size, mime
	final, err := s.promote(ctx, m)
	if err != nil {
		return entity.Media{}, outcomeError, err
	}
	s.deleteObjects(ctx, upload)
	s.Metrics.UploadBytes.Add(float64(final.Size))
	return final, outcomeOK, nil
}

// verifyObject reads the object version info.ETag once: it sniffs the type
// from the first bytes, checks it against the limits, and hashes the whole.
func (s *Service) verifyObject(ctx context.Context, key string, info ObjectInfo) (mime, sha string, outcome string, err error) {
	limits, err := s.Limits(ctx)
	if err != nil {
		return "", "", outcomeError, err
	}
	r, err := s.Objects.Open(ctx, key, info.ETag)
	if errors.Is(err, entity.ErrChanged) || errors.Is(err, entity.ErrNotFound) {
		return "", "", outcomeInvalid, changedDuringFinalize()
	}
	if err != nil {
		return "", "", outcomeError, objectsError(err)
	}
	defer r.Close()
	head := make([]byte, entity.SniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", "", outcomeError, objectsError(err)
	}
	mime = entity.Sniff(head[:n])
	limit, ok := limits.For(mime)
	if !ok {
		s.deleteObjects(ctx, key)
		return "", "", outcomeForbidden, forbiddenType(mime, limits)
	}
	if info.Size > limit {
		s.deleteObjects(ctx, key)
		return "", "", outcomeTooLarge, tooLarge(limit, mime)
	}
	h := sha256.New()
	h.Write(head[:n])
	rest, err := io.Copy(h, r)
	if err != nil {
		return "", "", outcomeError, objectsError(err)
	}
	if int64(n)+rest != info.Size {
		return "", "", outcomeInvalid, changedDuringFinalize()
	}
	return mime, hex.EncodeToString(h.Sum(nil)), "", nil
}

func changedDuringFinalize() error {
	return errs.New(errs.FailedPrecondition, "the upload changed while it was being verified; finalize again")
}
