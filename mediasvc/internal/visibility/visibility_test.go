package visibility

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/mediaapi"
)

// fakeMessages answers like messagesvc: user 42 reads message 5 of "d:1:42".
func fakeMessages(t *testing.T, calls *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != mediaapi.PathMessageReaders {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var req mediaapi.ReadersRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.MediaID != 7 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if req.UserID == 44 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if len(req.Messages) > mediaapi.MaxReaderMessages {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		can := false
		for _, m := range req.Messages {
			can = can || (req.UserID == 42 && m.ConversationID == "d:1:42" && m.MessageID == 5)
		}
		_ = json.NewEncoder(w).Encode(mediaapi.ReadersResponse{CanRead: can})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMessagesPassesTheRecordedMessagesAndMapsAnswers(t *testing.T) {
	var calls atomic.Int32
	m := NewMessages(fakeMessages(t, &calls).URL, http.DefaultTransport, time.Second)
	ctx := context.Background()
	refs := []entity.MessageRef{{ConversationID: "d:1:42", MessageID: 4}, {ConversationID: "d:1:42", MessageID: 5}}
	if ok, err := m.CanRead(ctx, 7, 42, refs); !ok || err != nil {
		t.Fatalf("reader: %v %v", ok, err)
	}
	if ok, err := m.CanRead(ctx, 7, 43, refs); ok || err != nil {
		t.Fatalf("non-reader: %v %v", ok, err)
	}
	if ok, err := m.CanRead(ctx, 7, 44, refs); ok || err == nil {
		t.Fatalf("server error: %v %v", ok, err)
	}
	down := NewMessages("http://127.0.0.1:1", http.DefaultTransport, time.Second)
	if ok, err := down.CanRead(ctx, 7, 42, refs); ok || !errs.CodeOf(err).Retryable() {
		t.Fatalf("messagesvc down: %v %v", ok, err)
	}
	if ok, _ := (UploaderOnly{}).CanRead(ctx, ids.ID(7), ids.ID(42), refs); ok {
		t.Fatal("uploader-only said yes")
	}
}

func TestMessagesBatchesManyMessagesAndStopsAtTheFirstYes(t *testing.T) {
	var calls atomic.Int32
	m := NewMessages(fakeMessages(t, &calls).URL, http.DefaultTransport, time.Second)
	var refs []entity.MessageRef
	for i := range 2*mediaapi.MaxReaderMessages + 1 {
		refs = append(refs, entity.MessageRef{ConversationID: "d:1:42", MessageID: ids.ID(1000 + i)})
	}
	if ok, err := m.CanRead(context.Background(), 7, 42, refs); ok || err != nil {
		t.Fatalf("no readable message: %v %v", ok, err)
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("%d calls for %d messages, want 3", got, len(refs))
	}
	calls.Store(0)
	refs[0].MessageID = 5
	if ok, err := m.CanRead(context.Background(), 7, 42, refs); !ok || err != nil {
		t.Fatalf("readable first message: %v %v", ok, err)
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("%d calls after a yes in the first batch, want 1", got)
	}
}
