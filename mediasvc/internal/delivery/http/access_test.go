package http_test

import (
	"io"
	gohttp "net/http"
	"strings"
	"testing"
)

func TestContentByUploader302ToAShortLivedURL(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice := newUser()
	data := zipLike(64 << 10)
	id := e.upload(alice, data, "archive.zip")
	r := e.call("GET", "/"+id+"/content", as(alice))
	check(t, r, 302, "")
	loc := r.header.Get("Location")
	if !strings.Contains(loc, "X-Amz-Expires=300") || !strings.Contains(loc, "X-Amz-Signature=") || r.header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("redirect = %s, headers %v", loc, r.header)
	}
	status, got, h := e.fetch(r)
	if status != 200 || sha(got) != sha(data) || h.Get("Content-Type") != "application/zip" ||
		h.Get("Content-Disposition") != `attachment; filename=archive.zip` {
		t.Fatalf("presigned GET = %d, %d bytes, %v", status, len(got), h)
	}
}

func TestContentByUploader200ProxiedWithRanges(t *testing.T) {
	for _, backend := range []string{local, minIO} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, withBackend(backend), withoutRedirect())
			alice := newUser()
			data := zipLike(100 << 10)
			id := e.upload(alice, data, "")
			r := e.call("GET", "/"+id+"/content", as(alice))
			check(t, r, 200, "")
			if sha(r.raw) != sha(data) || r.header.Get("Content-Security-Policy") == "" || r.header.Get("Accept-Ranges") != "bytes" {
				t.Fatalf("content: %d bytes, headers %v", len(r.raw), r.header)
			}
			req, _ := gohttp.NewRequest("GET", e.srv.URL+"/internal/v1/media/"+id+"/content", nil)
			as(alice)(&request{header: req.Header})
			req.Header.Set("Range", "bytes=1000-1999")
			resp, err := e.gateway.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			part, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 206 || string(part) != string(data[1000:2000]) {
				t.Fatalf("range: %d, %d bytes", resp.StatusCode, len(part))
			}
		})
	}
}

func TestStranger404LikeAnUnknownID(t *testing.T) {
	e := newEnv(t)
	alice, mallory := newUser(), newUser()
	id := e.upload(alice, pngImage(t, 50, 40), "me.png")
	unknown := users.Next().String()
	for _, suffix := range []string{"", "/content", "/thumbnail"} {
		mine := e.call("GET", "/"+id+suffix, as(mallory))
		none := e.call("GET", "/"+unknown+suffix, as(mallory))
		check(t, mine, 404, "not_found")
		if string(mine.raw) != string(none.raw) {
			t.Fatalf("%s: a stranger can tell existing media (%s) from unknown (%s)", suffix, mine.raw, none.raw)
		}
	}
	check(t, e.call("GET", "/not-an-id", as(mallory)), 404, "not_found")
	if n := e.messages.calls.Load(); n != 0 {
		t.Fatalf("messagesvc asked %d times about media in no message", n)
	}
}

func TestRecipient200OnlyWhileMessagesvcSaysSo(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice, bob, mallory := newUser(), newUser(), newUser()
	data := pngImage(t, 64, 48)
	id := e.upload(alice, data, "pic.png")
	check(t, e.attach(alice, "g:77/501", id), 200, "")
	e.messages.allow(id, bob.ID)
	for _, suffix := range []string{"", "/content", "/thumbnail"} {
		r := e.call("GET", "/"+id+suffix, as(bob))
		if r.status != 200 && r.status != 302 {
			t.Fatalf("recipient %s: %d %s", suffix, r.status, r.raw)
		}
	}
	status, got, _ := e.fetch(e.call("GET", "/"+id+"/content", as(bob)))
	if status != 200 || sha(got) != sha(data) {
		t.Fatalf("recipient download: %d", status)
	}
	e.messages.mu.Lock()
	asked := e.messages.asked
	e.messages.mu.Unlock()
	if len(asked) != 1 || asked[0].ConversationID != "g:77" || asked[0].MessageID.String() != "501" {
		t.Fatalf("messagesvc was asked about %+v, want the one message carrying the media, g:77/501", asked)
	}
	check(t, e.call("GET", "/"+id+"/content", as(mallory)), 404, "not_found")
	// Removed from the group: messagesvc says no, mediasvc says not_found.
	e.messages.revoke(id, bob.ID)
	check(t, e.call("GET", "/"+id+"/content", as(bob)), 404, "not_found")
	check(t, e.call("GET", "/"+id, as(bob)), 404, "not_found")
}

func TestMessagesvcDown503ForReadersButUploaderStillReads(t *testing.T) {
	e := newEnv(t)
	alice, bob := newUser(), newUser()
	id := e.upload(alice, textOf(10), "")
	check(t, e.attach(alice, "d:1:2/3", id), 200, "")
	e.messages.allow(id, bob.ID)
	e.downMessages()
	r := e.call("GET", "/"+id+"/content", as(bob))
	check(t, r, 503, "unavailable")
	if r.errField("retryable") != true {
		t.Fatalf("not retryable: %s", r.raw)
	}
	check(t, e.call("GET", "/"+id+"/content", as(alice)), 200, "")
}
