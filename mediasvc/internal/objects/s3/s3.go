// Package s3 is the production object store: any S3-compatible server
// through github.com/minio/minio-go/v7 (MinIO in tests).
//
// Uploads stream. With a known size (up to 5 GiB) one PUT goes out, fed
// from the request body as it arrives: no buffer, and receiving overlaps
// sending. With an unknown size (a chunked body) the first PartSize bytes
// are read into a pooled buffer: a body that ends there goes out as one PUT;
// a longer one through minio-go's PutObject with unknown size, a multipart
// upload in parts of PartSize bytes (16 MiB by default), so such an upload
// holds one part buffer, two while the first part is handed over. A failed
// upload is aborted, so nothing half-written becomes visible. Presigned URLs are computed locally; they
// can name a public endpoint different from the one mediasvc uses. The
// bucket is created when missing. Path-style addressing is used for IP
// endpoints and non-AWS hosts (minio-go's automatic lookup).
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
)

// Config configures the store.
type Config struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Region    string
	Bucket    string
	Secure    bool // HTTPS
	// PublicEndpoint (host:port), if set, is the endpoint presigned URLs
	// name, for clients that reach S3 by another address than mediasvc.
	PublicEndpoint string
	PublicSecure   bool
	// PartSize is the multipart part size (at least 5 MiB).
	PartSize uint64
	// MaxRetries bounds minio-go's retries of one request (default 3): an
	// outage fails fast as a retryable error instead of stalling the client.
	MaxRetries int
	// AbortGrace is how long a Put whose context ended keeps its S3
	// connection, so the multipart abort still gets through (default 10s).
	AbortGrace time.Duration
	// NoTrailingChecksums turns off the CRC32C trailer of uploads, for
	// S3-compatible stores that do not take trailing headers; see Put.
	NoTrailingChecksums bool
}

// DefaultPartSize is the default multipart part size.
const DefaultPartSize = 16 << 20

// minPartSize is S3's smallest part; maxSinglePut its largest single PUT.
const (
	minPartSize  = 5 << 20
	maxSinglePut = 5 << 30
)

// Validate checks the settings.
func (c Config) Validate() error {
	var problems []error
	if c.Endpoint == "" {
		problems = append(problems, errors.New("s3 endpoint required"))
	}
	if c.Bucket == "" {
		problems = append(problems, errors.New("s3 bucket required"))
	}
	if c.Region == "" {
		problems = append(problems, errors.New("s3 region required (presigning needs it)"))
	}
	if c.PartSize < minPartSize {
		problems = append(problems, fmt.Errorf("s3 part size must be at least %d bytes", minPartSize))
	}
	return errors.Join(problems...)
}

// Store is the S3 adapter. It is safe for concurrent use.
type Store struct {
	cfg       Config
	client    *minio.Client
	presigner *minio.Client
	bufs      sync.Pool
	ready     atomic.Bool
	readyMu   sync.Mutex
}

var _ usecase.Objects = (*Store)(nil)

// New returns the store. It makes no request: the bucket is checked (and
// created) on first use and by Ping, so mediasvc starts while S3 is down
// and becomes ready when it is back.
func New(cfg Config) (*Store, error) {
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.AbortGrace == 0 {
		cfg.AbortGrace = 10 * time.Second
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := newClient(cfg.Endpoint, cfg.Secure, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, client: client, presigner: client}
	if cfg.PublicEndpoint != "" {
		if s.presigner, err = newClient(cfg.PublicEndpoint, cfg.PublicSecure, cfg); err != nil {
			return nil, err
		}
	}
	s.bufs.New = func() any { b := make([]byte, cfg.PartSize); return &b }
	return s, nil
}

func newClient(endpoint string, secure bool, cfg Config) (*minio.Client, error) {
	c, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region, // known region: no location lookups, presigning stays offline
		BucketLookup: minio.BucketLookupAuto,
		MaxRetries:   cfg.MaxRetries,
		// Uploads end with a CRC32C of the whole body that S3 checks
		// (STREAMING-UNSIGNED-PAYLOAD-TRAILER); see Put.
		TrailingHeaders: !cfg.NoTrailingChecksums,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	return c, nil
}

// ensureBucket creates the bucket if it is missing, once per process.
func (s *Store) ensureBucket(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.ready.Load() {
		return nil
	}
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("s3: bucket %s: %w", s.cfg.Bucket, err)
	}
	if !ok {
		err := s.client.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region})
		if err != nil {
			code := minio.ToErrorResponse(err).Code
			if code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
				return fmt.Errorf("s3: create bucket %s: %w", s.cfg.Bucket, err)
			}
		}
	}
	s.ready.Store(true)
	return nil
}

// mapErr turns S3's answers into the port's errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.Code == "NoSuchObject" || (resp.Code == "" && resp.StatusCode == http.StatusNotFound):
		return entity.ErrNotFound
	case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed:
		return entity.ErrChanged
	}
	return fmt.Errorf("s3: %w", err)
}

// ctxReader ends a read loop once ctx ends, even while the source keeps
// giving bytes.
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

// Put implements usecase.Objects. S3 requests run on a context detached
// from ctx for AbortGrace after ctx ends: the body stops at once (the
// reader sees ctx), and the multipart abort that follows can still go out.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (int64, error) {
	if err := s.ensureBucket(ctx); err != nil {
		return 0, err
	}
	putCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.cfg.AbortGrace, cancel) })
	defer stop()
	r = ctxReader{ctx, r}
	// The payload is not signed: over plain HTTP minio-go would otherwise
	// SHA-256 every byte again (mediasvc hashes them already) and sign each
	// 64 KiB chunk, which made a 1 MiB upload cost 40% more CPU than the
	// transfer itself (BENCHMARKS.md). Sent this way — as minio-go always
	// sends over HTTPS — the request is still authenticated by its SigV4
	// headers, and the body's integrity is checked by S3 against the CRC32C
	// trailer.
	opts := minio.PutObjectOptions{ContentType: contentType, PartSize: s.cfg.PartSize, DisableContentSha256: true}
	if size >= 0 {
		// Known size: one streaming PUT (S3 takes up to 5 GiB so), which
		// sends bytes on to S3 as they arrive and holds no part buffer.
		if size > int64(opts.PartSize) {
			opts.PartSize = uint64(min(size, maxSinglePut))
		}
		info, err := s.client.PutObject(putCtx, s.cfg.Bucket, key, r, size, opts)
		return info.Size, mapErr(err)
	}
	// Unknown size: read up to one part. A body that ends within it goes
	// out as one PUT of known size; a longer one as a multipart upload,
	// whose first part is this buffer (handed back to the pool as soon as
	// minio-go has copied it into its own part buffer).
	head := &pooledReader{pool: &s.bufs, buf: s.bufs.Get().(*[]byte)}
	defer head.release()
	n, err := io.ReadFull(r, *head.buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, err
	}
	head.r = bytes.NewReader((*head.buf)[:n])
	if n < int(s.cfg.PartSize) {
		info, err := s.client.PutObject(putCtx, s.cfg.Bucket, key, head, int64(n), opts)
		return info.Size, mapErr(err)
	}
	info, err := s.client.PutObject(putCtx, s.cfg.Bucket, key, io.MultiReader(head, r), -1, opts)
	return info.Size, mapErr(err)
}

// pooledReader reads a pooled buffer and returns it to the pool at EOF.
type pooledReader struct {
	pool *sync.Pool
	buf  *[]byte
	r    *bytes.Reader
}

func (p *pooledReader) Read(b []byte) (int, error) {
	if p.r == nil {
		return 0, io.EOF
	}
	n, err := p.r.Read(b)
	if err == io.EOF {
		p.release()
	}
	return n, err
}

func (p *pooledReader) release() {
	if p.buf != nil {
		p.pool.Put(p.buf)
		p.buf, p.r = nil, nil
	}
}

type reader struct {
	*minio.Object
	info usecase.ObjectInfo
}

func (r reader) Info() usecase.ObjectInfo { return r.info }

// Open implements usecase.Objects. The first request goes out here (with
// If-Match when ifETag is set), so a missing or changed object fails now.
func (s *Store) Open(ctx context.Context, key, ifETag string) (usecase.ObjectReader, error) {
	if err := s.ensureBucket(ctx); err != nil {
		return nil, err
	}
	opts := minio.GetObjectOptions{}
	if ifETag != "" {
		if err := opts.SetMatchETag(ifETag); err != nil {
			return nil, err
		}
	}
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, key, opts)
	if err != nil {
		return nil, mapErr(err)
	}
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, mapErr(err)
	}
	return reader{Object: obj, info: toInfo(st)}, nil
}

func toInfo(st minio.ObjectInfo) usecase.ObjectInfo {
	return usecase.ObjectInfo{Size: st.Size, ETag: st.ETag, ModTime: st.LastModified}
}

// Stat implements usecase.Objects.
func (s *Store) Stat(ctx context.Context, key string) (usecase.ObjectInfo, error) {
	if err := s.ensureBucket(ctx); err != nil {
		return usecase.ObjectInfo{}, err
	}
	st, err := s.client.StatObject(ctx, s.cfg.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return usecase.ObjectInfo{}, mapErr(err)
	}
	return toInfo(st), nil
}

// Copy implements usecase.Objects: a server-side copy conditional on the
// source's ETag (x-amz-copy-source-if-match).
func (s *Store) Copy(ctx context.Context, src, dst, ifETag string) error {
	if err := s.ensureBucket(ctx); err != nil {
		return err
	}
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: dst},
		minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: src, MatchETag: ifETag})
	return mapErr(err)
}

// Delete implements usecase.Objects.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.ensureBucket(ctx); err != nil {
		return err
	}
	return mapErr(s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}))
}

// PresignPut implements usecase.Objects. Content-Length is a signed header,
// so the URL stores exactly size bytes.
func (s *Store) PresignPut(ctx context.Context, key string, size int64, expiry time.Duration) (usecase.PresignedRequest, error) {
	// The first URL handed out must lead to an existing bucket.
	if err := s.ensureBucket(ctx); err != nil {
		return usecase.PresignedRequest{}, err
	}
	h := http.Header{"Content-Length": {strconv.FormatInt(size, 10)}}
	now := time.Now()
	u, err := s.presigner.PresignHeader(ctx, http.MethodPut, s.cfg.Bucket, key, expiry, nil, h)
	if err != nil {
		return usecase.PresignedRequest{}, mapErr(err)
	}
	return usecase.PresignedRequest{Method: http.MethodPut, URL: u.String(), Header: h, Expires: now.Add(expiry)}, nil
}

// PresignGet implements usecase.Objects; S3 answers with d's content type
// and disposition (response-content-type, response-content-disposition).
func (s *Store) PresignGet(ctx context.Context, key string, expiry time.Duration, d usecase.Download) (usecase.PresignedRequest, error) {
	params := url.Values{}
	if d.ContentType != "" {
		params.Set("response-content-type", d.ContentType)
	}
	params.Set("response-content-disposition", d.Header())
	now := time.Now()
	u, err := s.presigner.PresignedGetObject(ctx, s.cfg.Bucket, key, expiry, params)
	if err != nil {
		return usecase.PresignedRequest{}, mapErr(err)
	}
	return usecase.PresignedRequest{Method: http.MethodGet, URL: u.String(), Expires: now.Add(expiry)}, nil
}

// Ping implements usecase.Objects: the bucket exists (created if missing).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ensureBucket(ctx); err != nil {
		return err
	}
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	if !ok {
		s.ready.Store(false)
		return fmt.Errorf("s3: bucket %s is gone", s.cfg.Bucket)
	}
	return nil
}

// RemoveBucket deletes every object of the bucket and the bucket: for tests.
func (s *Store) RemoveBucket(ctx context.Context) error {
	if ok, err := s.client.BucketExists(ctx, s.cfg.Bucket); err != nil || !ok {
		return err
	}
	for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		if err := s.client.RemoveObject(ctx, s.cfg.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			return err
		}
	}
	for up := range s.client.ListIncompleteUploads(ctx, s.cfg.Bucket, "", true) {
		if up.Err == nil {
			_ = s.client.RemoveIncompleteUpload(ctx, s.cfg.Bucket, up.Key)
		}
	}
	return s.client.RemoveBucket(ctx, s.cfg.Bucket)
}

// IncompleteUploads lists multipart uploads that were neither completed
// nor aborted: for tests.
func (s *Store) IncompleteUploads(ctx context.Context) ([]string, error) {
	var keys []string
	for up := range s.client.ListIncompleteUploads(ctx, s.cfg.Bucket, "", true) {
		if up.Err != nil {
			return nil, up.Err
		}
		keys = append(keys, up.Key)
	}
	return keys, nil
}

// Bucket returns the bucket's name.
func (s *Store) Bucket() string { return s.cfg.Bucket }

// Client exposes the minio-go client: for benchmarks comparing with it.
func (s *Store) Client() *minio.Client { return s.client }
