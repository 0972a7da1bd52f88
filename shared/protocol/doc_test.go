package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley/shared/errs"
)

// PROTOCOL.md is partly generated: the tables between BEGIN/END markers and
// the example after each golden marker. `go test -update` rewrites them; a
// plain run fails when they are out of date. Edit the descriptions here.

const docPath = "PROTOCOL.md"

var errorCodeDocs = map[errs.Code]string{
	errs.InvalidArgument:    "The frame or one of its fields is malformed or out of range. `message` names the field (`send.body: …`), `details.field` too. Fix the request; do not retry it unchanged.",
	errs.Unauthenticated:    "No valid credentials: missing, malformed or rejected token, or a frame other than `auth` before the session started.",
	errs.TokenExpired:       "The access token has expired. Send `refresh` with a fresh token (or reconnect with one).",
	errs.PermissionDenied:   "Authenticated but not allowed: not a member of the conversation, or a `refresh` token for another user or device.",
	errs.NotFound:           "The conversation, message or media object does not exist or is not visible to this user.",
	errs.AlreadyExists:      "The object already exists. Never used for a retried `send`: that gets the original `ack`.",
	errs.FailedPrecondition: "Not possible in the current state, e.g. a second `auth` on an authenticated connection.",
	errs.LimitExceeded:      "A product limit was hit (group size, storage quota); `details.limit` and `details.max` say which.",
	errs.PayloadTooLarge:    "A frame above `max_frame_bytes` or a body above `max_body_chars`; `details.limit` and `details.max` say which.",
	errs.RateLimited:        "Too many requests; retry after `retry_after_ms`. Persistent flooding ends with close 4004.",
	errs.Unavailable:        "A backend is temporarily unavailable. Retry with backoff (a `send` with the same `client_msg_id`).",
	errs.DeadlineExceeded:   "The request timed out inside the platform; it may or may not have taken effect. Retry (sends are idempotent).",
	errs.Internal:           "An unexpected server failure. The message is always generic; retrying unchanged is unlikely to help.",
}

var closeCodeDocs = map[errs.CloseCode]string{
	errs.CloseNormal:          "The session ended on request. Reconnect only when the app needs a connection again.",
	errs.CloseMessageTooBig:   "A frame exceeded the gateway's read limit (a client bug). Reconnect with backoff; do not resend the frame.",
	errs.CloseDrain:           "The gateway is draining or shutting down (announced by `goaway`). Reconnect after `reconnect_after_ms` (or 0–5 s at random without a `goaway`) and `sync`.",
	errs.CloseSlowConsumer:    "The client read too slowly and its send queue overflowed. Reconnect after 0–2 s at random and `sync` from the cursor.",
	errs.CloseServerError:     "A transient server fault. Reconnect with exponential backoff and jitter.",
	errs.CloseTokenExpired:    "The session expired without a `refresh`. Get a fresh access token, then reconnect.",
	errs.CloseProtocolAbuse:   "Repeated invalid frames or floods. Reconnect only after backoff of at least 30 s; fix the client.",
	errs.CloseUnauthenticated: "Credentials missing or rejected, or no `auth` within 10 s. Do not reconnect with the same token: get a new one or sign in.",
	errs.CloseRevoked:         "The session was revoked or the account disabled. Do not reconnect; sign in again.",
	errs.CloseOriginDenied:    "The page's origin is not allowed. Never reconnect from this origin.",
}

var limitDocs = map[string]string{
	"max_frame_bytes":       "bytes in one frame (one WebSocket message)",
	"max_body_chars":        "Unicode code points in `send.body` (not bytes, not UTF-16 units)",
	"max_attachments":       "ids in `send.attachment_ids`",
	"max_ack_ids":           "ids in `received.message_ids`",
	"max_request_id_len":    "bytes in the envelope `id`",
	"max_client_msg_id_len": "bytes in `send.client_msg_id`",
	"max_token_bytes":       "bytes in `auth.token` and `refresh.token`",
	"max_cursor_bytes":      "bytes in `sync.cursor` and `received.cursor`",
	"max_page_size":         "largest `limit` of `sync` and `history`",
	"default_page_size":     "page size when `limit` is absent or 0",
}

func errorCodeTable(t *testing.T) string {
	var b strings.Builder
	b.WriteString("| code | retryable | HTTP status | close code when it ends the connection | meaning |\n| --- | --- | --- | --- | --- |\n")
	for _, c := range errs.Codes() {
		doc, ok := errorCodeDocs[c]
		if !ok {
			t.Errorf("error code %s has no description in doc_test.go", c)
		}
		s := errs.Lookup(c)
		fmt.Fprintf(&b, "| `%s` | %s | %d | %d | %s |\n", c, yesNo(s.Retryable), s.HTTPStatus, s.Close, doc)
	}
	return b.String()
}

func closeCodeTable(t *testing.T) string {
	var b strings.Builder
	b.WriteString("| close code | reason | reconnect | what the client does |\n| --- | --- | --- | --- |\n")
	for _, c := range errs.CloseCodes() {
		doc, ok := closeCodeDocs[c]
		if !ok {
			t.Errorf("close code %d has no description in doc_test.go", c)
		}
		info := errs.Close(c)
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", c, info.Reason, yesNo(info.Reconnect), doc)
	}
	return b.String()
}

func limitsTable(t *testing.T) string {
	var b strings.Builder
	b.WriteString("| limit | default | bounds |\n| --- | --- | --- |\n")
	v := reflect.ValueOf(DefaultLimits())
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("json")
		doc, ok := limitDocs[name]
		if !ok {
			t.Errorf("limit %s has no description in doc_test.go", name)
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s |\n", name, v.Field(i).Int(), doc)
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

var (
	generatedRe = regexp.MustCompile(`(?s)(<!-- BEGIN generated:([a-z-]+) -->\n).*?(<!-- END generated:[a-z-]+ -->)`)
	goldenRe    = regexp.MustCompile("(?s)(<!-- golden:([a-z_]+) -->\n```json\n).*?(```)")
	blockRe     = regexp.MustCompile("(?s)```(json|jsonl)\n(.*?)```")
)

// renderDoc returns doc with every generated part brought up to date.
func renderDoc(t *testing.T, doc string) string {
	tables := map[string]string{"error-codes": errorCodeTable(t), "close-codes": closeCodeTable(t), "limits": limitsTable(t)}
	doc = generatedRe.ReplaceAllStringFunc(doc, func(m string) string {
		sub := generatedRe.FindStringSubmatch(m)
		table, ok := tables[sub[2]]
		if !ok {
			t.Errorf("unknown generated section %q", sub[2])
			return m
		}
		return sub[1] + table + sub[3]
	})
	ex := examples()
	return goldenRe.ReplaceAllStringFunc(doc, func(m string) string {
		sub := goldenRe.FindStringSubmatch(m)
		f, ok := ex[sub[2]]
		if !ok {
			t.Errorf("golden marker for unknown type %q", sub[2])
			return m
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, Encode(f), "", "  "); err != nil {
			t.Fatal(err)
		}
		return sub[1] + pretty.String() + "\n" + sub[3]
	})
}

func TestProtocolDocIsUpToDate(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	want := renderDoc(t, doc)
	if *update && want != doc {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		doc = want
	}
	if want != doc {
		t.Fatalf("%s is out of date (run go test -update): first difference near %q", docPath, firstDiff(doc, want))
	}
	for _, n := range []string{"error-codes", "close-codes", "limits"} {
		if !strings.Contains(doc, "<!-- BEGIN generated:"+n+" -->") {
			t.Errorf("%s has no generated %s table", docPath, n)
		}
	}
	for _, c := range errs.Codes() {
		if !strings.Contains(doc, "`"+string(c)+"`") {
			t.Errorf("error code %s missing from %s", c, docPath)
		}
	}
	for _, c := range errs.CloseCodes() {
		if !strings.Contains(doc, fmt.Sprintf("| %d |", c)) {
			t.Errorf("close code %d missing from %s", c, docPath)
		}
	}
}

// TestProtocolDocExamples checks that every frame type has its canonical
// example and its fields documented, and that every JSON example in the
// document (including flows) is a frame that decodes.
func TestProtocolDocExamples(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	seen := map[string]int{}
	for _, m := range blockRe.FindAllStringSubmatch(doc, -1) {
		frames := []string{m[2]}
		if m[1] == "jsonl" {
			frames = nil
			for _, line := range strings.Split(m[2], "\n") {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "//") {
					frames = append(frames, line)
				}
			}
		}
		for _, s := range frames {
			f, err := decodeAny([]byte(s))
			if err != nil {
				t.Errorf("example does not decode: %v\n%s", err, s)
				continue
			}
			seen[f.FrameType()]++
		}
	}
	ex := examples()
	for _, typ := range typeConstants(t) {
		if seen[typ] == 0 {
			t.Errorf("no example of %q in %s", typ, docPath)
		}
		if !strings.Contains(doc, "<!-- golden:"+typ+" -->") {
			t.Errorf("no golden example marker for %q in %s", typ, docPath)
		}
		section := docSection(doc, typ)
		if section == "" {
			t.Errorf("no section headed ### `%s` in %s", typ, docPath)
			continue
		}
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(Encode(ex[typ]), &fields)
		for k := range fields {
			if k != "v" && k != "id" && k != "type" && !strings.Contains(section, "`"+k+"`") {
				t.Errorf("field %s.%s is not described in its section of %s", typ, k, docPath)
			}
		}
	}
}

// docSection returns the text under the heading "### `typ`" up to the next heading.
func docSection(doc, typ string) string {
	_, rest, ok := strings.Cut(doc, "\n### `"+typ+"`")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.Index(rest, "\n### "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return truncate(b[max(0, i-20):], 80)
}
