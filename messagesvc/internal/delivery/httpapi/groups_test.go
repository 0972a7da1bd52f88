package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/messagesvc/internal/clients"
	"github.com/parleychat/parley/messagesvc/internal/delivery/httpapi"
	"github.com/parleychat/parley/messagesvc/internal/store/embedded"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/svcauth"
)

const group ids.ID = 500

// rosterServer stands in for groupsvc's roster routes (shared/groupapi),
// behind real service authentication; it counts roster calls.
type rosterServer struct {
	mu      sync.Mutex
	members []ids.ID
	version int64
	calls   atomic.Int64
}

func (r *rosterServer) set(members ...ids.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.members, r.version = members, r.version+1
}

func newRosterServer(t *testing.T, members ...ids.ID) (*rosterServer, string) {
	t.Helper()
	r := &rosterServer{members: members, version: 1}
	svc, err := kit.NewService("groupsvc", kit.BaseConfig{InternalSecret: config.NewSecret(secret)}, discard)
	if err != nil {
		t.Fatal(err)
	}
	engine, api := svc.InternalEngine()
	api.GET(strings.TrimPrefix(groupapi.PathRoster, "/internal/v1"), func(c *gin.Context) {
		r.calls.Add(1)
		r.mu.Lock()
		defer r.mu.Unlock()
		if c.Param("group") != group.String() {
			kit.AbortWithError(c, errs.New(errs.NotFound, "no such group"))
			return
		}
		out := groupapi.Roster{Group: group, Version: r.version}
		for _, m := range r.members {
			out.Members = append(out.Members, groupapi.Member{User: m, Role: groupapi.RoleMember})
		}
		c.JSON(http.StatusOK, out)
	})
	api.GET(strings.TrimPrefix(groupapi.PathMemberships, "/internal/v1"), func(c *gin.Context) {
		r.mu.Lock()
		defer r.mu.Unlock()
		user, _ := ids.Parse(c.Param("user"))
		out := groupapi.Memberships{User: user}
		if slices.Contains(r.members, user) {
			out.Groups = []groupapi.Membership{{Group: group, Role: groupapi.RoleMember}}
		}
		c.JSON(http.StatusOK, out)
	})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// newGroupServer is messagesvc's internal API with group conversations on,
// asking groupsvc (a rosterServer) through the real client, whose roster
// cache lives far longer than the test: only group events refresh it.
func newGroupServer(t *testing.T, members ...ids.ID) (*server, *rosterServer) {
	t.Helper()
	roster, rosterURL := newRosterServer(t, members...)
	st, err := embedded.Open(embedded.Config{Dir: t.TempDir(), SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	gen, err := ids.NewGenerator(4)
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

	signer, err := svcauth.NewSigner("messagesvc", secret)
	if err != nil {
		t.Fatal(err)
	}
	groups := clients.NewGroups(kit.NewClient(rosterURL, &svcauth.Transport{Signer: signer}, 3*time.Second), time.Hour)
	limits := protocol.DefaultLimits()
	access := usecase.NewAccess(usersStub{alice: true, bob: true, carol: true}, groups)
	receipts := usecase.NewReceipts(st, access, gen, pusher)
	receipts.SetGroupReceipts(usecase.GroupReceiptsConfig{Window: 5 * time.Millisecond, ReadersMax: 10, Logger: discard})
	send := usecase.NewSendMessage(st, access, gen, pusher)
	fanout := usecase.GroupFanout{PointerMax: 64}
	send.SetGroupFanout(fanout)
	syncUC := usecase.NewSync(st, limits)
	syncUC.SetGroups(groups, access)
	engine, api := svc.InternalEngine()
	httpapi.Register(api, httpapi.UseCases{Send: send, Sync: syncUC, History: usecase.NewHistory(st, access, limits),
		Typing: usecase.NewTyping(access, pusher), Receipts: receipts, Conversations: usecase.NewConversations(st, receipts), Limits: limits})
	httpapi.RegisterGroups(api, httpapi.GroupUseCases{Events: usecase.NewGroupEvents(st, groups, gen, pusher, fanout), Receipts: receipts})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &server{t: t, url: srv.URL, client: serviceClient(t, "groupsvc", secret), store: st, router: router,
		conv: protocol.GroupConversation(protocol.GroupID(group))}, roster
}

func (s *server) postEvent(c *http.Client, ev groupapi.GroupEvent) (int, []byte) {
	s.t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do(c, http.MethodPost, groupapi.PathGroupEvents, body, nil)
}

func TestGroupEventsNeedAServiceTokenAndValidInput(t *testing.T) {
	s, _ := newGroupServer(t, alice, bob)
	ev := groupapi.GroupEvent{Group: group, EventID: 9, Kind: groupapi.EventGroupRenamed, Actor: alice, Name: "Lunch", RosterVersion: 1}
	code, body := s.postEvent(http.DefaultClient, ev)
	wantError(t, code, body, http.StatusUnauthorized, errs.Unauthenticated)
	code, body = s.postEvent(serviceClient(t, "groupsvc", "another-secret-0123456789abcdefghij"), ev)
	wantError(t, code, body, http.StatusUnauthorized, errs.Unauthenticated)
	for _, bad := range []string{`{`, `{"group":"500","event_id":"9","kind":"party","actor":"1001"}`, `{"group":"500","kind":"group_renamed","actor":"1001"}`} {
		code, body := s.do(s.client, http.MethodPost, groupapi.PathGroupEvents, []byte(bad), nil)
		wantError(t, code, body, http.StatusBadRequest, errs.InvalidArgument)
	}
	if msgs, _, _ := s.store.History(context.Background(), s.conv, 0, 0, 10); len(msgs) != 0 {
		t.Fatalf("rejected events stored %+v", msgs)
	}
	var first, again groupapi.GroupEventResult
	code, body = s.postEvent(s.client, ev)
	if code != http.StatusOK || json.Unmarshal(body, &first) != nil || first.MessageID <= 0 {
		t.Fatalf("post: %d %s", code, body)
	}
	code, body = s.postEvent(s.client, ev)
	if code != http.StatusOK || json.Unmarshal(body, &again) != nil || again != first {
		t.Fatalf("retried post: %d %s, want %+v", code, body, first)
	}
	msgs, _, err := s.store.History(context.Background(), s.conv, 0, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Kind != groupapi.EventGroupRenamed || msgs[0].SystemName != "Lunch" {
		t.Fatalf("stored %+v, %v; want one group_renamed message", msgs, err)
	}
}

func (s *server) groupSend(user ids.ID, clientID string) (int, []byte) {
	s.t.Helper()
	return s.frame(user, "phone", fmt.Sprintf(`{"v":1,"id":"1","type":"send","conversation_id":%q,"client_msg_id":%q,"body":"hi"}`, s.conv, clientID))
}

// pushedTo lists the users each pushed frame of message id went to.
func (s *server) pushedTo(id protocol.MessageID) []ids.ID {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var users []ids.ID
		for _, it := range s.router.snapshot() {
			f, err := protocol.DecodeServerFrame(it.Frame)
			if p, ok := f.(*protocol.MessagePush); err == nil && ok && p.MessageID == id {
				users = append(users, it.Users...)
			}
		}
		if len(users) > 0 || time.Now().After(deadline) {
			slices.Sort(users)
			return users
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestCachedRosterIsDroppedByTheGroupEventSoARemovedMemberStopsAtOnce(t *testing.T) {
	s, roster := newGroupServer(t, alice, bob, carol)
	for i := range 3 {
		if code, body := s.groupSend(alice, fmt.Sprintf("c-%d", i)); code != http.StatusOK {
			t.Fatalf("send %d: %d %s", i, code, body)
		}
	}
	if n := roster.calls.Load(); n != 1 {
		t.Fatalf("%d roster calls for three sends, want 1 (cached)", n)
	}
	roster.set(alice, bob) // carol removed in groupsvc; the event follows
	code, body := s.postEvent(s.client, groupapi.GroupEvent{Group: group, EventID: 10, Kind: groupapi.EventMemberRemoved,
		Actor: alice, Users: []ids.ID{carol}, Removed: []ids.ID{carol}, RosterVersion: 2})
	if code != http.StatusOK {
		t.Fatalf("event: %d %s", code, body)
	}
	var ev groupapi.GroupEventResult
	_ = json.Unmarshal(body, &ev)
	if got := s.pushedTo(protocol.MessageID(ev.MessageID)); !slices.Equal(got, []ids.ID{alice, bob, carol}) {
		t.Fatalf("event pushed to %v, want the members and the removed member", got)
	}
	code, body = s.groupSend(alice, "c-after")
	if code != http.StatusOK {
		t.Fatalf("send after removal: %d %s", code, body)
	}
	var res struct{ Reply json.RawMessage }
	_ = json.Unmarshal(body, &res)
	f, _ := protocol.DecodeServerFrame(res.Reply)
	ack := f.(*protocol.Ack)
	if got := s.pushedTo(ack.MessageID); slices.Contains(got, carol) {
		t.Fatalf("message after the removal pushed to %v: carol must get nothing more", got)
	}
	code, body = s.groupSend(carol, "c-carol")
	wantError(t, code, body, http.StatusNotFound, errs.NotFound)
	code, body = s.do(s.client, http.MethodGet, "/internal/v1/messages/conversations/"+string(s.conv)+"/history", nil, identity(carol, "phone"))
	wantError(t, code, body, http.StatusNotFound, errs.NotFound)
}

func TestReadersRouteListsWhoReceivedAndReadForMembersOnly(t *testing.T) {
	s, _ := newGroupServer(t, alice, bob, carol)
	code, body := s.groupSend(alice, "c-1")
	if code != http.StatusOK {
		t.Fatalf("send: %d %s", code, body)
	}
	var res struct{ Reply json.RawMessage }
	_ = json.Unmarshal(body, &res)
	f, _ := protocol.DecodeServerFrame(res.Reply)
	msg := f.(*protocol.Ack).MessageID
	read := fmt.Sprintf(`{"v":1,"id":"2","type":"read","conversation_id":%q,"up_to":%q}`, s.conv, msg.String())
	if code, body := s.frame(bob, "phone", read); code != http.StatusOK {
		t.Fatalf("read: %d %s", code, body)
	}
	path := "/internal/v1/messages/conversations/" + string(s.conv) + "/messages/" + msg.String() + "/readers"
	code, body = s.do(s.client, http.MethodGet, path, nil, identity(carol, "phone"))
	var readers usecase.GroupReaders
	if code != http.StatusOK || json.Unmarshal(body, &readers) != nil {
		t.Fatalf("readers: %d %s", code, body)
	}
	if readers.Of != 2 || len(readers.Read) != 1 || readers.Read[0].UserID != protocol.UserID(bob) ||
		len(readers.Received) != 1 || readers.Received[0].UserID != protocol.UserID(bob) {
		t.Fatalf("readers %s: want bob received and read, of 2", body)
	}
	code, body = s.do(s.client, http.MethodGet, path, nil, identity(ghost, "phone"))
	wantError(t, code, body, http.StatusNotFound, errs.NotFound)
	code, body = s.do(s.client, http.MethodGet, "/internal/v1/messages/conversations/"+string(s.conv)+"/messages/x/readers", nil, identity(bob, "phone"))
	wantError(t, code, body, http.StatusBadRequest, errs.InvalidArgument)
	code, body = s.do(s.client, http.MethodGet, path, nil, nil)
	wantError(t, code, body, http.StatusUnauthorized, errs.Unauthenticated)
}
