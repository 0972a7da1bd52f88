package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/messagesvc/internal/delivery/httpapi"
	"github.com/parleychat/parley/messagesvc/internal/store/embedded"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/frameapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/messageapi"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/svcauth"
)

const (
	alice ids.ID = 1001
	bob   ids.ID = 1002
	carol ids.ID = 1003
	ghost ids.ID = 1999

	secret = "test-internal-secret-0123456789abcdef"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type recordingRouter struct {
	mu    sync.Mutex
	items []routerapi.DeliveryItem
}

func (r *recordingRouter) Deliver(_ context.Context, items []routerapi.DeliveryItem) ([]routerapi.DeliveryOutcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, items...)
	return make([]routerapi.DeliveryOutcome, len(items)), nil
}

func (r *recordingRouter) snapshot() []routerapi.DeliveryItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

type usersStub map[ids.ID]bool

func (u usersStub) Exists(_ context.Context, user ids.ID) (bool, error) { return u[user], nil }

// server is messagesvc's internal API on a real embedded store, behind the
// kit's real service authentication.
type server struct {
	t      *testing.T
	url    string
	client *http.Client // holds a service token
	store  *embedded.Store
	router *recordingRouter
	conv   protocol.ConversationID // alice and bob
}

func newServer(t *testing.T) *server {
	t.Helper()
	st, err := embedded.Open(embedded.Config{Dir: t.TempDir(), SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	gen, err := ids.NewGenerator(3)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := kit.NewService("messagesvc", kit.BaseConfig{InternalSecret: config.NewSecret(secret)}, discard)
	if err != nil {
		t.Fatal(err)
	}
	router := &recordingRouter{}
	pusher := usecase.NewPusher(router, 1024, time.Second, discard, prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pusher.Run(ctx, 1) }()
	t.Cleanup(func() { cancel(); <-done })

	limits := protocol.DefaultLimits()
	access := usecase.NewAccess(usersStub{alice: true, bob: true, carol: true}, nil)
	receipts := usecase.NewReceipts(st, access, gen, pusher)
	engine, api := svc.InternalEngine()
	httpapi.Register(api, httpapi.UseCases{
		Send:          usecase.NewSendMessage(st, access, gen, pusher),
		Sync:          usecase.NewSync(st, limits),
		History:       usecase.NewHistory(st, access, limits),
		Typing:        usecase.NewTyping(access, pusher),
		Receipts:      receipts,
		Conversations: usecase.NewConversations(st, receipts),
		Limits:        limits,
	})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	conv, _ := protocol.DirectConversation(protocol.UserID(alice), protocol.UserID(bob))
	return &server{t: t, url: srv.URL, client: serviceClient(t, "gateway", secret), store: st, router: router, conv: conv}
}

func serviceClient(t *testing.T, service, sec string) *http.Client {
	t.Helper()
	signer, err := svcauth.NewSigner(service, sec)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &svcauth.Transport{Signer: signer}}
}

func (s *server) do(c *http.Client, method, path string, body []byte, header http.Header) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// frame relays a client frame as the gateway does.
func (s *server) frame(user ids.ID, device, frame string) (int, []byte) {
	s.t.Helper()
	body, err := json.Marshal(frameapi.Request{UserID: user, DeviceID: device, GatewayID: "gw-1", Frame: json.RawMessage(frame)})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do(s.client, http.MethodPost, frameapi.Path, body, nil)
}

// reply relays frame and decodes the reply frame of a 200 answer.
func (s *server) reply(user ids.ID, device, frame string) protocol.Frame {
	s.t.Helper()
	code, body := s.frame(user, device, frame)
	if code != http.StatusOK {
		s.t.Fatalf("frame %s: %d %s", frame, code, body)
	}
	var res frameapi.Response
	if err := json.Unmarshal(body, &res); err != nil {
		s.t.Fatalf("response %s: %v", body, err)
	}
	if len(res.Reply) == 0 {
		return nil
	}
	f, err := protocol.DecodeServerFrame(res.Reply)
	if err != nil {
		s.t.Fatalf("reply %s: %v", res.Reply, err)
	}
	return f
}

func (s *server) send(user ids.ID, id, clientID, body string) *protocol.Ack {
	s.t.Helper()
	f := s.reply(user, "phone", fmt.Sprintf(`{"v":1,"id":%q,"type":"send","conversation_id":%q,"client_msg_id":%q,"body":%q}`,
		id, s.conv, clientID, body))
	ack, ok := f.(*protocol.Ack)
	if !ok {
		s.t.Fatalf("send answered %T", f)
	}
	return ack
}

// wantError checks an error response's status and code.
func wantError(t *testing.T, code int, body []byte, status int, want errs.Code) kit.ErrorPayload {
	t.Helper()
	var eb kit.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if code != status || eb.Error.Code != want {
		t.Fatalf("got %d %s, want %d %s", code, body, status, want)
	}
	return eb.Error
}

func identity(user ids.ID, device string) http.Header {
	h := http.Header{}
	h.Set(kit.HeaderUserID, user.String())
	h.Set(kit.HeaderDeviceID, device)
	return h
}

func TestSendFrameIsAnsweredWithAnAckEchoingTheRequestID(t *testing.T) {
	s := newServer(t)
	ack := s.send(alice, "req-7", "c-1", "hello")
	if ack.ID != "req-7" || ack.ConversationID != s.conv || ack.ClientMsgID != "c-1" || ack.MessageID <= 0 || ack.SentAtMs <= 0 {
		t.Fatalf("ack = %+v", ack)
	}
	if msgs, err := s.store.GetMessages(context.Background(), s.conv, []ids.ID{ids.ID(ack.MessageID)}); err != nil || len(msgs) != 1 {
		t.Fatalf("stored: %+v, %v", msgs, err)
	}
	// The sender is the relayed identity, never a frame field.
	if msgs, _ := s.store.GetMessages(context.Background(), s.conv, []ids.ID{ids.ID(ack.MessageID)}); msgs[0].SenderID != alice {
		t.Fatalf("sender %d", msgs[0].SenderID)
	}
	// A retry with another request id gets the same message, its own id echoed.
	again := s.send(alice, "req-8", "c-1", "hello")
	if again.ID != "req-8" || again.MessageID != ack.MessageID {
		t.Fatalf("retry ack = %+v", again)
	}
}

func TestSyncHistoryAndTypingFramesGetTheirReplies(t *testing.T) {
	s := newServer(t)
	a1 := s.send(alice, "1", "c-1", "one")
	a2 := s.send(alice, "2", "c-2", "two")

	page, ok := s.reply(bob, "phone", `{"v":1,"id":"s1","type":"sync","limit":10}`).(*protocol.SyncPage)
	if !ok || page.ID != "s1" || len(page.Messages) != 2 || page.More || page.Cursor == "" {
		t.Fatalf("sync page = %+v", page)
	}
	if page.Messages[0].MessageID != a1.MessageID || page.Messages[1].MessageID != a2.MessageID {
		t.Fatalf("sync order = %+v", page.Messages)
	}

	hist, ok := s.reply(bob, "phone", fmt.Sprintf(`{"v":1,"id":"h1","type":"history","conversation_id":%q,"limit":1}`, s.conv)).(*protocol.HistoryPage)
	if !ok || hist.ID != "h1" || hist.ConversationID != s.conv || len(hist.Messages) != 1 || hist.Messages[0].MessageID != a2.MessageID || !hist.More {
		t.Fatalf("history page = %+v", hist)
	}

	code, body := s.frame(alice, "phone", fmt.Sprintf(`{"v":1,"id":"t1","type":"typing","conversation_id":%q,"active":true}`, s.conv))
	if code != http.StatusOK || strings.TrimSpace(string(body)) != "{}" {
		t.Fatalf("typing: %d %s, want 200 with no reply", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.ContainsFunc(s.router.snapshot(), func(it routerapi.DeliveryItem) bool {
		return strings.Contains(string(it.Frame), `"type":"typing_state"`) && slices.Equal(it.Users, []ids.ID{bob})
	}) {
		if time.Now().After(deadline) {
			t.Fatal("typing was not pushed to bob")
		}
		time.Sleep(2 * time.Millisecond)
	}

	// Acknowledgements relayed here (rather than through receiptsvc) work too.
	if f := s.reply(bob, "phone", fmt.Sprintf(`{"v":1,"id":"r1","type":"received","conversation_id":%q,"message_ids":[%q]}`, s.conv, a1.MessageID.String())); f != nil {
		t.Fatalf("received answered %T", f)
	}
	if f := s.reply(bob, "phone", fmt.Sprintf(`{"v":1,"id":"r2","type":"read","conversation_id":%q,"up_to":%q}`, s.conv, a2.MessageID.String())); f != nil {
		t.Fatalf("read answered %T", f)
	}
	if wm, _ := s.store.ReadWatermark(context.Background(), bob, s.conv); wm.UpTo != ids.ID(a2.MessageID) {
		t.Fatalf("watermark = %d", wm.UpTo)
	}
}

func TestBadFramesAndMissingIdentityAreInvalidArgument(t *testing.T) {
	s := newServer(t)
	for name, frame := range map[string]string{
		"not an object":        `["v",1]`,
		"a string":             `"sync"`,
		"unknown type":         `{"v":1,"id":"1","type":"teleport"}`,
		"wrong version":        `{"v":2,"id":"1","type":"sync"}`,
		"missing request id":   `{"v":1,"type":"sync"}`,
		"empty body":           fmt.Sprintf(`{"v":1,"id":"1","type":"send","conversation_id":%q,"client_msg_id":"c"}`, s.conv),
		"bad conversation id":  `{"v":1,"id":"1","type":"history","conversation_id":"d:2:1"}`,
		"limit above the max":  `{"v":1,"id":"1","type":"sync","limit":101}`,
		"server frame":         `{"v":1,"id":"1","type":"ack"}`,
		"frame of another svc": `{"v":1,"id":"1","type":"ping"}`,
	} {
		code, body := s.frame(alice, "phone", frame)
		if code != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", name, code, body)
		}
		wantError(t, code, body, http.StatusBadRequest, errs.InvalidArgument)
	}
	code, body := s.frame(alice, "phone", fmt.Sprintf(`{"v":1,"id":"1","type":"send","conversation_id":%q,"client_msg_id":"c","body":%q}`,
		s.conv, strings.Repeat("x", 4097)))
	wantError(t, code, body, http.StatusRequestEntityTooLarge, errs.PayloadTooLarge)

	sync := `{"v":1,"id":"1","type":"sync"}`
	for name, raw := range map[string]string{
		"no user":      `{"device_id":"phone","frame":` + sync + `}`,
		"no device":    `{"user_id":"1001","frame":` + sync + `}`,
		"empty device": `{"user_id":"1001","device_id":"","frame":` + sync + `}`,
	} {
		code, body := s.do(s.client, http.MethodPost, frameapi.Path, []byte(raw), nil)
		if e := wantError(t, code, body, http.StatusBadRequest, errs.InvalidArgument); !strings.Contains(e.Message, "user_id and device_id") {
			t.Fatalf("%s: %s", name, e.Message)
		}
	}
	// The request itself: malformed, or with fields the API does not have
	// (no way to smuggle a sender in).
	for _, raw := range []string{`{"user_id":"1001","device_id":"phone","frame":`,
		`{"user_id":"1001","device_id":"phone","frame":{"v":1,"id":"1","type":"sync"},"sender":"1002"}`} {
		code, body = s.do(s.client, http.MethodPost, frameapi.Path, []byte(raw), nil)
		wantError(t, code, body, http.StatusBadRequest, errs.InvalidArgument)
	}
	if n := len(s.router.snapshot()); n != 0 {
		t.Fatalf("bad frames pushed %d items", n)
	}
}

func TestUseCaseErrorsKeepTheirCodes(t *testing.T) {
	s := newServer(t)
	withGhost, _ := protocol.DirectConversation(protocol.UserID(alice), protocol.UserID(ghost))
	code, body := s.frame(alice, "phone", fmt.Sprintf(`{"v":1,"id":"1","type":"send","conversation_id":%q,"client_msg_id":"c","body":"x"}`, withGhost))
	wantError(t, code, body, http.StatusNotFound, errs.NotFound)
	code, body = s.frame(carol, "phone", fmt.Sprintf(`{"v":1,"id":"1","type":"history","conversation_id":%q}`, s.conv))
	wantError(t, code, body, http.StatusNotFound, errs.NotFound)
	code, body = s.frame(alice, "phone", `{"v":1,"id":"1","type":"send","conversation_id":"g:5","client_msg_id":"c","body":"x"}`)
	if e := wantError(t, code, body, http.StatusServiceUnavailable, errs.Unavailable); !e.Retryable {
		t.Fatal("unavailable is not marked retryable")
	}
	expired := usecase.EncodeCursor(ids.FromTime(time.Now().Add(-15 * 24 * time.Hour)))
	code, body = s.frame(bob, "phone", fmt.Sprintf(`{"v":1,"id":"1","type":"sync","cursor":%q}`, expired))
	wantError(t, code, body, http.StatusPreconditionFailed, errs.FailedPrecondition)
}

func TestInternalRoutesRequireAServiceToken(t *testing.T) {
	s := newServer(t)
	frame, _ := json.Marshal(frameapi.Request{UserID: alice, DeviceID: "phone", Frame: json.RawMessage(`{"v":1,"id":"1","type":"sync"}`)})
	for _, c := range []*http.Client{http.DefaultClient, serviceClient(t, "gateway", "another-secret-0123456789abcdef-xyz")} {
		code, body := s.do(c, http.MethodPost, frameapi.Path, frame, nil)
		wantError(t, code, body, http.StatusUnauthorized, errs.Unauthenticated)
		code, body = s.do(c, http.MethodPost, messageapi.PathReceipts, []byte(`{"items":[]}`), nil)
		wantError(t, code, body, http.StatusUnauthorized, errs.Unauthenticated)
		code, body = s.do(c, http.MethodGet, "/internal/v1/messages/conversations", nil, identity(alice, "phone"))
		wantError(t, code, body, http.StatusUnauthorized, errs.Unauthenticated)
	}
	if _, ok, _ := s.store.Cursor(context.Background(), alice, "phone"); ok {
		t.Fatal("an unauthenticated request had an effect")
	}
}

func TestReceiptsEndpointAnswersEachItemOnItsOwn(t *testing.T) {
	s := newServer(t)
	a1 := s.send(alice, "1", "c-1", "one")
	a2 := s.send(alice, "2", "c-2", "two")
	withCarol, _ := protocol.DirectConversation(protocol.UserID(alice), protocol.UserID(carol))
	req := messageapi.ReceiptsRequest{Items: []messageapi.ReceiptItem{
		{Kind: messageapi.KindReceived, UserID: bob, DeviceID: "phone", ConversationID: s.conv,
			MessageIDs: []ids.ID{ids.ID(a1.MessageID)}, Cursor: ""},
		{Kind: messageapi.KindReceived, UserID: carol, DeviceID: "phone", ConversationID: withCarol,
			MessageIDs: []ids.ID{ids.ID(a2.MessageID)}}, // a message of another conversation
		{Kind: messageapi.KindRead, UserID: bob, DeviceID: "phone", ConversationID: s.conv, UpTo: ids.ID(a2.MessageID)},
		{Kind: messageapi.KindRead, UserID: bob, DeviceID: "phone", ConversationID: s.conv}, // no up_to
		{Kind: "liked", UserID: bob, DeviceID: "phone", ConversationID: s.conv},
		{Kind: messageapi.KindReceived, UserID: bob, ConversationID: s.conv, MessageIDs: []ids.ID{ids.ID(a1.MessageID)}}, // no device
		{Kind: messageapi.KindReceived, UserID: bob, DeviceID: "phone", ConversationID: s.conv},                          // no ids
	}}
	body, _ := json.Marshal(req)
	code, out := s.do(s.client, http.MethodPost, messageapi.PathReceipts, body, nil)
	if code != http.StatusOK {
		t.Fatalf("receipts: %d %s", code, out)
	}
	var res messageapi.ReceiptsResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	want := []errs.Code{"", errs.NotFound, "", errs.InvalidArgument, errs.InvalidArgument, errs.InvalidArgument, errs.InvalidArgument}
	if len(res.Results) != len(want) {
		t.Fatalf("%d results for %d items: %s", len(res.Results), len(want), out)
	}
	for i, w := range want {
		var got errs.Code
		if e := res.Results[i].Error; e != nil {
			got = e.Code
		}
		if got != w {
			t.Fatalf("item %d: %q, want %q (%s)", i, got, w, out)
		}
	}
	// The good items took effect, the bad ones did not.
	d, err := s.store.Deliveries(context.Background(), s.conv, []ids.ID{ids.ID(a1.MessageID), ids.ID(a2.MessageID)})
	if err != nil || len(d) != 1 || d[0].UserID != bob || d[0].MessageID != ids.ID(a1.MessageID) {
		t.Fatalf("deliveries = %+v, %v", d, err)
	}
	if wm, _ := s.store.ReadWatermark(context.Background(), bob, s.conv); wm.UpTo != ids.ID(a2.MessageID) {
		t.Fatalf("watermark = %+v", wm)
	}
	if d, _ := s.store.Deliveries(context.Background(), withCarol, []ids.ID{ids.ID(a2.MessageID)}); len(d) != 0 {
		t.Fatalf("bad item recorded: %+v", d)
	}

	// Too many items is refused as a whole.
	many := messageapi.ReceiptsRequest{Items: make([]messageapi.ReceiptItem, messageapi.MaxReceiptItems+1)}
	for i := range many.Items {
		many.Items[i] = req.Items[0]
	}
	body, _ = json.Marshal(many)
	code, out = s.do(s.client, http.MethodPost, messageapi.PathReceipts, body, nil)
	wantError(t, code, out, http.StatusUnprocessableEntity, errs.LimitExceeded)
	code, out = s.do(s.client, http.MethodPost, messageapi.PathReceipts, []byte(`{"items":[`), nil)
	wantError(t, code, out, http.StatusBadRequest, errs.InvalidArgument)
}

type listResponse struct {
	Conversations []usecase.ConversationItem `json:"conversations"`
}

func TestRESTConversationListAndHistory(t *testing.T) {
	s := newServer(t)
	var acks []*protocol.Ack
	for i := range 3 {
		acks = append(acks, s.send(alice, fmt.Sprint(i), fmt.Sprintf("c-%d", i), fmt.Sprintf("m%d", i)))
	}
	code, body := s.do(s.client, http.MethodGet, "/internal/v1/messages/conversations", nil, identity(bob, "phone"))
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	var list listResponse
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Conversations) != 1 || list.Conversations[0].ConversationID != s.conv || list.Conversations[0].Unread != 3 ||
		list.Conversations[0].LastMessage == nil || list.Conversations[0].LastMessage.MessageID != acks[2].MessageID {
		t.Fatalf("list = %s", body)
	}
	code, body = s.do(s.client, http.MethodGet, "/internal/v1/messages/conversations?limit=1&before="+acks[2].MessageID.String(), nil, identity(bob, "phone"))
	if code != http.StatusOK || !strings.Contains(string(body), `"conversations":[]`) {
		t.Fatalf("list below the only conversation: %d %s", code, body)
	}

	histPath := "/internal/v1/messages/conversations/" + url.PathEscape(string(s.conv)) + "/history"
	code, body = s.do(s.client, http.MethodGet, histPath+"?limit=2", nil, identity(bob, "phone"))
	if code != http.StatusOK {
		t.Fatalf("history: %d %s", code, body)
	}
	var hist struct {
		ConversationID protocol.ConversationID `json:"conversation_id"`
		Messages       []protocol.Message      `json:"messages"`
		More           bool                    `json:"more"`
	}
	if err := json.Unmarshal(body, &hist); err != nil {
		t.Fatal(err)
	}
	if hist.ConversationID != s.conv || len(hist.Messages) != 2 || !hist.More || hist.Messages[0].MessageID != acks[1].MessageID {
		t.Fatalf("history = %s", body)
	}
	code, body = s.do(s.client, http.MethodGet, histPath+"?before="+acks[1].MessageID.String(), nil, identity(bob, "phone"))
	if err := json.Unmarshal(body, &hist); err != nil || code != http.StatusOK || len(hist.Messages) != 1 || hist.More ||
		hist.Messages[0].MessageID != acks[0].MessageID {
		t.Fatalf("history before: %d %s", code, body)
	}
	// The raw path (colons unescaped), as gateways relay it, works too.
	code, body = s.do(s.client, http.MethodGet, "/internal/v1/messages/conversations/"+string(s.conv)+"/history", nil, identity(alice, "laptop"))
	if code != http.StatusOK || !strings.Contains(string(body), `"client_msg_id":"c-0"`) {
		t.Fatalf("history for the sender: %d %s", code, body)
	}

	// Identity is required: absent → 401; malformed → 401.
	for _, hdr := range []http.Header{nil, {kit.HeaderUserID: {"abc"}, kit.HeaderDeviceID: {"phone"}}, {kit.HeaderUserID: {"1002"}}} {
		code, body = s.do(s.client, http.MethodGet, "/internal/v1/messages/conversations", nil, hdr)
		wantError(t, code, body, http.StatusUnauthorized, errs.Unauthenticated)
		code, body = s.do(s.client, http.MethodGet, histPath, nil, hdr)
		wantError(t, code, body, http.StatusUnauthorized, errs.Unauthenticated)
	}
	// Bad queries are 400.
	for _, q := range []string{"?limit=abc", "?limit=-1", "?limit=0", "?limit=101", "?before=x", "?before=-5"} {
		code, body = s.do(s.client, http.MethodGet, "/internal/v1/messages/conversations"+q, nil, identity(bob, "phone"))
		wantError(t, code, body, http.StatusBadRequest, errs.InvalidArgument)
	}
	for _, q := range []string{"?limit=abc", "?limit=101", "?before=1&after=2", "?after=zero", "?before=0x10"} {
		code, body = s.do(s.client, http.MethodGet, histPath+q, nil, identity(bob, "phone"))
		wantError(t, code, body, http.StatusBadRequest, errs.InvalidArgument)
	}
	code, body = s.do(s.client, http.MethodGet, "/internal/v1/messages/conversations/d:2:1/history", nil, identity(bob, "phone"))
	wantError(t, code, body, http.StatusBadRequest, errs.InvalidArgument)
	// Someone else's conversation is not found.
	code, body = s.do(s.client, http.MethodGet, histPath, nil, identity(carol, "phone"))
	wantError(t, code, body, http.StatusNotFound, errs.NotFound)
}
