package visibility

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

func TestMessagesMaps200To404AndFailures(t *testing.T) {
	var gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		switch r.URL.Path {
		case "/internal/v1/messages/media/7/readers/42":
			w.WriteHeader(http.StatusOK)
		case "/internal/v1/messages/media/7/readers/43":
			w.WriteHeader(http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	m := NewMessages(srv.URL, http.DefaultTransport, time.Second)
	ctx := context.Background()
	if ok, err := m.CanRead(ctx, 7, 42); !ok || err != nil {
		t.Fatalf("reader: %v %v (path %s)", ok, err, gotPath)
	}
	if ok, err := m.CanRead(ctx, 7, 43); ok || err != nil {
		t.Fatalf("non-reader: %v %v", ok, err)
	}
	if ok, err := m.CanRead(ctx, 7, 44); ok || err == nil {
		t.Fatalf("server error: %v %v", ok, err)
	}
	down := NewMessages("http://127.0.0.1:1", http.DefaultTransport, time.Second)
	if ok, err := down.CanRead(ctx, 7, 42); ok || !errs.CodeOf(err).Retryable() {
		t.Fatalf("messagesvc down: %v %v", ok, err)
	}
	if ok, _ := (UploaderOnly{}).CanRead(ctx, ids.ID(7), ids.ID(42)); ok {
		t.Fatal("uploader-only said yes")
	}
}
