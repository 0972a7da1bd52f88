package stacktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/parleychat/parley/shared/stackenv"
)

// TestMinIO proves the S3 endpoint with minio-go: bucket, put, get, stat, a
// presigned GET fetched with plain net/http, and removal of it all.
func TestMinIO(t *testing.T) {
	env := stackenv.Require(t, stackenv.S3Endpoint, stackenv.S3AccessKey, stackenv.S3SecretKey, stackenv.S3Region)
	client, err := minio.New(env[stackenv.S3Endpoint], &minio.Options{
		Creds:  credentials.NewStaticV4(env[stackenv.S3AccessKey], env[stackenv.S3SecretKey], ""),
		Secure: false, // loopback, plain HTTP
		Region: env[stackenv.S3Region],
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	bucket := uniqueName(t, "stacktest-") // lower case, digits and '-' only
	if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: env[stackenv.S3Region]}); err != nil {
		t.Fatalf("make bucket %s: %v", bucket, err)
	}
	const object = "media/attachment.bin"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := client.RemoveObject(ctx, bucket, object, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("remove object: %v", err)
		}
		if err := client.RemoveBucket(ctx, bucket); err != nil {
			t.Errorf("remove bucket %s: %v", bucket, err)
		}
	})

	payload := make([]byte, 256<<10)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	info, err := client.PutObject(ctx, bucket, object, bytes.NewReader(payload), int64(len(payload)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatalf("put object: %v", err)
	}
	if info.Size != int64(len(payload)) {
		t.Errorf("put size %d, want %d", info.Size, len(payload))
	}

	obj, err := client.GetObject(ctx, bucket, object, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get object: %v", err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatalf("read object: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("get returned %d bytes that differ from the %d put", len(got), len(payload))
	}

	st, err := client.StatObject(ctx, bucket, object, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("stat object: %v", err)
	}
	if st.Size != int64(len(payload)) || st.ContentType != "application/octet-stream" {
		t.Errorf("stat: size %d type %q, want %d application/octet-stream", st.Size, st.ContentType, len(payload))
	}

	// A presigned URL is what the media service hands to clients: no credentials needed.
	u, err := client.PresignedGetObject(ctx, bucket, object, 5*time.Minute, nil)
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("presigned GET: %v", err)
	}
	defer resp.Body.Close()
	viaURL, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("presigned GET body: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(viaURL, payload) {
		t.Fatalf("presigned GET: status %d, %d bytes (equal=%v); want 200 and the payload",
			resp.StatusCode, len(viaURL), bytes.Equal(viaURL, payload))
	}
}
