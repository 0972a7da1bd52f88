package wsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/frameapi"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/wsclient"
)

func TestRefreshForSameUserAndDeviceExtendsTheSession(t *testing.T) {
	e := newEnv(t)
	c, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(42, "phone", time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := e.hub.Get(42, "phone").ExpiresAt()
	r, err := c.Refresh(ctx5(t), e.token(42, "phone", 2*time.Hour))
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	after := e.hub.Get(42, "phone").ExpiresAt()
	if !after.After(before.Add(time.Hour)) || r.SessionExpiresAtMs != protocol.MillisOf(after) {
		t.Fatalf("expiry %v → %v, refreshed says %v", before, after, r.SessionExpiresAtMs.Time())
	}
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshForAnotherUserOrDeviceIsPermissionDeniedAndSessionRunsOn(t *testing.T) {
	e := newEnv(t)
	c := e.connect(42, "phone")
	before := e.hub.Get(42, "phone").ExpiresAt()
	for _, tok := range []string{e.token(43, "phone", 2*time.Hour), e.token(42, "laptop", 2*time.Hour)} {
		if _, err := c.Refresh(ctx5(t), tok); errs.CodeOf(err) != errs.PermissionDenied {
			t.Fatalf("refresh with a foreign token = %v, want permission_denied", err)
		}
	}
	if after := e.hub.Get(42, "phone").ExpiresAt(); !after.Equal(before) {
		t.Fatalf("a refused refresh moved the expiry %v → %v", before, after)
	}
	if _, err := c.Refresh(ctx5(t), "garbage"); errs.CodeOf(err) != errs.Unauthenticated {
		t.Fatalf("refresh with garbage = %v, want unauthenticated", err)
	}
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatalf("session ended after refused refreshes: %v", err)
	}
}

func TestSendIsRelayedWithIdentityFromTheTokenAndTheReplyWrittenBack(t *testing.T) {
	e := newEnv(t)
	c := e.connect(42, "phone")
	// The frame claims to come from someone else; only the token counts.
	raw := `{"v":1,"id":"s1","type":"send","conversation_id":"d:42:43","client_msg_id":"c-1","body":"hi","sender_id":"43","user_id":"43","device_id":"evil"}`
	f, err := c.RequestRaw(ctx5(t), "s1", []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	ack, ok := f.(*protocol.Ack)
	if !ok || ack.ID != "s1" || ack.ClientMsgID != "c-1" || ack.MessageID != 1000 {
		t.Fatalf("reply = %+v", f)
	}
	reqs := e.upstream.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	r := reqs[0]
	if r.UserID != 42 || r.DeviceID != "phone" || r.GatewayID != "gw-test" || string(r.Frame) != raw {
		t.Fatalf("upstream request = %+v %s", r, r.Frame)
	}
	if v := e.metric("gateway_frames_in_total", "type", "send"); v != 1 {
		t.Fatalf("frames_in{send} = %v", v)
	}
}

func TestFramesOfOneConnectionAreRelayedInOrder(t *testing.T) {
	e := newEnv(t)
	c := e.connect(1, "d")
	const n = 50
	for i := range n {
		id := "t" + strconv.Itoa(i)
		if err := c.WriteRaw(1, []byte(`{"v":1,"id":"`+id+`","type":"typing","conversation_id":"d:1:2","active":true}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Ping(ctx5(t)); err != nil { // answered after every typing was relayed
		t.Fatal(err)
	}
	reqs := e.upstream.requests()
	if len(reqs) != n {
		t.Fatalf("relayed %d of %d", len(reqs), n)
	}
	for i, r := range reqs {
		var h struct{ ID string }
		_ = json.Unmarshal(r.Frame, &h)
		if h.ID != "t"+strconv.Itoa(i) {
			t.Fatalf("request %d is %s", i, h.ID)
		}
	}
}

func TestUpstreamErrorsBecomeErrorFramesWithTheirCodeAndRequestID(t *testing.T) {
	e := newEnv(t, withConfig(func(c *wsapi.Config) { c.UpstreamTimeout = 50 * time.Millisecond }))
	c := e.connect(1, "d")
	cases := []struct {
		err       error
		code      errs.Code
		message   string
		retryable bool
	}{
		{errs.New(errs.PermissionDenied, "not a member of d:1:2"), errs.PermissionDenied, "not a member of d:1:2", false},
		{&errs.Error{Code: errs.Unavailable, Message: "store down", RetryAfterMs: 300}, errs.Unavailable, "store down", true},
		{errors.New("cassandra: host 10.0.0.7 timed out"), errs.Internal, "internal error", false},
		{errs.Wrap(errors.New("secret detail"), errs.Internal, "boom at 10.0.0.7"), errs.Internal, "internal error", false},
		{nil, errs.DeadlineExceeded, "", true}, // the stub outlives UpstreamTimeout
	}
	for i, tc := range cases {
		e.upstream.setHandle(func(ctx context.Context, _ frameapi.Request) ([]byte, error) {
			if tc.err == nil {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return nil, tc.err
		})
		id := "s" + strconv.Itoa(i)
		_, err := c.Request(ctx5(t), &protocol.Send{Header: protocol.Header{ID: id}, ConversationID: "d:1:2", ClientMsgID: "c", Body: "x"})
		ee, ok := errs.As(err)
		if !ok || ee.Code != tc.code || (tc.message != "" && ee.Message != tc.message) || ee.Code.Retryable() != tc.retryable {
			t.Fatalf("case %d: error = %#v, want %s %q", i, err, tc.code, tc.message)
		}
		if tc.code == errs.Unavailable && ee.RetryAfterMs != 300 {
			t.Fatalf("retry hint lost: %+v", ee)
		}
	}
	// Upstream failures are not the client's fault: the connection stays.
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatal(err)
	}
}

func TestFramesWithoutAnUpstreamGetUnavailableAndNeverCloseTheConnection(t *testing.T) {
	e := newEnv(t, withoutUpstreams())
	c := e.connect(1, "d")
	for i := range 3 * e.cfg.MaxStrikes {
		_, err := c.Request(ctx5(t), &protocol.Typing{ConversationID: "d:1:2", Active: true})
		if ee, ok := errs.As(err); !ok || ee.Code != errs.Unavailable || !ee.Code.Retryable() {
			t.Fatalf("typing %d = %v, want unavailable", i, err)
		}
	}
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatalf("connection closed for a server-side gap: %v", err)
	}
}

func TestFrameWithoutReplyGetsNothingBack(t *testing.T) {
	e := newEnv(t)
	c := e.connect(1, "d")
	if err := c.WriteRaw(1, []byte(`{"v":1,"id":"r1","type":"read","conversation_id":"d:1:2","up_to":"5"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-c.Pushes():
		t.Fatalf("unexpected frame %s", p.Raw)
	default:
	}
}

func TestTwoDevicesOfOneUserAreBothRegisteredAndBothGetPushes(t *testing.T) {
	e := newEnv(t)
	phone := e.connect(42, "phone")
	laptop := e.connect(42, "laptop")
	if e.hub.Get(42, "phone") == nil || e.hub.Get(42, "laptop") == nil {
		t.Fatal("hub lost a device")
	}
	if ev := e.listener.Events(); len(ev) != 2 || ev[0] != "+42/phone" || ev[1] != "+42/laptop" {
		t.Fatalf("router told %v", ev)
	}
	res := e.hub.Push(routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: []byte(`{"v":1,"type":"goaway","reason":"x","reconnect_after_ms":1,"close_in_ms":1}`),
		Conns: []routerapi.Conn{{UserID: 42, DeviceID: "phone"}, {UserID: 42, DeviceID: "laptop"}}}}})
	if res.Delivered != 2 || len(res.Missing) != 0 {
		t.Fatalf("push = %+v", res)
	}
	for _, c := range []*wsclient.Client{phone, laptop} {
		if p := nextPush(t, c); p.Frame == nil || p.Frame.FrameType() != protocol.TypeGoAway {
			t.Fatalf("push = %s", p.Raw)
		}
	}
	_ = phone.Close()
	eventually(t, "phone detached", func() bool { return len(e.listener.Events()) == 3 })
	if ev := e.listener.Events(); ev[2] != "-42/phone" || e.hub.Get(42, "laptop") == nil {
		t.Fatalf("router told %v", ev)
	}
}

func TestSameDeviceConnectingAgainReplacesTheOldConnectionWithClose1000(t *testing.T) {
	e := newEnv(t)
	old := e.connect(42, "phone")
	oldConn := e.hub.Get(42, "phone")
	fresh := e.connect(42, "phone")
	if ce := waitClose(t, old, 1000); ce.Reconnect {
		t.Fatal("a replaced connection must not reconnect on its own")
	}
	eventually(t, "old connection removed", func() bool { return e.hub.Count() == 1 })
	if cur := e.hub.Get(42, "phone"); cur == nil || cur == oldConn {
		t.Fatal("hub does not hold the new connection")
	}
	// The router was told about the device twice and never told it left:
	// the removal of the replaced connection must not detach the live one.
	if ev := e.listener.Events(); len(ev) != 2 || ev[0] != "+42/phone" || ev[1] != "+42/phone" {
		t.Fatalf("router told %v", ev)
	}
	if v := e.metric("gateway_authenticated_connections"); v != 1 {
		t.Fatalf("authenticated gauge = %v, want 1", v)
	}
	if _, err := fresh.Ping(ctx5(t)); err != nil {
		t.Fatal(err)
	}
}

func TestDeviceCapGetsLimitExceededAndKeepsTheGaugeRight(t *testing.T) {
	e := newEnv(t, withMaxPerUser(2))
	e.connect(42, "a")
	e.connect(42, "b")
	c := e.dial(wsclient.Options{})
	_, err := c.Auth(ctx5(t), e.token(42, "c", time.Hour))
	if ee, ok := errs.As(err); !ok || ee.Code != errs.LimitExceeded || ee.Details["limit"] != "devices_per_user" {
		t.Fatalf("third device = %#v, want limit_exceeded", err)
	}
	waitClose(t, c, errs.Lookup(errs.LimitExceeded).Close)
	eventually(t, "refused connection removed", func() bool { return e.hub.Count() == 2 })
	if e.hub.Get(42, "c") != nil {
		t.Fatal("hub holds the refused device")
	}
	if v := e.metric("gateway_authenticated_connections"); v != 2 {
		t.Fatalf("authenticated gauge = %v, want 2", v)
	}
	// Another user is not affected by 42's cap, and a replacement of a
	// device already connected does not count against it.
	e.connect(43, "a")
	e.connect(42, "a")
	if ev := e.listener.Events(); len(ev) != 4 {
		t.Fatalf("router told %v", ev)
	}
}
