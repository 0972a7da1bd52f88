package usecase

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// UploadInput is one streamed upload.
type UploadInput struct {
	Caller Identity
	// Body is the raw content; it is read once, as a stream.
	Body io.Reader
	// Length is the declared length (Content-Length), -1 if unknown.
	Length int64
	Name   string
}

// Upload stores a streamed upload and returns its finalized record. The
// type is sniffed from the first 512 bytes (the client's Content-Type is
// never trusted), the size is bounded by that type's limit while the bytes
// stream, and the SHA-256 is computed on the way: the body is never held in
// memory. Identical content is stored once (see promote). If anything fails
// — the client disconnects, the body is too large, the store is down — no
// record becomes visible.
func (s *Service) Upload(ctx context.Context, in UploadInput) (entity.Media, error) {
	m, outcome, err := s.upload(ctx, in)
	s.Metrics.Uploads.WithLabelValues("stream", outcome).Inc()
	return m, err
}

func (s *Service) upload(ctx context.Context, in UploadInput) (entity.Media, string, error) {
	if err := s.checkUploadRate(ctx, in.Caller.UserID); err != nil {
		return entity.Media{}, outcomeRateLimited, err
	}
	name, err := entity.NormalizeName(in.Name)
	if err != nil {
		return entity.Media{}, outcomeInvalid, err
	}
	limits, err := s.Limits(ctx)
	if err != nil {
		return entity.Media{}, outcomeError, err
	}
	if in.Length > limits.Max() {
		return entity.Media{}, outcomeTooLarge, tooLarge(limits.Max(), "")
	}
	head := make([]byte, entity.SniffLen)
	n, err := io.ReadFull(in.Body, head)
	switch {
	case errors.Is(err, io.EOF):
		return entity.Media{}, outcomeInvalid, errs.New(errs.InvalidArgument, "empty upload: send the file's bytes as the request body")
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return entity.Media{}, outcomeInterrupted, interrupted(err)
	}
	head = head[:n]
	mime := entity.Sniff(head)
	limit, ok := limits.For(mime)
	if !ok {
		return entity.Media{}, outcomeForbidden, forbiddenType(mime, limits)
	}
	if in.Length > limit {
		return entity.Media{}, outcomeTooLarge, tooLarge(limit, mime)
	}

	id, now := s.IDs.Next(), s.now()
	// The pending record and its cleanup check are written while the bytes
	// stream; the last byte is held back until they are durable, so no
	// object is ever complete without a record and a check.
	pending := entity.Media{ID: id, OwnerID: in.Caller.UserID, State: entity.StatePending, Name: name, CreatedAt: now}
	created := make(chan error, 1)
	go func() {
		created <- s.Media.CreateMedia(ctx, pending, entity.Check{Due: now.Add(s.cfg.OrphanAge), Kind: entity.CheckMedia, Key: id.String()})
	}()
	recorded := sync.OnceValue(func() error { return <-created })
	body := &meteredReader{r: io.MultiReader(bytes.NewReader(head), in.Body), limit: limit, length: in.Length,
		hash: sha256.New(), gate: recorded}
	size := int64(-1)
	if in.Length >= 0 {
		size = in.Length
	}
	key := entity.ObjectKey(id)
	written, err := s.Objects.Put(ctx, key, body, size, mime)
	if err == nil && written != body.n {
		err = fmt.Errorf("stored %d bytes of %d", written, body.n)
	}
	rerr := recorded()
	if err != nil {
		if rerr == nil {
			s.discardPending(ctx, id)
		}
		switch {
		case body.tooLarge:
			return entity.Media{}, outcomeTooLarge, tooLarge(limit, mime)
		case body.err != nil:
			return entity.Media{}, outcomeInterrupted, interrupted(body.err)
		case ctx.Err() != nil:
			return entity.Media{}, outcomeInterrupted, interrupted(ctx.Err())
		case rerr != nil:
			return entity.Media{}, outcomeError, storeError(rerr)
		}
		return entity.Media{}, outcomeError, objectsError(err)
	}
	if rerr != nil {
		// Not reachable (the gate held the last byte back), but never keep
		// an object without its record.
		s.deleteObjects(ctx, key)
		return entity.Media{}, outcomeError, storeError(rerr)
	}
	pending.SHA256, pending.Size, pending.Mime = hex.EncodeToString(body.hash.Sum(nil)), body.n, mime
	final, err := s.promote(ctx, pending)
	if err != nil {
		return entity.Media{}, outcomeError, err
	}
	s.Metrics.UploadBytes.Add(float64(final.Size))
	return final, outcomeOK, nil
}

// discardPending removes the pending record of an upload that failed, so
// it leaves no record (if this fails too, the cleanup removes it later).
func (s *Service) discardPending(ctx context.Context, id ids.ID) {
	ctx, cancel := cleanupCtx(ctx)
	defer cancel()
	ok, err := s.Media.MarkDeleted(ctx, id, entity.StatePending, s.now())
	if err == nil && ok {
		err = s.Media.PurgeMedia(ctx, id)
	}
	if err != nil {
		s.Logger.Warn("removing the record of a failed upload failed; the cleanup will", slog.String("media_id", id.String()), slog.Any("err", err))
	}
}

// meteredReader counts, hashes and bounds what flows through it, and keeps
// the first error of the underlying reader, so a client's broken body can be
// told from a failing store. Before it hands out the bytes that complete the
// declared length (or the end of an undeclared one) it waits for gate.
type meteredReader struct {
	r        io.Reader
	limit    int64
	length   int64 // declared length, -1 if unknown
	n        int64
	hash     hash.Hash
	gate     func() error
	gated    bool
	tooLarge bool
	err      error
}

var errTooLarge = errors.New("body exceeds the limit")

func (m *meteredReader) Read(p []byte) (int, error) {
	if m.tooLarge {
		return 0, errTooLarge
	}
	// Read at most one byte past the limit: enough to know it is exceeded.
	if room := m.limit + 1 - m.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.n > m.limit {
		m.tooLarge = true
		return n, errTooLarge
	}
	m.hash.Write(p[:n])
	if err != nil && err != io.EOF && m.err == nil {
		m.err = err
	}
	// The bytes that complete the body wait for the gate.
	if err == io.EOF || (m.length >= 0 && m.n >= m.length) {
		if gerr := m.pass(); gerr != nil {
			return 0, gerr
		}
	}
	return n, err
}

// pass waits for the gate once.
func (m *meteredReader) pass() error {
	if m.gated || m.gate == nil {
		return nil
	}
	m.gated = true
	return m.gate()
}

func tooLarge(limit int64, mime string) error {
	msg := "upload exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes"
	if mime != "" {
		msg = "upload exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes for " + mime
	}
	e := errs.New(errs.PayloadTooLarge, msg).WithDetail("limit_bytes", strconv.FormatInt(limit, 10))
	if mime != "" {
		e = e.WithDetail("type", mime)
	}
	return e
}

func forbiddenType(mime string, limits entity.Limits) error {
	return errs.Newf(errs.InvalidArgument, "file type %s is not allowed; allowed types: %s", mime,
		strings.Join(limits.Allowed(), ", ")).WithDetail("type", mime)
}

func interrupted(cause error) error {
	return errs.Wrap(cause, errs.InvalidArgument, "upload body ended early or broke off; nothing was stored")
}

// objectsError classifies an object-store failure: retryable unavailable.
func objectsError(err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(err, errs.DeadlineExceeded, "object storage timed out, try again")
	}
	return errs.Wrap(err, errs.Unavailable, "object storage unavailable, try again")
}
