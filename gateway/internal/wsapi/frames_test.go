package wsapi_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/protocol"
)

func TestPingGetsPongWithEchoedID(t *testing.T) {
	e := newEnv(t)
	ws := e.rawAuth(1, "d")
	writeText(t, ws, `{"v":1,"id":"ping-77","type":"ping"}`)
	p, ok := readFrame(t, ws).(*protocol.Pong)
	if !ok || p.ID != "ping-77" || p.ServerTimeMs <= 0 {
		t.Fatalf("pong = %+v", p)
	}
}

func TestBadFramesGetErrorFramesWithCodesAndTheConnectionStays(t *testing.T) {
	e := newEnv(t, withConfig(func(c *wsapi.Config) { c.MaxStrikes = 1000; c.Limits.MaxBodyChars = 100 }))
	ws := e.rawAuth(1, "d")
	max := e.cfg.Limits.MaxFrameBytes
	cases := []struct {
		name, frame string
		code        errs.Code
		id          string
		detail      [2]string
	}{
		{"invalid JSON", `{"v":1,"id":"j1","type":`, errs.InvalidArgument, "", [2]string{}},
		{"not an object", `[1,2,3]`, errs.InvalidArgument, "", [2]string{}},
		{"unknown type", `{"v":1,"id":"u1","type":"dance"}`, errs.InvalidArgument, "u1", [2]string{"reason", "unknown_type"}},
		{"server type", `{"v":1,"id":"s1","type":"welcome"}`, errs.InvalidArgument, "s1", [2]string{}},
		{"wrong version", `{"v":2,"id":"v2","type":"ping"}`, errs.InvalidArgument, "v2", [2]string{"supported", "1"}},
		{"missing id", `{"v":1,"type":"ping"}`, errs.InvalidArgument, "", [2]string{}},
		{"id with space", `{"v":1,"id":"a b","type":"ping"}`, errs.InvalidArgument, "", [2]string{}},
		{"invalid UTF-8", "{\"v\":1,\"id\":\"x\",\"type\":\"ping\",\"y\":\"\xff\"}", errs.InvalidArgument, "", [2]string{}},
		{"wrong field type", `{"v":1,"id":"w1","type":"send","conversation_id":5}`, errs.InvalidArgument, "w1", [2]string{"field", "send.conversation_id"}},
		{"body too long", `{"v":1,"id":"b1","type":"send","conversation_id":"d:1:2","client_msg_id":"c","body":"` +
			strings.Repeat("x", e.cfg.Limits.MaxBodyChars+1) + `"}`, errs.PayloadTooLarge, "b1", [2]string{"limit", "max_body_chars"}},
		{"oversized frame", `{"v":1,"id":"o1","type":"ping","pad":"` + strings.Repeat("x", 2*max) + `"}`,
			errs.PayloadTooLarge, "", [2]string{"limit", "max_frame_bytes"}},
	}
	for _, tc := range cases {
		writeText(t, ws, tc.frame)
		ef := readError(t, ws)
		if ef.Code != tc.code || ef.ID != tc.id || ef.Retryable {
			t.Errorf("%s: error = %+v, want code %s id %q", tc.name, ef, tc.code, tc.id)
		}
		if tc.detail[0] != "" && ef.Details[tc.detail[0]] != tc.detail[1] {
			t.Errorf("%s: details = %v, want %s=%s", tc.name, ef.Details, tc.detail[0], tc.detail[1])
		}
	}
	writeText(t, ws, `{"v":1,"id":"alive","type":"ping"}`)
	if f := readFrame(t, ws); f.FrameType() != protocol.TypePong || f.FrameHeader().ID != "alive" {
		t.Fatalf("after bad frames: %s %+v", f.FrameType(), f)
	}
	if v := e.metric("gateway_frames_rejected_total"); v != float64(len(cases)) {
		t.Fatalf("rejected frames metric = %v, want %d", v, len(cases))
	}
}

func TestFrameAboveFourTimesTheLimitClosesWith1009(t *testing.T) {
	e := newEnv(t)
	ws := e.rawAuth(1, "d")
	huge := `{"v":1,"id":"h","type":"ping","pad":"` + strings.Repeat("x", 4*e.cfg.Limits.MaxFrameBytes+1) + `"}`
	go func() { _ = ws.WriteMessage(websocket.TextMessage, []byte(huge)) }()
	expectClose(t, ws, 1009)
	eventually(t, "connection removed", func() bool { return e.hub.Count() == 0 })
	if v := e.metric("gateway_closes_total", "reason", "frame_too_large"); v != 1 {
		t.Fatalf("frame_too_large closes = %v", v)
	}
}

func TestBinaryMessageGetsInvalidArgumentError(t *testing.T) {
	e := newEnv(t)
	ws := e.rawAuth(1, "d")
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte{0x82, 0x01}); err != nil {
		t.Fatal(err)
	}
	ef := readError(t, ws)
	if ef.Code != errs.InvalidArgument || !strings.Contains(ef.Message, "binary") {
		t.Fatalf("binary message answered %+v", ef)
	}
	writeText(t, ws, `{"v":1,"id":"2","type":"ping"}`)
	if f := readFrame(t, ws); f.FrameType() != protocol.TypePong {
		t.Fatalf("got %s", f.FrameType())
	}
}

func TestMaxStrikesBadFramesInARowCloseWith4004(t *testing.T) {
	e := newEnv(t) // MaxStrikes 5
	ws := e.rawAuth(1, "d")
	for i := range e.cfg.MaxStrikes {
		writeText(t, ws, `{"v":1,"id":"`+strconv.Itoa(i)+`","type":"nope"}`)
	}
	frames := expectClose(t, ws, 4004)
	if len(frames) != e.cfg.MaxStrikes {
		t.Fatalf("got %d error frames before the close, want %d", len(frames), e.cfg.MaxStrikes)
	}
	if v := e.metric("gateway_closes_total", "reason", "abuse"); v != 1 {
		t.Fatalf("abuse closes = %v", v)
	}
}

func TestAGoodFrameResetsStrikes(t *testing.T) {
	e := newEnv(t)
	ws := e.rawAuth(1, "d")
	for round := range 3 {
		for i := range e.cfg.MaxStrikes - 1 {
			writeText(t, ws, `{"v":1,"id":"b`+strconv.Itoa(round*10+i)+`","type":"nope"}`)
			readError(t, ws)
		}
		writeText(t, ws, `{"v":1,"id":"p`+strconv.Itoa(round)+`","type":"ping"}`)
		if f := readFrame(t, ws); f.FrameType() != protocol.TypePong {
			t.Fatalf("round %d: got %s", round, f.FrameType())
		}
	}
}

func TestRateLimitExceededGetsRateLimitedWithRetryAfter(t *testing.T) {
	e := newEnv(t, withConfig(func(c *wsapi.Config) {
		c.Rates = map[string]protocol.RateLimit{
			protocol.RateFrames: {PerMinute: 60, Burst: 4},
			protocol.RateSend:   {PerMinute: 6, Burst: 1},
		}
	}))
	c := e.connect(1, "d")
	if rl := c.Welcome().RateLimits; rl[protocol.RateSend].Burst != 1 || rl[protocol.RateFrames].PerMinute != 60 {
		t.Fatalf("welcome rate limits = %+v", rl)
	}
	// The send bucket holds one.
	if _, err := c.Send(ctx5(t), "d:1:2", "c1", "hi"); err != nil {
		t.Fatalf("first send: %v", err)
	}
	_, err := c.Send(ctx5(t), "d:1:2", "c2", "hi")
	if e, ok := errs.As(err); !ok || e.Code != errs.RateLimited || e.RetryAfterMs != 10_000 || e.Details["limit"] != "send" {
		t.Fatalf("second send = %#v, want rate_limited for send with retry_after_ms 10000", err)
	}
	// Two frames used of the burst of 4: two more pings pass, the next is limited.
	for i := range 2 {
		if _, err := c.Ping(ctx5(t)); err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
	}
	_, err = c.Ping(ctx5(t))
	if e, ok := errs.As(err); !ok || e.Code != errs.RateLimited || e.RetryAfterMs != 1000 || e.Details["limit"] != "frames" {
		t.Fatalf("ping over the frame budget = %#v", err)
	}
	if !errs.RateLimited.Retryable() {
		t.Fatal("rate_limited must be retryable")
	}
	if got := len(e.upstream.requests()); got != 1 {
		t.Fatalf("upstream got %d sends, want 1 (the limited one must not be relayed)", got)
	}
}

func TestFloodOfRateLimitedFramesEndsWith4004(t *testing.T) {
	e := newEnv(t, withConfig(func(c *wsapi.Config) {
		c.Rates = map[string]protocol.RateLimit{protocol.RateFrames: {PerMinute: 1, Burst: 1}}
	}))
	ws := e.rawAuth(1, "d")
	for i := range e.cfg.MaxStrikes + 1 {
		writeText(t, ws, `{"v":1,"id":"f`+strconv.Itoa(i)+`","type":"ping"}`)
	}
	frames := expectClose(t, ws, 4004)
	if len(frames) != e.cfg.MaxStrikes+1 || !strings.Contains(string(frames[1]), "rate_limited") {
		t.Fatalf("frames before the close: %q", frames)
	}
}

func TestAuthFrameDoesNotSpendTheFrameBudget(t *testing.T) {
	e := newEnv(t, withConfig(func(c *wsapi.Config) {
		c.Rates = map[string]protocol.RateLimit{protocol.RateFrames: {PerMinute: 1, Burst: 1}}
	}))
	// The auth frame itself is never limited, and the burst starts after it.
	ws := e.rawAuth(1, "d")
	writeText(t, ws, `{"v":1,"id":"p","type":"ping"}`)
	if f := readFrame(t, ws); f.FrameType() != protocol.TypePong {
		t.Fatalf("first frame after auth got %s", f.FrameType())
	}
}
