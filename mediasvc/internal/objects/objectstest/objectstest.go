// Package objectstest is the contract every object store adapter passes
// (S3 and the local directory). It lives in a non-test file so each
// adapter's tests can run it. Cases use their own random keys, so adapters
// may hand every case the same store.
package objectstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
)

// Options describe the adapter under test.
type Options struct {
	// Presign: the adapter has presigned URLs (else they must fail with
	// entity.ErrNotSupported).
	Presign bool
	// LargeSize is the size of the unknown-length case; make it span
	// several multipart parts for S3.
	LargeSize int
}

// Run runs the contract suite against the store newStore returns.
func Run(t *testing.T, opt Options, newStore func(t *testing.T) usecase.Objects) {
	if opt.LargeSize == 0 {
		opt.LargeSize = 3 << 20
	}
	s := &suite{opt: opt, newStore: newStore}
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"PutKnownSizeReadsBack", s.putKnownSize},
		{"PutUnknownSizeSmallAndLargeReadsBack", s.putUnknownSize},
		{"PutReplacesExisting", s.putReplaces},
		{"FailedPutLeavesNothing", s.failedPutLeavesNothing},
		{"FailedPutKeepsPreviousVersion", s.failedPutKeepsPrevious},
		{"CancelledPutLeavesNothing", s.cancelledPut},
		{"MissingObjectIsNotFound", s.missing},
		{"DeleteRemovesAndMissingIsNoError", s.delete},
		{"OpenSeeksForRanges", s.seek},
		{"OpenWithETagRefusesChangedObject", s.openETag},
		{"CopyRequiresETagAndCopies", s.copy},
		{"ConcurrentPutsOfDistinctKeys", s.concurrent},
		{"Presign", s.presign},
		{"Ping", s.ping},
	} {
		t.Run(c.name, c.fn)
	}
}

type suite struct {
	opt      Options
	newStore func(t *testing.T) usecase.Objects
}

func key(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "/" + hex.EncodeToString(b[:])
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func ctx() context.Context { return context.Background() }

func readAll(t *testing.T, st usecase.Objects, k string) []byte {
	t.Helper()
	r, err := st.Open(ctx(), k, "")
	if err != nil {
		t.Fatalf("Open %s: %v", k, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", k, err)
	}
	if r.Info().Size != int64(len(b)) {
		t.Fatalf("Info().Size = %d, read %d", r.Info().Size, len(b))
	}
	return b
}

func mustPut(t *testing.T, st usecase.Objects, k string, data []byte) {
	t.Helper()
	n, err := st.Put(ctx(), k, bytes.NewReader(data), int64(len(data)), "application/octet-stream")
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put %s = %d, %v", k, n, err)
	}
}

func (s *suite) putKnownSize(t *testing.T) {
	st := s.newStore(t)
	k, data := key("o"), random(1000)
	mustPut(t, st, k, data)
	if got := readAll(t, st, k); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	info, err := st.Stat(ctx(), k)
	if err != nil || info.Size != 1000 || info.ETag == "" {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	if time.Since(info.ModTime) > time.Hour || time.Until(info.ModTime) > time.Minute {
		t.Fatalf("ModTime %v not near now", info.ModTime)
	}
}

// onlyReader hides everything but Read, so the adapter cannot learn the size.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func (s *suite) putUnknownSize(t *testing.T) {
	st := s.newStore(t)
	for _, n := range []int{1, 4096, s.opt.LargeSize} {
		k, data := key("o"), random(n)
		got, err := st.Put(ctx(), k, onlyReader{bytes.NewReader(data)}, -1, "application/zip")
		if err != nil || got != int64(n) {
			t.Fatalf("Put(-1) of %d bytes = %d, %v", n, got, err)
		}
		if back := readAll(t, st, k); !bytes.Equal(back, data) {
			t.Fatalf("%d bytes: content differs", n)
		}
	}
}

func (s *suite) putReplaces(t *testing.T) {
	st := s.newStore(t)
	k := key("o")
	mustPut(t, st, k, []byte("first version"))
	before, _ := st.Stat(ctx(), k)
	mustPut(t, st, k, []byte("second"))
	if got := readAll(t, st, k); string(got) != "second" {
		t.Fatalf("got %q", got)
	}
	if after, _ := st.Stat(ctx(), k); after.ETag == before.ETag {
		t.Fatal("ETag unchanged by a rewrite")
	}
}

// failingReader yields n random bytes, then an error.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	m := min(len(p), f.n)
	_, _ = rand.Read(p[:m])
	f.n -= m
	return m, nil
}

var errBroken = errors.New("client went away")

func (s *suite) failedPutLeavesNothing(t *testing.T) {
	st := s.newStore(t)
	for _, n := range []int{100, s.opt.LargeSize} {
		for _, size := range []int64{-1, int64(n) + 10} {
			k := key("o")
			_, err := st.Put(ctx(), k, &failingReader{n: n, err: errBroken}, size, "application/zip")
			if err == nil {
				t.Fatalf("Put of a failing reader (%d bytes, size %d) succeeded", n, size)
			}
			if _, err := st.Stat(ctx(), k); !errors.Is(err, entity.ErrNotFound) {
				t.Fatalf("after a failed Put (%d bytes, size %d): Stat = %v, want not found", n, size, err)
			}
		}
	}
}

func (s *suite) failedPutKeepsPrevious(t *testing.T) {
	st := s.newStore(t)
	k := key("o")
	mustPut(t, st, k, []byte("keep me"))
	if _, err := st.Put(ctx(), k, &failingReader{n: 10, err: errBroken}, -1, ""); err == nil {
		t.Fatal("failing Put succeeded")
	}
	if got := readAll(t, st, k); string(got) != "keep me" {
		t.Fatalf("previous version damaged: %q", got)
	}
}

// endlessReader yields a small chunk every few milliseconds, forever: a
// client that keeps sending, so only the context can end the Put.
type endlessReader struct{}

func (endlessReader) Read(p []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	return copy(p, random(min(len(p), 1024))), nil
}

func (s *suite) cancelledPut(t *testing.T) {
	st := s.newStore(t)
	k := key("o")
	c, cancel := context.WithCancel(ctx())
	done := make(chan error, 1)
	go func() {
		_, err := st.Put(c, k, endlessReader{}, -1, "")
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled Put succeeded")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Put did not return after its context was cancelled")
	}
	if _, err := st.Stat(ctx(), k); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("after a cancelled Put: %v", err)
	}
}

func (s *suite) missing(t *testing.T) {
	st := s.newStore(t)
	k := key("missing")
	if _, err := st.Open(ctx(), k, ""); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("Open: %v", err)
	}
	if _, err := st.Stat(ctx(), k); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("Stat: %v", err)
	}
	if err := st.Copy(ctx(), k, key("dst"), "x"); !errors.Is(err, entity.ErrNotFound) && !errors.Is(err, entity.ErrChanged) {
		t.Fatalf("Copy: %v", err)
	}
}

func (s *suite) delete(t *testing.T) {
	st := s.newStore(t)
	k := key("o")
	mustPut(t, st, k, []byte("x"))
	if err := st.Delete(ctx(), k); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx(), k); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	if err := st.Delete(ctx(), k); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func (s *suite) seek(t *testing.T) {
	st := s.newStore(t)
	k, data := key("o"), random(10000)
	mustPut(t, st, k, data)
	r, err := st.Open(ctx(), k, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Seek(9000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 100)
	if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, data[9000:9100]) {
		t.Fatalf("ranged read: %v", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if all, _ := io.ReadAll(r); !bytes.Equal(all, data) {
		t.Fatal("read after seek to 0 differs")
	}
}

func (s *suite) openETag(t *testing.T) {
	st := s.newStore(t)
	k := key("o")
	mustPut(t, st, k, []byte("v1"))
	info, _ := st.Stat(ctx(), k)
	r, err := st.Open(ctx(), k, info.ETag)
	if err != nil {
		t.Fatalf("Open with the current ETag: %v", err)
	}
	if b, _ := io.ReadAll(r); string(b) != "v1" {
		t.Fatalf("got %q", b)
	}
	r.Close()
	mustPut(t, st, k, []byte("v2, longer"))
	if _, err := st.Open(ctx(), k, info.ETag); !errors.Is(err, entity.ErrChanged) {
		t.Fatalf("Open with a stale ETag: %v, want ErrChanged", err)
	}
}

func (s *suite) copy(t *testing.T) {
	st := s.newStore(t)
	src, dst := key("u"), key("o")
	data := random(5000)
	mustPut(t, st, src, data)
	info, _ := st.Stat(ctx(), src)
	if err := st.Copy(ctx(), src, dst, "\"stale\""); !errors.Is(err, entity.ErrChanged) {
		t.Fatalf("Copy with a wrong ETag: %v", err)
	}
	if _, err := st.Stat(ctx(), dst); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("refused Copy left %v", err)
	}
	if err := st.Copy(ctx(), src, dst, info.ETag); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	mustPut(t, st, src, []byte("src rewritten"))
	if got := readAll(t, st, dst); !bytes.Equal(got, data) {
		t.Fatal("copy changed with its source")
	}
}

func (s *suite) concurrent(t *testing.T) {
	st := s.newStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, data := key("c"+strconv.Itoa(i)), random(20000+i)
			if _, err := st.Put(ctx(), k, onlyReader{bytes.NewReader(data)}, -1, ""); err != nil {
				errs <- err
				return
			}
			r, err := st.Open(ctx(), k, "")
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			if b, _ := io.ReadAll(r); !bytes.Equal(b, data) {
				errs <- errors.New("content mixed up")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func (s *suite) presign(t *testing.T) {
	st := s.newStore(t)
	k := key("u")
	data := random(3000)
	put, err := st.PresignPut(ctx(), k, int64(len(data)), time.Minute)
	if !s.opt.Presign {
		if !errors.Is(err, entity.ErrNotSupported) {
			t.Fatalf("PresignPut on a store without presigned URLs: %v", err)
		}
		if _, err := st.PresignGet(ctx(), k, time.Minute, usecase.Download{}); !errors.Is(err, entity.ErrNotSupported) {
			t.Fatalf("PresignGet: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if put.Method != http.MethodPut || time.Until(put.Expires) > time.Minute+5*time.Second || time.Until(put.Expires) < 50*time.Second {
		t.Fatalf("PresignPut = %+v", put)
	}
	do := func(method, u string, h http.Header, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		for name, v := range h {
			req.Header[name] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// A body of another size is refused: the size is part of the signature.
	if resp, b := do(put.Method, put.URL, nil, data[:100]); resp.StatusCode < 400 {
		t.Fatalf("PUT of 100 bytes to a URL for %d = %d %s", len(data), resp.StatusCode, b)
	}
	if resp, b := do(put.Method, put.URL, nil, data); resp.StatusCode != 200 {
		t.Fatalf("presigned PUT = %d %s", resp.StatusCode, b)
	}
	if got := readAll(t, st, k); !bytes.Equal(got, data) {
		t.Fatal("presigned PUT stored other bytes")
	}
	d := usecase.Download{ContentType: "image/png", Disposition: "inline", FileName: "menü a.png"}
	get, err := st.PresignGet(ctx(), k, time.Minute, d)
	if err != nil {
		t.Fatal(err)
	}
	resp, b := do(http.MethodGet, get.URL, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("presigned GET = %d, %d bytes", resp.StatusCode, len(b))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/png" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != d.Header() || cd == "" {
		t.Fatalf("Content-Disposition = %q", cd)
	}
}

func (s *suite) ping(t *testing.T) {
	if err := s.newStore(t).Ping(ctx()); err != nil {
		t.Fatal(err)
	}
}
