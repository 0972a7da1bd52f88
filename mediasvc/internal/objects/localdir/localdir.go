// Package localdir is the single-machine object store: files in a directory.
//
// Writes are atomic: bytes stream into a temporary file in the same file
// system, which is synced and then renamed over the target, so a reader
// sees the old object or the new one, never a part, and a crash leaves at
// most a temporary file (removed at the next start). Objects live under
// sharded paths, objects/ab/cd/<escaped key> with ab and cd taken from the
// SHA-256 of the key, so no directory grows huge. There are no presigned
// URLs: content is served through mediasvc.
package localdir

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
)

// Config configures the store.
type Config struct {
	// Dir holds objects/ and tmp/; it is created if missing.
	Dir string
}

// Store is the local-directory adapter. It is safe for concurrent use.
type Store struct {
	objects, tmp string
}

var _ usecase.Objects = (*Store)(nil)

// staleTemp is the age of a temporary file removed at Open: a write that
// crashed the process.
const staleTemp = time.Hour

// Open prepares the directory and removes stale temporary files.
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("local object store: directory required")
	}
	s := &Store{objects: filepath.Join(cfg.Dir, "objects"), tmp: filepath.Join(cfg.Dir, "tmp")}
	for _, d := range []string{s.objects, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("local object store: %w", err)
		}
	}
	entries, _ := os.ReadDir(s.tmp)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
	return s, nil
}

// path maps a key to its file. Keys are ASCII letters, digits and ._-/
// without empty or dot segments.
func (s *Store) path(key string) (string, error) {
	if key == "" || len(key) > 512 {
		return "", fmt.Errorf("local object store: bad key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("local object store: bad key %q", key)
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
			return "", fmt.Errorf("local object store: bad key %q", key)
		}
	}
	h := sha256.Sum256([]byte(key))
	shard := hex.EncodeToString(h[:2])
	return filepath.Join(s.objects, shard[:2], shard[2:], url.PathEscape(key)), nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Put implements usecase.Objects.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) (int64, error) {
	dst, err := s.path(key)
	if err != nil {
		return 0, err
	}
	n, err := s.writeAtomic(dst, ctxReader{ctx, r}, size)
	return n, err
}

func (s *Store) writeAtomic(dst string, r io.Reader, size int64) (n int64, err error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return 0, fmt.Errorf("local object store: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	n, err = io.Copy(f, r)
	if err != nil {
		return n, err
	}
	if size >= 0 && n != size {
		return n, fmt.Errorf("local object store: got %d bytes, want %d", n, size)
	}
	if err = f.Sync(); err != nil {
		return n, fmt.Errorf("local object store: %w", err)
	}
	if err = f.Close(); err != nil {
		return n, fmt.Errorf("local object store: %w", err)
	}
	return n, s.install(f.Name(), dst)
}

// install renames a complete temporary file over dst.
func (s *Store) install(tmp, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("local object store: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("local object store: %w", err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		_ = d.Sync() // make the rename durable
		_ = d.Close()
	}
	return nil
}

func etag(fi fs.FileInfo) string {
	return strconv.FormatInt(fi.Size(), 16) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 16)
}

func info(fi fs.FileInfo) usecase.ObjectInfo {
	return usecase.ObjectInfo{Size: fi.Size(), ETag: etag(fi), ModTime: fi.ModTime()}
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return entity.ErrNotFound
	}
	return fmt.Errorf("local object store: %w", err)
}

type reader struct {
	*os.File
	info usecase.ObjectInfo
}

func (r reader) Info() usecase.ObjectInfo { return r.info }

// Open implements usecase.Objects.
func (s *Store) Open(_ context.Context, key, ifETag string) (usecase.ObjectReader, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, notFound(err)
	}
	if ifETag != "" && etag(fi) != ifETag {
		_ = f.Close()
		return nil, entity.ErrChanged
	}
	return reader{File: f, info: info(fi)}, nil
}

// Stat implements usecase.Objects.
func (s *Store) Stat(_ context.Context, key string) (usecase.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return usecase.ObjectInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return usecase.ObjectInfo{}, notFound(err)
	}
	return info(fi), nil
}

// Copy implements usecase.Objects: a hard link to the source's file (a
// rewrite of the source renames a new file in, so the link keeps the
// copied version), checked against ifETag after linking, then renamed into
// place; a plain copy where links are not possible.
func (s *Store) Copy(ctx context.Context, src, dst, ifETag string) error {
	sp, err := s.path(src)
	if err != nil {
		return err
	}
	dp, err := s.path(dst)
	if err != nil {
		return err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(s.tmp, "copy-"+hex.EncodeToString(rnd[:]))
	if err := os.Link(sp, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return entity.ErrNotFound
		}
		return s.copyByReading(ctx, src, dp, ifETag)
	}
	fi, err := os.Stat(tmp)
	if err != nil || etag(fi) != ifETag {
		_ = os.Remove(tmp)
		if err != nil {
			return notFound(err)
		}
		return entity.ErrChanged
	}
	if err := s.install(tmp, dp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

func (s *Store) copyByReading(ctx context.Context, src, dp, ifETag string) error {
	r, err := s.Open(ctx, src, ifETag)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = s.writeAtomic(dp, ctxReader{ctx, r}, r.Info().Size)
	return err
}

// Delete implements usecase.Objects.
func (s *Store) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local object store: %w", err)
	}
	return nil
}

// PresignPut implements usecase.Objects: not supported.
func (s *Store) PresignPut(context.Context, string, int64, time.Duration) (usecase.PresignedRequest, error) {
	return usecase.PresignedRequest{}, entity.ErrNotSupported
}

// PresignGet implements usecase.Objects: not supported.
func (s *Store) PresignGet(context.Context, string, time.Duration, usecase.Download) (usecase.PresignedRequest, error) {
	return usecase.PresignedRequest{}, entity.ErrNotSupported
}

// Ping implements usecase.Objects: the directory is there and writable.
func (s *Store) Ping(context.Context) error {
	f, err := os.CreateTemp(s.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("local object store: %w", err)
	}
	_ = f.Close()
	return os.Remove(f.Name())
}
