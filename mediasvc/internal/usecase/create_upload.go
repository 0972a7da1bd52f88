package usecase

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
)

// CreateUploadInput asks for a direct-to-S3 upload.
type CreateUploadInput struct {
	Caller Identity
	// Size is the exact size the client will PUT.
	Size int64
	Name string
	// SHA256 is the content's hash, if the client knows it now; otherwise it
	// is given at finalize.
	SHA256 string
}

// PendingUpload is a pending media record and where to PUT its bytes.
type PendingUpload struct {
	Media  entity.Media
	Upload PresignedRequest
}

// presignSlack is how long after its URL expires a presigned upload's
// target is deleted, covering a PUT that started just before expiry.
const presignSlack = time.Minute

// CreateUpload starts a direct upload: a pending media record and a
// presigned PUT URL, valid for PresignExpiry, that stores exactly Size bytes.
// Finalize then verifies what arrived. The local-directory store has no
// presigned URLs: failed_precondition.
func (s *Service) CreateUpload(ctx context.Context, in CreateUploadInput) (PendingUpload, error) {
	if err := s.checkUploadRate(ctx, in.Caller.UserID); err != nil {
		return PendingUpload{}, err
	}
	name, err := entity.NormalizeName(in.Name)
	if err != nil {
		return PendingUpload{}, err
	}
	sha, err := normalizeSHA(in.SHA256)
	if err != nil {
		return PendingUpload{}, err
	}
	if in.Size <= 0 {
		return PendingUpload{}, errs.New(errs.InvalidArgument, "size must be the positive number of bytes you will upload")
	}
	limits, err := s.Limits(ctx)
	if err != nil {
		return PendingUpload{}, err
	}
	if in.Size > limits.Max() {
		return PendingUpload{}, tooLarge(limits.Max(), "")
	}
	id, now := s.IDs.Next(), s.now()
	req, err := s.Objects.PresignPut(ctx, entity.UploadKey(id), in.Size, s.cfg.PresignExpiry)
	if errors.Is(err, entity.ErrNotSupported) {
		return PendingUpload{}, errs.New(errs.FailedPrecondition,
			"direct uploads need the S3 object store; this server keeps media in a local directory, so upload through POST /media instead")
	}
	if err != nil {
		return PendingUpload{}, objectsError(err)
	}
	// Whatever lands at the upload key after the URL expired (or was never
	// finalized) is deleted by this check; the record by the media check.
	checks := []entity.Check{
		{Due: now.Add(s.cfg.OrphanAge), Kind: entity.CheckMedia, Key: id.String()},
		{Due: req.Expires.Add(presignSlack), Kind: entity.CheckObject, Key: entity.UploadKey(id)},
	}
	for _, c := range checks {
		if err := s.Checks.ScheduleCheck(ctx, c); err != nil {
			return PendingUpload{}, storeError(err)
		}
	}
	m := entity.Media{ID: id, OwnerID: in.Caller.UserID, State: entity.StatePending, Name: name,
		DeclaredSize: in.Size, DeclaredSHA256: sha, CreatedAt: now}
	if err := s.Media.CreateMedia(ctx, m); err != nil {
		return PendingUpload{}, storeError(err)
	}
	return PendingUpload{Media: m, Upload: req}, nil
}

func normalizeSHA(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s != "" && !entity.ValidSHA256(s) {
		return "", errs.New(errs.InvalidArgument, "sha256 must be 64 hexadecimal digits")
	}
	return s, nil
}
