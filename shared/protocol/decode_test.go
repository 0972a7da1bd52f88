package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parleychat/parley/shared/errs"
)

const conv = `"d:118242603245961216:118242718090166272"`

func sendWith(fields string) string {
	return `{"v":1,"id":"7","type":"send","conversation_id":` + conv + `,"client_msg_id":"c1"` + fields + `}`
}

func quotedIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf(`"%d"`, 118274011213066240+i)
	}
	return strings.Join(ids, ",")
}

func TestDecodeRejectsBadInput(t *testing.T) {
	lim := DefaultLimits()
	tests := []struct {
		name, in string
		code     errs.Code
		msg      string // substring of the message
	}{
		{"empty input", ``, errs.InvalidArgument, "malformed JSON"},
		{"malformed JSON", `{"v":1,"id":"1","type":"ping"`, errs.InvalidArgument, "malformed JSON"},
		{"trailing garbage", `{"v":1,"id":"1","type":"ping"} x`, errs.InvalidArgument, "malformed JSON"},
		{"not an object", `[1,2]`, errs.InvalidArgument, "frame: got array, want a JSON object"},
		{"missing version", `{"id":"1","type":"ping"}`, errs.InvalidArgument, "v: required"},
		{"wrong version", `{"v":2,"id":"1","type":"ping"}`, errs.InvalidArgument, "v: unsupported version 2, want 1"},
		{"version as string", `{"v":"1","id":"1","type":"ping"}`, errs.InvalidArgument, "v: got string, want an integer"},
		{"missing type", `{"v":1,"id":"1"}`, errs.InvalidArgument, "type: required"},
		{"unknown type", `{"v":1,"id":"1","type":"shout"}`, errs.InvalidArgument, `type: unknown frame type "shout"`},
		{"server type from client", `{"v":1,"id":"1","type":"message"}`, errs.InvalidArgument, `"message" is sent by the server only`},
		{"id as number", `{"v":1,"id":1,"type":"ping"}`, errs.InvalidArgument, "id: got number, want a string"},
		{"missing id on request", `{"v":1,"type":"ping"}`, errs.InvalidArgument, "ping.id: required"},
		{"over-long id", `{"v":1,"id":"` + strings.Repeat("x", 65) + `","type":"ping"}`, errs.InvalidArgument, "ping.id: 65 bytes, max 64"},
		{"id with space", `{"v":1,"id":"a b","type":"ping"}`, errs.InvalidArgument, "ping.id: byte 0x20 at offset 1"},
		{"over-long body", sendWith(`,"body":"` + strings.Repeat("é", 4097) + `"`), errs.PayloadTooLarge, "send.body: 4097 chars, max 4096"},
		{"body of wrong type", sendWith(`,"body":5`), errs.InvalidArgument, "send.body: got number, want a string"},
		{"nothing to send", sendWith(``), errs.InvalidArgument, "send.body: required unless attachment_ids is set"},
		{"too many attachments", sendWith(`,"attachment_ids":[` + quotedIDs(11) + `]`), errs.InvalidArgument, "send.attachment_ids: 11 ids, max 10"},
		{"duplicate attachment", sendWith(`,"attachment_ids":["5","5"]`), errs.InvalidArgument, "send.attachment_ids[1]: duplicate of attachment_ids[0]"},
		{"attachment id as number", sendWith(`,"attachment_ids":[5]`), errs.InvalidArgument, "send.attachment_ids: got number 5, want a decimal id string"},
		{"empty client id", `{"v":1,"id":"7","type":"send","conversation_id":` + conv + `,"client_msg_id":"","body":"hi"}`, errs.InvalidArgument, "send.client_msg_id: required"},
		{"client id with control byte", `{"v":1,"id":"7","type":"send","conversation_id":` + conv + `,"client_msg_id":"a\u0001","body":"hi"}`, errs.InvalidArgument, "send.client_msg_id: byte 0x01"},
		{"missing conversation", `{"v":1,"id":"7","type":"send","client_msg_id":"c1","body":"hi"}`, errs.InvalidArgument, "send.conversation_id: required"},
		{"direct ids out of order", `{"v":1,"id":"7","type":"send","conversation_id":"d:2:1","client_msg_id":"c1","body":"hi"}`, errs.InvalidArgument, `send.conversation_id: got string "d:2:1", want a conversation id`},
		{"direct with oneself", `{"v":1,"id":"9","type":"read","conversation_id":"d:5:5","up_to":"1"}`, errs.InvalidArgument, "read.conversation_id"},
		{"non-canonical group id", `{"v":1,"id":"9","type":"typing","conversation_id":"g:007","active":true}`, errs.InvalidArgument, "typing.conversation_id"},
		{"unknown conversation kind", `{"v":1,"id":"9","type":"typing","conversation_id":"c:1","active":true}`, errs.InvalidArgument, "typing.conversation_id"},
		{"bad message id string", `{"v":1,"id":"9","type":"read","conversation_id":` + conv + `,"up_to":"12a"}`, errs.InvalidArgument, `read.up_to: got string "12a", want a decimal id string`},
		{"negative message id", `{"v":1,"id":"9","type":"read","conversation_id":` + conv + `,"up_to":"-5"}`, errs.InvalidArgument, "read.up_to"},
		{"zero message id", `{"v":1,"id":"9","type":"read","conversation_id":` + conv + `,"up_to":"0"}`, errs.InvalidArgument, "read.up_to: required"},
		{"message id as number", `{"v":1,"id":"8","type":"received","conversation_id":` + conv + `,"message_ids":[118274011213066240]}`, errs.InvalidArgument, "received.message_ids: got number 118274011213066240, want a decimal id string"},
		{"missing watermark", `{"v":1,"id":"9","type":"read","conversation_id":` + conv + `}`, errs.InvalidArgument, "read.up_to: required"},
		{"no ids to ack", `{"v":1,"id":"8","type":"received","conversation_id":` + conv + `,"message_ids":[]}`, errs.InvalidArgument, "received.message_ids: required"},
		{"too many ids to ack", `{"v":1,"id":"8","type":"received","conversation_id":` + conv + `,"message_ids":[` + quotedIDs(101) + `]}`, errs.InvalidArgument, "received.message_ids: 101 ids, max 100"},
		{"history both bounds", `{"v":1,"id":"11","type":"history","conversation_id":` + conv + `,"before":"9","after":"3"}`, errs.InvalidArgument, "history.after: before and after are mutually exclusive"},
		{"history limit too high", `{"v":1,"id":"11","type":"history","conversation_id":` + conv + `,"limit":101}`, errs.InvalidArgument, "history.limit: 101 out of range 0..100"},
		{"history limit fractional", `{"v":1,"id":"11","type":"history","conversation_id":` + conv + `,"limit":1.5}`, errs.InvalidArgument, "history.limit: got number 1.5, want an integer"},
		{"sync negative limit", `{"v":1,"id":"2","type":"sync","limit":-1}`, errs.InvalidArgument, "sync.limit: -1 out of range"},
		{"sync over-long cursor", `{"v":1,"id":"2","type":"sync","cursor":"` + strings.Repeat("c", 257) + `"}`, errs.InvalidArgument, "sync.cursor: 257 bytes, max 256"},
		{"refresh without token", `{"v":1,"id":"42","type":"refresh","token":""}`, errs.InvalidArgument, "refresh.token: required"},
		{"typing active as string", `{"v":1,"id":"10","type":"typing","conversation_id":` + conv + `,"active":"yes"}`, errs.InvalidArgument, "typing.active: got string, want a boolean"},
		{"invalid UTF-8", "{\"v\":1,\"id\":\"7\",\"type\":\"send\",\"conversation_id\":" + conv + ",\"client_msg_id\":\"c1\",\"body\":\"\xff\"}", errs.InvalidArgument, "frame: invalid UTF-8"},
		{"frame above max size", sendWith(`,"body":"hi","pad":"` + strings.Repeat(" ", lim.MaxFrameBytes) + `"`), errs.PayloadTooLarge, "bytes, max 65536"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode([]byte(tc.in), lim)
			if err == nil {
				t.Fatalf("accepted: %#v", f)
			}
			if f != nil {
				t.Errorf("returned a frame with the error")
			}
			e, ok := errs.As(err)
			if !ok {
				t.Fatalf("error is %T, want *errs.Error: %v", err, err)
			}
			if e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", e.Code, e.Message, tc.code, tc.msg)
			}
		})
	}
}

func TestDecodeErrorsCarryPreciseMessagesAndDetails(t *testing.T) {
	_, err := Decode([]byte(sendWith(`,"body":"`+strings.Repeat("a", 4097)+`"`)), DefaultLimits())
	e, _ := errs.As(err)
	if e == nil || e.Message != "send.body: 4097 chars, max 4096" {
		t.Fatalf("message = %v", err)
	}
	want := map[string]string{"field": "send.body", "limit": "max_body_chars", "max": "4096"}
	if fmt.Sprint(e.Details) != fmt.Sprint(want) {
		t.Fatalf("details = %v, want %v", e.Details, want)
	}
}

func TestDecodeAcceptsEdgesAndToleratesUnknownFields(t *testing.T) {
	lim := DefaultLimits()
	for name, in := range map[string]string{
		"unknown fields are ignored": `{"v":1,"id":"1","type":"ping","future":{"x":[1,2]},"flag":true}`,
		"body at max chars":          sendWith(`,"body":"` + strings.Repeat("🥗", 4096) + `"`),
		"attachments only":           sendWith(`,"attachment_ids":[` + quotedIDs(10) + `]`),
		"auth token from upgrade":    `{"v":1,"id":"1","type":"auth"}`,
		"nulls mean absent":          `{"v":1,"id":"2","type":"sync","cursor":null,"limit":null}`,
		"ids at max count":           `{"v":1,"id":"8","type":"received","conversation_id":` + conv + `,"message_ids":[` + quotedIDs(100) + `]}`,
		"history newest page":        `{"v":1,"id":"11","type":"history","conversation_id":"g:1"}`,
	} {
		if _, err := Decode([]byte(in), lim); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecodeServerFrame(t *testing.T) {
	if _, err := DecodeServerFrame([]byte(`{"v":1,"id":"1","type":"ping"}`)); err == nil {
		t.Error("client frame accepted as a server frame")
	}
	_, err := DecodeServerFrame([]byte(`{"v":1,"type":"reaction","emoji":"👍"}`))
	if e, ok := errs.As(err); !ok || e.Details["reason"] != "unknown_type" {
		t.Errorf("unknown server type: %v (clients skip these by the reason detail)", err)
	}
	f, err := DecodeServerFrame([]byte(`{"v":1,"type":"goaway","reason":"drain","reconnect_after_ms":10,"close_in_ms":20,"new":1}`))
	if err != nil || f.(*GoAway).ReconnectAfterMs != 10 {
		t.Errorf("goaway = %#v, %v", f, err)
	}
}

func TestValidateCatchesFramesBuiltInGo(t *testing.T) {
	lim := DefaultLimits()
	for name, f := range map[string]ClientFrame{
		"zero ack id":        &Received{Header: Header{ID: "1"}, ConversationID: direct(), MessageIDs: []MessageID{msg1, 0}},
		"malformed conv":     &Typing{Header: Header{ID: "1"}, ConversationID: "d:01:2"},
		"invalid UTF-8 body": &Send{Header: Header{ID: "1"}, ConversationID: direct(), ClientMsgID: "c", Body: "\xff"},
		"negative bound":     &History{Header: Header{ID: "1"}, ConversationID: direct(), Before: -1},
		"missing id":         &Ping{},
	} {
		if err := f.Validate(lim); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("%s: Validate = %v, want invalid_argument", name, err)
		}
	}
	if err := (&Ping{Header: Header{ID: "p"}}).Validate(lim); err != nil {
		t.Errorf("valid ping: %v (must be an untyped nil)", err)
	}
}

func TestPeekID(t *testing.T) {
	lim := DefaultLimits()
	for in, want := range map[string]string{
		`{"v":9,"id":"abc","type":"nope"}`:         "abc",
		`{"id":"x y"}`:                             "",
		`{"id":"` + strings.Repeat("x", 65) + `"}`: "",
		`not json`: "",
		`{"v":1,"id":"7","type":"send","body":true}`: "7",
	} {
		if got := PeekID([]byte(in), lim); got != want {
			t.Errorf("PeekID(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorFrame(t *testing.T) {
	limitErr := errs.New(errs.LimitExceeded, "group is full").WithDetail("limit", "group_size").WithDetail("max", "256")
	tests := []struct {
		name      string
		err       error
		code      errs.Code
		msg       string
		retryable bool
		after     int64
	}{
		{"typed error keeps message and details", limitErr, errs.LimitExceeded, "group is full", false, 0},
		{"wrapped typed error", fmt.Errorf("send: %w", errs.New(errs.NotFound, "conversation not found")), errs.NotFound, "conversation not found", false, 0},
		{"retry hint", &errs.Error{Code: errs.RateLimited, Message: "slow down", RetryAfterMs: 1500}, errs.RateLimited, "slow down", true, 1500},
		{"plain error never leaks", errors.New("dial tcp 10.0.0.7:9042: password=hunter2"), errs.Internal, "internal error", false, 0},
		{"internal code never leaks", errs.Wrap(errors.New("x"), errs.Internal, "nil map in shard 3"), errs.Internal, "internal error", false, 0},
		{"unknown code becomes internal", errs.New("weird", "secret"), errs.Internal, "internal error", false, 0},
		{"context deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), errs.DeadlineExceeded, "deadline exceeded", true, 0},
		{"nil error", nil, errs.Internal, "internal error", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ErrorFrame("req-1", tc.err)
			if f.ID != "req-1" || f.Code != tc.code || f.Message != tc.msg || f.Retryable != tc.retryable || f.RetryAfterMs != tc.after {
				t.Fatalf("got %+v", f)
			}
			if tc.code == errs.Internal && f.Details != nil {
				t.Fatalf("internal error leaked details %v", f.Details)
			}
		})
	}
	f := ErrorFrame("", limitErr)
	limitErr.Details["max"] = "changed"
	if f.Details["max"] != "256" {
		t.Error("ErrorFrame shares the details map with the error")
	}
	if back := f.Err(); back.Code != errs.LimitExceeded || back.Details["limit"] != "group_size" {
		t.Errorf("Err() = %+v", back)
	}
	if got := string(Encode(ErrorFrame("", errors.New("boom")))); got != `{"v":1,"type":"error","code":"internal","message":"internal error","retryable":false}` {
		t.Errorf("encoded = %s", got)
	}
}

func TestConversationIDs(t *testing.T) {
	c1, err1 := DirectConversation(bob, alice)
	c2, err2 := DirectConversation(alice, bob)
	if err1 != nil || err2 != nil || c1 != c2 || c1 != "d:118242603245961216:118242718090166272" {
		t.Fatalf("direct = %q %q (%v %v), want one id in low:high order", c1, c2, err1, err2)
	}
	if lo, hi, ok := c1.Direct(); !ok || lo != alice || hi != bob || c1.IsGroup() {
		t.Fatalf("Direct() = %v %v %v", lo, hi, ok)
	}
	if _, err := DirectConversation(alice, alice); err == nil {
		t.Error("conversation with oneself accepted")
	}
	if _, err := DirectConversation(0, alice); err == nil {
		t.Error("zero user accepted")
	}
	g := GroupConversation(team)
	if id, ok := g.Group(); !ok || id != team || !g.IsGroup() || g != "g:118260187316453376" {
		t.Fatalf("group = %q", g)
	}
	for _, s := range []string{"d:1:2", "g:1", "g:9223372036854775807"} {
		if _, err := ParseConversationID(s); err != nil {
			t.Errorf("%q rejected: %v", s, err)
		}
	}
	for _, s := range []string{"", "d:", "d:1", "d:2:1", "d:1:1", "d:01:2", "d:+1:2", "d:1:2:3", "g:", "g:0", "g:-1", "g:1x",
		"g:9223372036854775808", "G:1", " g:1", "x:1"} {
		if _, err := ParseConversationID(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestLimits(t *testing.T) {
	lim := DefaultLimits()
	if err := lim.Validate(); err != nil {
		t.Fatal(err)
	}
	if lim.PageSize(0) != lim.DefaultPageSize || lim.PageSize(7) != 7 {
		t.Error("PageSize")
	}
	bad := lim
	bad.MaxAckIDs = 0
	if bad.Validate() == nil {
		t.Error("zero limit accepted")
	}
	bad = lim
	bad.DefaultPageSize = lim.MaxPageSize + 1
	if bad.Validate() == nil {
		t.Error("default page above max accepted")
	}
}

func FuzzDecode(f *testing.F) {
	golden, _ := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	for _, path := range golden {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.TrimSpace(data))
	}
	for _, s := range []string{``, `{}`, `[]`, `null`, `{"v":1}`, `{"v":1,"id":"1","type":"ping"}`,
		sendWith(`,"body":"x"`), "{\"v\":1,\"type\":\"\xff\"}", `{"v":1,"id":"1","type":"send","conversation_id":"d:1:2"`} {
		f.Add([]byte(s))
	}
	lim := DefaultLimits()
	lim.MaxFrameBytes = 4096 // lets the fuzzer reach the size check
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := Decode(data, lim)
		checkDecoded(t, "Decode", fr, err, func(b []byte) (Frame, error) { return Decode(b, lim) })
		fr, err = DecodeServerFrame(data)
		checkDecoded(t, "DecodeServerFrame", fr, err, DecodeServerFrame)
		_ = PeekID(data, lim)
	})
}

// checkDecoded asserts the decoder contract: a typed client-safe error, or a
// frame whose encoding decodes to a frame with the same encoding.
func checkDecoded(t *testing.T, name string, fr Frame, err error, decode func([]byte) (Frame, error)) {
	t.Helper()
	if err != nil {
		e, ok := errs.As(err)
		if !ok || (e.Code != errs.InvalidArgument && e.Code != errs.PayloadTooLarge) || fr != nil {
			t.Fatalf("%s: error %T %v (frame %v), want *errs.Error invalid_argument or payload_too_large and no frame", name, err, err, fr)
		}
		if !utf8.ValidString(e.Message) || e.Message == "" {
			t.Fatalf("%s: message %q is empty or not UTF-8", name, e.Message)
		}
		return
	}
	enc := Encode(fr)
	again, err := decode(enc)
	if err != nil {
		t.Fatalf("%s: re-encoded frame %s does not decode: %v", name, enc, err)
	}
	if enc2 := Encode(again); !bytes.Equal(enc, enc2) {
		t.Fatalf("%s: encoding not stable\n%s\n%s", name, enc, enc2)
	}
}
