package http_test

import (
	"bytes"
	"context"
	"io"
	gohttp "net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// createUpload asks for a presigned upload of data as u.
func (e *env) createUpload(u user, size int, declaredSHA string) reply {
	e.t.Helper()
	body := map[string]any{"size": size, "name": "clip.mp4"}
	if declaredSHA != "" {
		body["sha256"] = declaredSHA
	}
	return e.call("POST", "/uploads", as(u), jsonBody(body))
}

// put sends data to a presigned upload with plain net/http, as a client would.
func (e *env) put(r reply, data []byte) *gohttp.Response {
	e.t.Helper()
	req, err := gohttp.NewRequest(r.str("upload", "method"), r.str("upload", "url"), bytes.NewReader(data))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := gohttp.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func mp4Like(n int) []byte {
	b := randomBytes(n)
	copy(b, "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	return b
}

func TestPresignFinalize200WithARealPUT(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice := newUser()
	data := mp4Like(6 << 20)
	r := e.createUpload(alice, len(data), "")
	check(t, r, 201, "")
	id := r.str("media", "id")
	if r.str("media", "state") != "pending" || r.str("upload", "method") != "PUT" || r.str("upload", "headers", "Content-Length") != strconv.Itoa(len(data)) {
		t.Fatalf("create upload = %s", r.raw)
	}
	if exp, err := time.Parse(time.RFC3339, r.str("upload", "expires_at")); err != nil || time.Until(exp) > 16*time.Minute || time.Until(exp) < 14*time.Minute {
		t.Fatalf("expires_at = %q", r.str("upload", "expires_at"))
	}
	// Not readable, not attachable until finalized.
	check(t, e.call("GET", "/"+id+"/content", as(alice)), 404, "not_found")
	if resp := e.put(r, data); resp.StatusCode != 200 {
		t.Fatalf("PUT to the presigned URL = %d", resp.StatusCode)
	}
	f := e.call("POST", "/"+id+"/finalize", as(alice), jsonBody(map[string]string{"sha256": sha(data)}))
	check(t, f, 200, "")
	if f.str("media", "state") != "finalized" || f.str("media", "mime") != "video/mp4" || f.str("media", "size") != strconv.Itoa(len(data)) {
		t.Fatalf("finalize = %s", f.raw)
	}
	status, got, _ := e.fetch(e.call("GET", "/"+id+"/content", as(alice)))
	if status != 200 || sha(got) != sha(data) {
		t.Fatalf("download: %d, %d bytes", status, len(got))
	}
	// The presigned target is gone; the content lives under the media's own key.
	if keys := e.objectKeys(); len(keys) != 1 || keys[0] != "o/"+id {
		t.Fatalf("objects = %v", keys)
	}
	// Finalizing again answers the same record.
	again := e.call("POST", "/"+id+"/finalize", as(alice), jsonBody(map[string]string{}))
	check(t, again, 200, "")
	if again.str("media", "finalized_at") != f.str("media", "finalized_at") {
		t.Fatalf("second finalize = %s", again.raw)
	}
}

func TestFinalizeWithWrongHash400AndNothingFinalized(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice := newUser()
	data := mp4Like(100 << 10)
	r := e.createUpload(alice, len(data), sha([]byte("something else")))
	id := r.str("media", "id")
	if resp := e.put(r, data); resp.StatusCode != 200 {
		t.Fatalf("PUT = %d", resp.StatusCode)
	}
	f := e.call("POST", "/"+id+"/finalize", as(alice))
	check(t, f, 400, "invalid_argument")
	if f.detail("sha256") != sha(data) {
		t.Fatalf("details = %s", f.raw)
	}
	m, _ := e.meta.Media(context.Background(), mustID(t, id))
	if m.State != entity.StatePending {
		t.Fatalf("state after a wrong hash = %s", m.State)
	}
	check(t, e.attach(alice, "d:1:2/9", id), 412, "failed_precondition")
	if keys := e.objectKeys(); len(keys) != 0 {
		t.Fatalf("wrong upload kept: %v", keys)
	}
	if _, err := e.meta.Blob(context.Background(), sha(data)); err == nil {
		t.Fatal("a blob was made of unverified bytes")
	}
}

func TestFinalizeWithWrongSize400AndNothingFinalized(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice := newUser()
	data := mp4Like(10 << 10)
	r := e.createUpload(alice, len(data), "")
	id := r.str("media", "id")
	// The signed Content-Length stops a PUT of another size at S3 itself …
	if resp := e.put(r, data[:5000]); resp.StatusCode < 400 {
		t.Fatalf("short PUT accepted: %d", resp.StatusCode)
	}
	// … and finalize checks again, for stores that do not enforce it.
	if _, err := e.objects.Put(context.Background(), entity.UploadKey(mustID(t, id)), bytes.NewReader(data[:5000]), 5000, ""); err != nil {
		t.Fatal(err)
	}
	f := e.call("POST", "/"+id+"/finalize", as(alice), jsonBody(map[string]string{"sha256": sha(data[:5000])}))
	check(t, f, 400, "invalid_argument")
	if f.detail("declared_size") != strconv.Itoa(len(data)) || f.detail("size") != "5000" {
		t.Fatalf("details = %s", f.raw)
	}
	if m, _ := e.meta.Media(context.Background(), mustID(t, id)); m.State != entity.StatePending {
		t.Fatalf("state = %s", m.State)
	}
}

func TestFinalizeBeforeThePUT412AndOfSomeoneElsesUpload404(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice, mallory := newUser(), newUser()
	data := mp4Like(1000)
	r := e.createUpload(alice, len(data), sha(data))
	id := r.str("media", "id")
	check(t, e.call("POST", "/"+id+"/finalize", as(alice)), 412, "failed_precondition")
	e.put(r, data)
	check(t, e.call("POST", "/"+id+"/finalize", as(mallory)), 404, "not_found")
	check(t, e.call("GET", "/"+id, as(mallory)), 404, "not_found")
	check(t, e.call("POST", "/"+id+"/finalize", as(alice)), 200, "")
}

func TestPresignedCopyOfStoredContentIsDeduplicated(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice := newUser()
	data := mp4Like(200 << 10)
	first := e.upload(alice, data, "a.mp4")
	r := e.createUpload(alice, len(data), sha(data))
	e.put(r, data)
	check(t, e.call("POST", "/"+r.str("media", "id")+"/finalize", as(alice)), 200, "")
	if keys := e.objectKeys(); len(keys) != 1 || keys[0] != "o/"+first {
		t.Fatalf("objects = %v, want only the first copy", keys)
	}
}

func TestCreateUploadOnTheLocalStore412AndOversize413(t *testing.T) {
	e := newEnv(t)
	r := e.createUpload(newUser(), 100, "")
	check(t, r, 412, "failed_precondition")
	if msg, _ := r.errField("message").(string); !strings.Contains(msg, "local directory") {
		t.Fatalf("message = %s", r.raw)
	}
	e = newEnv(t, withBackend(minIO), withLimits("video/mp4=1MiB"))
	r = e.createUpload(newUser(), 2<<20, "")
	check(t, r, 413, "payload_too_large")
	if r.detail("limit_bytes") != strconv.Itoa(1<<20) {
		t.Fatalf("details = %s", r.raw)
	}
	check(t, e.createUpload(newUser(), 0, ""), 400, "invalid_argument")
	check(t, e.createUpload(newUser(), 10, "nothex"), 400, "invalid_argument")
}

func mustID(t testing.TB, s string) ids.ID {
	t.Helper()
	id, err := ids.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
