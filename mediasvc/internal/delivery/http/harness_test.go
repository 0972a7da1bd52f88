package http_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	gohttp "net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	mediahttp "github.com/parleychat/parley/mediasvc/internal/delivery/http"
	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/imaging"
	"github.com/parleychat/parley/mediasvc/internal/objects/localdir"
	"github.com/parleychat/parley/mediasvc/internal/objects/s3"
	"github.com/parleychat/parley/mediasvc/internal/store/cassandra"
	"github.com/parleychat/parley/mediasvc/internal/store/embedded"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/mediasvc/internal/visibility"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/mediaapi"
	"github.com/parleychat/parley/shared/ratelimit"
	"github.com/parleychat/parley/shared/stackenv"
	"github.com/parleychat/parley/shared/svcauth"
)

const testSecret = "component-test-secret-0123456789abcdef"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is the harness's settable time, read by the use cases.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// metaStore is what a metadata backend provides.
type metaStore interface {
	usecase.MediaStore
	usecase.BlobStore
	usecase.CheckSchedule
	usecase.LimitStore
}

// recordingStore remembers the records created, so a test can tell that a
// failed upload left none.
type recordingStore struct {
	metaStore
	mu      sync.Mutex
	created []ids.ID
}

func (r *recordingStore) CreateMedia(ctx context.Context, m entity.Media, checks ...entity.Check) error {
	err := r.metaStore.CreateMedia(ctx, m, checks...)
	if err == nil {
		r.mu.Lock()
		r.created = append(r.created, m.ID)
		r.mu.Unlock()
	}
	return err
}

// records counts the created records that still exist.
func (r *recordingStore) records(t testing.TB) int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, id := range r.created {
		_, err := r.Media(context.Background(), id)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, entity.ErrNotFound):
			t.Fatal(err)
		}
	}
	return n
}

// flakyObjects fails deletes and stats while fail is set, like a store
// that went away.
type flakyObjects struct {
	usecase.Objects
	fail atomic.Bool
}

var errStoreDown = errors.New("object store down")

func (f *flakyObjects) Delete(ctx context.Context, key string) error {
	if f.fail.Load() {
		return errStoreDown
	}
	return f.Objects.Delete(ctx, key)
}

func (f *flakyObjects) Stat(ctx context.Context, key string) (usecase.ObjectInfo, error) {
	if f.fail.Load() {
		return usecase.ObjectInfo{}, errStoreDown
	}
	return f.Objects.Stat(ctx, key)
}

// fakeMessages is messagesvc's readers endpoint: who may read which media.
type fakeMessages struct {
	mu      sync.Mutex
	readers map[string]bool // "media/user"
	down    bool
	calls   atomic.Int64
	asked   []mediaapi.MessageRef // the messages of the last question
}

func (f *fakeMessages) allow(media, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers[media+"/"+user] = true
}

func (f *fakeMessages) revoke(media, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.readers, media+"/"+user)
}

// Backends of the harness.
const (
	local  = "local"  // local directory + embedded store
	minIO  = "minio"  // the stack's MinIO (fresh bucket) + embedded store
	s3Down = "s3down" // an S3 endpoint nobody listens on + embedded store
	full   = "full"   // the stack's MinIO + Cassandra (fresh keyspace)
)

type options struct {
	backend   string
	limits    string
	orphanAge time.Duration
	rate      ratelimit.Limit     // Max 0: unlimited
	limiter   usecase.RateLimiter // nil: in memory
	unsentAge time.Duration       // 0: references to unsent messages are kept
	redirect  bool
}

type option func(*options)

func withBackend(b string) option              { return func(o *options) { o.backend = b } }
func withLimits(l string) option               { return func(o *options) { o.limits = l } }
func withoutRedirect() option                  { return func(o *options) { o.redirect = false } }
func withAge(d time.Duration) option           { return func(o *options) { o.orphanAge = d } }
func withLimiter(l usecase.RateLimiter) option { return func(o *options) { o.limiter = l } }
func withUnsentAge(d time.Duration) option     { return func(o *options) { o.unsentAge = d } }
func withUploadRate(max int, window time.Duration) option {
	return func(o *options) { o.rate = ratelimit.Limit{Max: max, Window: window} }
}

// env is mediasvc wired as in production over the chosen backends, served
// by httptest, with a fake messagesvc for the visibility checks.
type env struct {
	t        testing.TB
	srv      *httptest.Server
	uc       *usecase.Service
	objects  usecase.Objects
	s3       *s3.Store // set for the S3 backends
	dir      string    // set for the local backend
	meta     *recordingStore
	clock    *clock
	messages *fakeMessages
	svc      *kit.Service
	gateway  *gohttp.Client // calls as the gateway's relay would
	msgsvc   *gohttp.Client // calls as messagesvc
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	o := options{backend: local, limits: entity.DefaultLimits, orphanAge: 24 * time.Hour, redirect: true}
	for _, opt := range opts {
		opt(&o)
	}
	e := &env{t: t, clock: &clock{now: time.Now().UTC().Truncate(time.Millisecond)},
		messages: &fakeMessages{readers: map[string]bool{}}}
	switch o.backend {
	case local:
		e.dir = t.TempDir()
		st, err := localdir.Open(localdir.Config{Dir: e.dir})
		if err != nil {
			t.Fatal(err)
		}
		e.objects = st
	case minIO, full:
		env := stackenv.Require(t, stackenv.S3Endpoint, stackenv.S3AccessKey, stackenv.S3SecretKey, stackenv.S3Region)
		st, err := s3.New(s3.Config{Endpoint: env[stackenv.S3Endpoint], AccessKey: env[stackenv.S3AccessKey],
			SecretKey: env[stackenv.S3SecretKey], Region: env[stackenv.S3Region], Bucket: "mediasvc-http-" + randomHex(5)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := st.RemoveBucket(ctx); err != nil {
				t.Errorf("remove bucket: %v", err)
			}
		})
		e.objects, e.s3 = st, st
	case s3Down:
		st, err := s3.New(s3.Config{Endpoint: "127.0.0.1:1", AccessKey: "k", SecretKey: "secret-key", Region: "us-east-1", Bucket: "down"})
		if err != nil {
			t.Fatal(err)
		}
		e.objects = st
	}
	var meta metaStore
	if o.backend == full {
		meta = freshCassandra(t)
	} else {
		st, err := embedded.Open(embedded.Config{Dir: t.TempDir()}, discard)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		meta = st
	}
	e.meta = &recordingStore{metaStore: meta}
	e.objects = &flakyObjects{Objects: e.objects}

	svc, err := kit.NewService("mediasvc", kit.BaseConfig{InternalSecret: config.NewSecret(testSecret)}, discard)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	limits, err := entity.ParseLimits(o.limits)
	if err != nil {
		t.Fatal(err)
	}
	gen, _ := ids.NewGenerator(1)
	if o.limiter == nil {
		o.limiter = ratelimit.NewMemory(e.clock.Now)
	}
	msgSrv := httptest.NewServer(gohttp.HandlerFunc(e.serveReaders))
	t.Cleanup(msgSrv.Close)
	ucCfg := usecase.Config{Limits: limits, PresignExpiry: 15 * time.Minute, DownloadExpiry: 5 * time.Minute,
		Redirect: o.redirect, OrphanAge: o.orphanAge, TombstoneRetention: 30 * 24 * time.Hour,
		Thumbnail: imaging.DefaultOptions(), ThumbnailConcurrency: 2, LimitsCacheTTL: 10 * time.Second,
		UploadRate: o.rate, UnsentAge: o.unsentAge}
	vis := visibility.NewMessages(msgSrv.URL, &svcauth.Transport{Signer: svc.Signer}, 2*time.Second)
	e.uc = usecase.New(ucCfg, usecase.Deps{Objects: e.objects, Media: e.meta, Blobs: e.meta, Checks: e.meta,
		LimitStore: e.meta, Visibility: vis, RateLimiter: o.limiter, IDs: gen, Now: e.clock.Now, Logger: discard,
		Metrics: usecase.NewMetrics(svc.Ops.Registry)})
	engine, api := svc.InternalEngine()
	mediahttp.NewHandler(mediahttp.Config{AttachCallers: []string{"messagesvc"}}, e.uc).Register(api)
	svc.Ops.AddProbe("objects", e.objects.Ping)
	e.srv = httptest.NewServer(engine)
	t.Cleanup(e.srv.Close)
	e.gateway = signedClient(t, "gateway")
	e.msgsvc = signedClient(t, "messagesvc")
	return e
}

func signedClient(t testing.TB, service string) *gohttp.Client {
	signer, err := svcauth.NewSigner(service, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &gohttp.Client{Transport: &svcauth.Transport{Signer: signer},
		CheckRedirect: func(*gohttp.Request, []*gohttp.Request) error { return gohttp.ErrUseLastResponse }}
}

// serveReaders is messagesvc's POST /internal/v1/message-readers
// (shared/mediaapi), behind service authentication. It records the messages
// it was asked about.
func (e *env) serveReaders(w gohttp.ResponseWriter, r *gohttp.Request) {
	if _, err := e.svc.Verifier.VerifyRequest(r); err != nil {
		w.WriteHeader(gohttp.StatusUnauthorized)
		return
	}
	e.messages.calls.Add(1)
	var req mediaapi.ReadersRequest
	if r.Method != gohttp.MethodPost || r.URL.Path != mediaapi.PathMessageReaders ||
		json.NewDecoder(r.Body).Decode(&req) != nil {
		w.WriteHeader(gohttp.StatusNotFound)
		return
	}
	e.messages.mu.Lock()
	allowed, down := e.messages.readers[req.MediaID.String()+"/"+req.UserID.String()], e.messages.down
	e.messages.asked = req.Messages
	e.messages.mu.Unlock()
	if down {
		w.WriteHeader(gohttp.StatusBadGateway)
		return
	}
	_ = json.NewEncoder(w).Encode(mediaapi.ReadersResponse{CanRead: allowed && len(req.Messages) > 0})
}

func freshCassandra(t testing.TB) metaStore {
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	cfg := cassandra.Config{Hosts: stackenv.Split(env[stackenv.CassandraHosts]), DC: env[stackenv.CassandraDC],
		Keyspace: "mediasvc_http_" + randomHex(5), Timeout: 10 * time.Second, ConnectTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cassandra.DropKeyspace(ctx, cfg); err != nil {
			t.Logf("drop keyspace %s: %v", cfg.Keyspace, err)
		}
	})
	if err := cassandra.Migrate(ctx, cfg, discard); err != nil {
		t.Fatal(err)
	}
	st, err := cassandra.Open(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// user is an end user as the gateway vouches for them.
type user struct {
	ID    string
	Roles []string
}

var users, _ = ids.NewGenerator(900)

func newUser(roles ...string) user { return user{ID: users.Next().String(), Roles: roles} }

// reply is a decoded response.
type reply struct {
	status int
	header gohttp.Header
	raw    []byte
	body   map[string]any
}

func (r reply) code() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r reply) errField(name string) any {
	e, _ := r.body["error"].(map[string]any)
	return e[name]
}

func (r reply) detail(name string) string {
	e, _ := r.body["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	s, _ := d[name].(string)
	return s
}

// str walks the body's objects: r.str("media", "id").
func (r reply) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		b, _ := json.Marshal(x)
		return string(b)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

type request struct {
	header gohttp.Header
	body   io.Reader
	length int64
	client *gohttp.Client
}

type reqOpt func(*request)

func as(u user) reqOpt {
	return func(r *request) {
		r.header.Set(kit.HeaderUserID, u.ID)
		r.header.Set(kit.HeaderDeviceID, "dev-1")
		r.header.Set(kit.HeaderRoles, strings.Join(u.Roles, ","))
	}
}

func raw(b []byte) reqOpt {
	return func(r *request) { r.body, r.length = bytes.NewReader(b), int64(len(b)) }
}

// stream sends b without a Content-Length (chunked).
func stream(b []byte) reqOpt {
	return func(r *request) { r.body, r.length = io.MultiReader(bytes.NewReader(b)), -1 }
}

func jsonBody(v any) reqOpt {
	return func(r *request) {
		b, _ := json.Marshal(v)
		r.body, r.length = bytes.NewReader(b), int64(len(b))
		r.header.Set("Content-Type", "application/json")
	}
}

func fromMessagesvc() reqOpt { return func(r *request) { r.client = nil } }

// call sends one request to /internal/v1/media+path, as the gateway unless
// fromMessagesvc is given.
func (e *env) call(method, path string, opts ...reqOpt) reply {
	e.t.Helper()
	req := request{header: gohttp.Header{}, client: e.gateway}
	for _, o := range opts {
		o(&req)
	}
	if req.client == nil {
		req.client = e.msgsvc
	}
	r, err := gohttp.NewRequest(method, e.srv.URL+"/internal/v1/media"+path, req.body)
	if err != nil {
		e.t.Fatal(err)
	}
	r.Header = req.header
	if req.body != nil {
		r.ContentLength = req.length
	}
	resp, err := req.client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := reply{status: resp.StatusCode, header: resp.Header}
	out.raw, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(out.raw, &out.body)
	}
	return out
}

// check fails the test unless r has the status (and, for errors, the code).
func check(t testing.TB, r reply, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		body := string(r.raw)
		if len(body) > 300 {
			body = body[:300] + "…"
		}
		t.Fatalf("got %d %s, want %d %s", r.status, body, status, code)
	}
}

// upload posts data as u and expects 201; it returns the media id.
func (e *env) upload(u user, data []byte, name string) string {
	e.t.Helper()
	r := e.call("POST", "?name="+url.QueryEscape(name), as(u), raw(data))
	check(e.t, r, 201, "")
	return r.str("media", "id")
}

// attach has messagesvc attach media to a message of sender u.
func (e *env) attach(u user, msg string, media ...string) reply {
	e.t.Helper()
	conv, id, _ := strings.Cut(msg, "/")
	return e.call("POST", "/attach", fromMessagesvc(), jsonBody(map[string]any{"user_id": u.ID, "media_ids": media,
		"message": map[string]string{"conversation_id": conv, "message_id": id}}))
}

// fetch follows a content or thumbnail reply to the bytes: a 302 to a
// presigned URL is fetched without credentials, a 200 is the bytes.
func (e *env) fetch(r reply) (int, []byte, gohttp.Header) {
	e.t.Helper()
	if r.status != gohttp.StatusFound {
		return r.status, r.raw, r.header
	}
	resp, err := gohttp.Get(r.header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// objectKeys lists the object store's keys, sorted.
func (e *env) objectKeys() []string {
	e.t.Helper()
	var keys []string
	switch {
	case e.s3 != nil:
		for obj := range e.s3.Client().ListObjects(context.Background(), e.s3.Bucket(), minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				e.t.Fatal(obj.Err)
			}
			keys = append(keys, obj.Key)
		}
	case e.dir != "":
		_ = filepath.WalkDir(filepath.Join(e.dir, "objects"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				k, _ := url.PathUnescape(d.Name())
				keys = append(keys, k)
			}
			return nil
		})
	}
	slices.Sort(keys)
	return keys
}

// metric returns the value of one Prometheus sample line, or "".
func (e *env) metric(sample string) string {
	e.t.Helper()
	r, err := gohttp.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// zipLike is n bytes that sniff as application/zip.
func zipLike(n int) []byte {
	b := randomBytes(n)
	copy(b, "PK\x03\x04")
	return b
}

func textOf(n int) []byte { return bytes.Repeat([]byte("a"), n) }

// downMessages makes the fake messagesvc answer like a dead upstream.
func (e *env) downMessages() {
	e.messages.mu.Lock()
	defer e.messages.mu.Unlock()
	e.messages.down = true
}
