package s3_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/objects/objectstest"
	"github.com/parleychat/parley/mediasvc/internal/objects/s3"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/shared/stackenv"
)

// newBucket returns a store on a fresh bucket of the local stack's MinIO,
// removed after the test.
func newBucket(t *testing.T, partSize uint64) *s3.Store {
	t.Helper()
	env := stackenv.Require(t, stackenv.S3Endpoint, stackenv.S3AccessKey, stackenv.S3SecretKey, stackenv.S3Region)
	var b [5]byte
	_, _ = rand.Read(b[:])
	st, err := s3.New(s3.Config{Endpoint: env[stackenv.S3Endpoint], AccessKey: env[stackenv.S3AccessKey],
		SecretKey: env[stackenv.S3SecretKey], Region: env[stackenv.S3Region],
		Bucket: "mediasvc-test-" + hex.EncodeToString(b[:]), PartSize: partSize})
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
	return st
}

func TestS3Contract(t *testing.T) {
	// 5 MiB parts (S3's minimum), so the 12 MiB unknown-size case runs a
	// three-part multipart upload.
	st := newBucket(t, 5<<20)
	objectstest.Run(t, objectstest.Options{Presign: true, LargeSize: 12 << 20}, func(*testing.T) usecase.Objects { return st })
	// Every failed or cancelled Put above aborted its multipart upload.
	if left, err := st.IncompleteUploads(context.Background()); err != nil || len(left) != 0 {
		t.Fatalf("incomplete multipart uploads left: %v, %v", left, err)
	}
}

func TestS3DownIsAnErrorNotAHang(t *testing.T) {
	st, err := s3.New(s3.Config{Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "b", Region: "us-east-1", Bucket: "x"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err == nil {
		t.Fatal("Ping of a dead endpoint succeeded")
	}
	if _, err := st.Put(ctx, "o/1", io.LimitReader(rand.Reader, 10), 10, ""); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put to a dead endpoint: %v", err)
	}
}

func TestInvalidConfigIsRefused(t *testing.T) {
	for _, c := range []s3.Config{{}, {Endpoint: "x:1", Region: "r"}, {Endpoint: "x:1", Bucket: "b"}, {Endpoint: "x:1", Bucket: "b", Region: "r", PartSize: 1 << 20}} {
		if _, err := s3.New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestPresignPutAsFirstCallCreatesTheBucket(t *testing.T) {
	st := newBucket(t, s3.DefaultPartSize)
	req, err := st.PresignPut(context.Background(), "u/1", 3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(req.Method, req.URL, strings.NewReader("abc"))
	resp, err := http.DefaultClient.Do(r)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT to a fresh store's first URL: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}
