package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parleychat/parley/messagesvc/internal/delivery/httpapi"
	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store/embedded"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/mediaapi"
	"github.com/parleychat/parley/shared/protocol"
)

// readersServer is messagesvc's message-readers route on a real embedded
// store behind the kit's service authentication, with one direct message
// from alice to bob carrying media 77.
func readersServer(t *testing.T) (url string, msg mediaapi.MessageRef) {
	t.Helper()
	st, err := embedded.Open(embedded.Config{Dir: t.TempDir(), SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := kit.NewService("messagesvc", kit.BaseConfig{InternalSecret: config.NewSecret(secret)}, discard)
	if err != nil {
		t.Fatal(err)
	}
	engine, api := svc.InternalEngine()
	httpapi.RegisterReaders(api, usecase.NewMessageReaders(st, usecase.NewAccess(usersStub{alice: true, bob: true}, nil)))
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	conv, _ := protocol.DirectConversation(protocol.UserID(alice), protocol.UserID(bob))
	gen, _ := ids.NewGenerator(4)
	m := entity.Message{ID: gen.Next(), Conversation: conv, SenderID: alice, Kind: protocol.KindUser,
		Attachments: []entity.Attachment{{ID: 77, Mime: "image/png", Size: 10}}}
	if err := st.PutMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	return srv.URL, mediaapi.MessageRef{ConversationID: string(conv), MessageID: m.ID}
}

func askReaders(t *testing.T, client *http.Client, url string, body any) (int, mediaapi.ReadersResponse) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := client.Post(url+mediaapi.PathMessageReaders, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out mediaapi.ReadersResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out
}

func TestMessageReaders200AnswersWhetherTheUserSeesAMessageCarryingTheMedia(t *testing.T) {
	url, msg := readersServer(t)
	client := serviceClient(t, "mediasvc", secret)
	for _, c := range []struct {
		user, media ids.ID
		want        bool
	}{{bob, 77, true}, {alice, 77, true}, {carol, 77, false}, {bob, 78, false}} {
		status, got := askReaders(t, client, url, mediaapi.ReadersRequest{UserID: c.user, MediaID: c.media,
			Messages: []mediaapi.MessageRef{msg}})
		if status != http.StatusOK || got.CanRead != c.want {
			t.Errorf("user %d media %d: %d %+v, want can_read=%v", c.user, c.media, status, got, c.want)
		}
	}
}

func TestMessageReadersRefusesCallsWithoutAServiceTokenAndBadBodies(t *testing.T) {
	url, msg := readersServer(t)
	if status, _ := askReaders(t, http.DefaultClient, url, mediaapi.ReadersRequest{UserID: bob, MediaID: 77,
		Messages: []mediaapi.MessageRef{msg}}); status != http.StatusUnauthorized {
		t.Errorf("no service token: %d, want 401", status)
	}
	client := serviceClient(t, "mediasvc", secret)
	if status, _ := askReaders(t, client, url, "not an object"); status != http.StatusBadRequest {
		t.Errorf("bad body: %d, want 400", status)
	}
	if status, _ := askReaders(t, client, url, mediaapi.ReadersRequest{MediaID: 77}); status != http.StatusBadRequest {
		t.Errorf("no user: %d, want 400", status)
	}
}
