package http_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/svcauth"
)

func TestUpload201StoresContentAndReadsBack(t *testing.T) {
	e := newEnv(t)
	alice := newUser()
	data := []byte("hello, media\n")
	r := e.call("POST", "?name="+"..%2F..%2Fnotes.txt", as(alice), raw(data))
	check(t, r, 201, "")
	id := r.str("media", "id")
	for field, want := range map[string]string{"owner_id": alice.ID, "state": "finalized", "name": "notes.txt",
		"mime": "text/plain", "size": strconv.Itoa(len(data)), "sha256": sha(data), "has_thumbnail": "false"} {
		if got := r.str("media", field); got != want {
			t.Errorf("media.%s = %q, want %q", field, got, want)
		}
	}
	check(t, e.call("GET", "/"+id, as(alice)), 200, "")
	c := e.call("GET", "/"+id+"/content", as(alice))
	check(t, c, 200, "")
	if string(c.raw) != string(data) || c.header.Get("Content-Type") != "text/plain" ||
		c.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(c.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("content = %q, headers %v", c.raw, c.header)
	}
}

func TestUploadSameBytesTwice201StoresOneBlob(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice, bob := newUser(), newUser()
	data := zipLike(3 << 20)
	a := e.upload(alice, data, "a.zip")
	b := e.upload(bob, data, "b.zip")
	if a == b {
		t.Fatal("two uploads got one media id")
	}
	var content []string
	for _, k := range e.objectKeys() {
		if strings.HasPrefix(k, "o/") {
			content = append(content, k)
		}
	}
	if len(content) != 1 || content[0] != "o/"+a {
		t.Fatalf("content objects = %v, want only the first upload's", e.objectKeys())
	}
	blob, err := e.meta.Blob(context.Background(), sha(data))
	if err != nil || len(blob.Refs) != 2 {
		t.Fatalf("blob = %+v, %v; want two references", blob, err)
	}
	for _, who := range []struct {
		u  user
		id string
	}{{alice, a}, {bob, b}} {
		status, got, _ := e.fetch(e.call("GET", "/"+who.id+"/content", as(who.u)))
		if status != 200 || sha(got) != sha(data) {
			t.Fatalf("download of %s: %d, %d bytes", who.id, status, len(got))
		}
	}
	if got := e.metric("mediasvc_dedup_hits_total"); got != "1" {
		t.Fatalf("dedup hits = %q", got)
	}
}

func TestUploadOfUnknownLength201StreamsInParts(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice := newUser()
	data := zipLike(40 << 20) // above the 16 MiB part size: a multipart upload
	r := e.call("POST", "", as(alice), stream(data))
	check(t, r, 201, "")
	if r.str("media", "sha256") != sha(data) || r.str("media", "size") != strconv.Itoa(len(data)) {
		t.Fatalf("media = %s", r.raw)
	}
	status, got, _ := e.fetch(e.call("GET", "/"+r.str("media", "id")+"/content", as(alice)))
	if status != 200 || sha(got) != sha(data) {
		t.Fatalf("download: %d, %d bytes", status, len(got))
	}
}

func TestUploadOversize413WithTheLimit(t *testing.T) {
	e := newEnv(t, withLimits("text/plain=1KiB,image/png=4KiB"))
	alice := newUser()
	for name, opt := range map[string]reqOpt{"declared length": raw(textOf(2048)), "chunked": stream(textOf(2048))} {
		r := e.call("POST", "", as(alice), opt)
		check(t, r, 413, "payload_too_large")
		if r.detail("limit_bytes") != "1024" || r.detail("type") != "text/plain" {
			t.Fatalf("%s: details = %s", name, r.raw)
		}
	}
	// Above every limit: refused from the Content-Length alone.
	r := e.call("POST", "", as(alice), raw(textOf(5000)))
	check(t, r, 413, "payload_too_large")
	if r.detail("limit_bytes") != "4096" {
		t.Fatalf("details = %s", r.raw)
	}
	check(t, e.call("POST", "", as(alice), raw(textOf(1024))), 201, "")
	if n := e.meta.records(t); n != 1 {
		t.Fatalf("%d records created, want only the one within the limit", n)
	}
	if keys := e.objectKeys(); len(keys) != 1 {
		t.Fatalf("objects = %v, want one", keys)
	}
}

func TestUploadForbiddenType400(t *testing.T) {
	e := newEnv(t)
	alice := newUser()
	for body, mime := range map[string]string{"<!DOCTYPE html><script>alert(1)</script>": "text/html",
		"\x00\x01\x02\x03binary": "application/octet-stream"} {
		r := e.call("POST", "", as(alice), raw([]byte(body)))
		check(t, r, 400, "invalid_argument")
		msg, _ := r.errField("message").(string)
		if !strings.Contains(msg, "file type "+mime+" is not allowed") || !strings.Contains(msg, "image/png") || r.detail("type") != mime {
			t.Fatalf("message = %s", r.raw)
		}
	}
	if e.meta.records(t) != 0 || len(e.objectKeys()) != 0 {
		t.Fatal("a refused upload left something")
	}
}

func TestUploadEmpty400AndWithoutUser401(t *testing.T) {
	e := newEnv(t)
	check(t, e.call("POST", "", as(newUser()), raw(nil)), 400, "invalid_argument")
	check(t, e.call("POST", "", raw([]byte("x"))), 401, "unauthenticated")
	r, _ := e.srv.Client().Post(e.srv.URL+"/internal/v1/media", "text/plain", strings.NewReader("x"))
	if r.StatusCode != 401 {
		t.Fatalf("without a service token: %d", r.StatusCode)
	}
}

func TestUploadInterruptedLeavesNoRecord(t *testing.T) {
	e := newEnv(t)
	signer, _ := svcauth.NewSigner("gateway", testSecret)
	tok, _ := signer.Token()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /internal/v1/media HTTP/1.1\r\nHost: mediasvc\r\nAuthorization: Bearer %s\r\n"+
		"X-Parley-User-Id: %s\r\nX-Parley-Device-Id: d1\r\nContent-Length: %d\r\n\r\n", tok, newUser().ID, 4<<20)
	_, _ = conn.Write(zipLike(1 << 20))
	time.Sleep(100 * time.Millisecond)
	_ = conn.Close() // the client goes away with 3 MiB unsent
	deadline := time.Now().Add(5 * time.Second)
	for e.metric(`mediasvc_uploads_total{outcome="interrupted",path="stream"}`) != "1" {
		if time.Now().After(deadline) {
			t.Fatal("the interrupted upload was not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.meta.records(t); n != 0 {
		t.Fatalf("%d records left", n)
	}
	if keys := e.objectKeys(); len(keys) != 0 {
		t.Fatalf("objects left: %v", keys)
	}
}

func TestS3Down503RetryableAndNoRecord(t *testing.T) {
	e := newEnv(t, withBackend(s3Down))
	alice := newUser()
	r := e.call("POST", "", as(alice), raw(textOf(100)))
	check(t, r, 503, "unavailable")
	if r.errField("retryable") != true {
		t.Fatalf("not retryable: %s", r.raw)
	}
	if n := e.meta.records(t); n != 0 {
		t.Fatalf("%d records left while S3 was down", n)
	}
	ready, err := e.srv.Client().Get(e.srv.URL + "/readyz")
	if err != nil || ready.StatusCode != 503 {
		t.Fatalf("readyz with S3 down: %v %v", ready.StatusCode, err)
	}
}
