package clients_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/clients"
	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/mediaapi"
)

func writeError(w http.ResponseWriter, err error) {
	status, body := kit.ToBody(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// fakeMediasvc answers attach like mediasvc: media 7 is user 1's, 8 is
// someone else's, anything else does not exist.
func fakeMediasvc(t *testing.T, got *mediaapi.AttachRequest) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != mediaapi.PathAttach {
			writeError(w, errs.New(errs.NotFound, "no route"))
			return
		}
		if err := json.NewDecoder(r.Body).Decode(got); err != nil {
			writeError(w, errs.New(errs.InvalidArgument, "bad body"))
			return
		}
		var res mediaapi.AttachResponse
		for _, id := range got.MediaIDs {
			switch id {
			case 7:
				res.Attachments = append(res.Attachments, mediaapi.Attachment{ID: 7, Mime: "image/png", Size: 100, Name: "a.png", Width: 3, Height: 2})
			case 8:
				writeError(w, errs.New(errs.PermissionDenied, "not the uploader").WithDetail("media_id", "8"))
				return
			default:
				writeError(w, errs.New(errs.NotFound, "not found").WithDetail("media_id", id.String()))
				return
			}
		}
		_ = json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMediaAttachSendsTheMessageRefAndReturnsMetadataOrMediasvcsCode(t *testing.T) {
	var got mediaapi.AttachRequest
	m := clients.NewMedia(kit.NewClient(fakeMediasvc(t, &got).URL, http.DefaultTransport, time.Second))
	out, err := m.Attach(t.Context(), 1, "d:1:2", 99, []ids.ID{7})
	if err != nil || len(out) != 1 || out[0] != (entity.Attachment{ID: 7, Mime: "image/png", Size: 100, Name: "a.png", Width: 3, Height: 2}) {
		t.Fatalf("attach = %+v, %v", out, err)
	}
	if got.UserID != 1 || got.Message.ConversationID != "d:1:2" || got.Message.MessageID != 99 {
		t.Fatalf("mediasvc got %+v", got)
	}
	_, err = m.Attach(t.Context(), 1, "d:1:2", 99, []ids.ID{7, 8})
	if e, ok := errs.As(err); !ok || e.Code != errs.PermissionDenied || e.Details["media_id"] != "8" {
		t.Fatalf("someone else's media: %v", err)
	}
	_, err = m.Attach(t.Context(), 1, "d:1:2", 99, []ids.ID{5})
	if !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown media: %v", err)
	}
	down := clients.NewMedia(kit.NewClient("http://127.0.0.1:1", http.DefaultTransport, time.Second))
	if _, err := down.Attach(t.Context(), 1, "d:1:2", 99, []ids.ID{7}); !errs.CodeOf(err).Retryable() {
		t.Fatalf("mediasvc down: %v", err)
	}
}
