package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/stackenv"
)

// mediaBinary builds mediasvc next to the other binaries, once.
var (
	mediaBuildOnce sync.Once
	mediaBuildErr  error
)

func mediaBinary(t *testing.T) string {
	t.Helper()
	dir := filepath.Dir(binary(t, "messagesvc")) // the shared build, and its directory
	mediaBuildOnce.Do(func() {
		root, _ := stackenv.RepoRoot(".")
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "mediasvc"), "github.com/parleychat/parley/mediasvc/cmd/mediasvc")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			mediaBuildErr = fmt.Errorf("build mediasvc: %v\n%s", err, out)
		}
	})
	if mediaBuildErr != nil {
		t.Fatal(mediaBuildErr)
	}
	return filepath.Join(dir, "mediasvc")
}

// mediaPlatform is the messaging platform with mediasvc: authsvc, router
// (Redis), messagesvc (Cassandra) attaching through mediasvc, mediasvc
// (MinIO objects, Cassandra metadata) asking messagesvc who may read, and
// a gateway relaying /api/v1/media; with groups, groupsvc (embedded store)
// too.
type mediaPlatform struct {
	auth, router, messages, media, groups *kittest.Binary
	gateway                               *kittest.Binary
	mediaArgs                             []string // to restart mediasvc
}

func startMediaPlatform(t *testing.T, withGroups bool) *mediaPlatform {
	env := stackenv.Require(t, stackenv.RedisAddr, stackenv.CassandraHosts, stackenv.CassandraDC,
		stackenv.S3Endpoint, stackenv.S3AccessKey, stackenv.S3SecretKey)
	suffix := rand.Uint32()
	msgKeyspace, mediaKeyspace := fmt.Sprintf("e2e_msg_%d", suffix), fmt.Sprintf("e2e_media_%d", suffix)
	t.Cleanup(func() { dropKeyspace(t, env, msgKeyspace); dropKeyspace(t, env, mediaKeyspace) })
	p := &mediaPlatform{}
	p.auth = startAuth(t)
	p.router = startRouter(t, routerOpts{region: "eu", redisAddrs: env[stackenv.RedisAddr], prefix: keyPrefix()})
	// Each of messagesvc and mediasvc calls the other: messagesvc's port is
	// picked first so mediasvc can be told it.
	msgAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p.mediaArgs = []string{"-internal.addr=127.0.0.1:0",
		"-media.store.backend=s3", "-media.s3.endpoint=" + env[stackenv.S3Endpoint], "-media.s3.secure=false",
		"-media.s3.access-key=" + env[stackenv.S3AccessKey], "-media.s3.secret-key=" + env[stackenv.S3SecretKey],
		// One bucket for every run: objects are keyed by fresh media ids.
		"-media.s3.bucket=parley-e2e-media",
		"-media.metadata.backend=cassandra", "-media.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-media.cassandra.dc=" + env[stackenv.CassandraDC], "-media.cassandra.keyspace=" + mediaKeyspace,
		"-media.messages-url=http://" + msgAddr, "-media.cleanup.interval=0", "-media.node-id=3"}
	p.media = kittest.Start(t, mediaBinary(t), p.mediaArgs, "internal")
	msgArgs := []string{"-internal.addr=" + msgAddr,
		"-messages.store.backend=cassandra", "-messages.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-messages.cassandra.dc=" + env[stackenv.CassandraDC], "-messages.cassandra.keyspace=" + msgKeyspace,
		"-messages.cassandra.timeout=2s", "-messages.node-id=8",
		"-messages.router-url=" + p.router.URL(), "-messages.auth-url=" + p.auth.URL(),
		"-messages.media-url=" + p.media.URL()}
	gwArgs := []string{"-public.addr=127.0.0.1:0",
		"-internal.addr=127.0.0.1:0", "-gateway.region=eu", "-gateway.router-url=" + p.router.URL(),
		"-gateway.auth-url=" + p.auth.URL(), "-gateway.messages-url=http://" + msgAddr,
		"-gateway.media-url=" + p.media.URL(), "-gateway.upstream-timeout=4s"}
	if withGroups {
		p.groups = kittest.Start(t, binary(t, "groupsvc"), []string{"-internal.addr=127.0.0.1:0",
			"-groups.data-dir=" + t.TempDir(), "-groups.node-id=9", "-groups.auth-url=" + p.auth.URL(),
			"-groups.messages-url=http://" + msgAddr, "-groups.dispatch-interval=200ms"}, "internal")
		msgArgs = append(msgArgs, "-messages.groups-url="+p.groups.URL())
		gwArgs = append(gwArgs, "-gateway.groups-url="+p.groups.URL())
	}
	p.messages = kittest.Start(t, binary(t, "messagesvc"), msgArgs, "internal")
	p.gateway = kittest.Start(t, binary(t, "gateway"), gwArgs, "public", "internal")
	return p
}

// account registers a user and returns its id and a fresh access token.
func (p *mediaPlatform) account(t *testing.T, name string) (string, string) {
	t.Helper()
	pp := &platform{gateways: []*kittest.Binary{p.gateway}}
	id, signIn := pp.account(t, name)
	return id, signIn()
}

// publicRaw calls the public API without following redirects.
func publicRaw(t *testing.T, gw *kittest.Binary, method, path, bearer string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+gw.Addr("public")+path, bytes.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	client := &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// download fetches media content or a thumbnail through the public API:
// a 302 to a presigned S3 URL is followed without the user's credentials.
func download(t *testing.T, gw *kittest.Binary, path, bearer string) (int, []byte) {
	t.Helper()
	resp, data := publicRaw(t, gw, "GET", path, bearer, nil)
	if resp.StatusCode != http.StatusFound {
		return resp.StatusCode, data
	}
	loc := resp.Header.Get("Location")
	got, err := http.Get(loc)
	if err != nil {
		t.Fatalf("presigned GET %s: %v", loc, err)
	}
	defer got.Body.Close()
	data, _ = io.ReadAll(got.Body)
	return got.StatusCode, data
}

func testImage(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x * y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func errorCode(f map[string]any) string {
	if f["type"] != "error" {
		return ""
	}
	c, _ := f["code"].(string)
	return c
}

func TestMediaInAOneToOneMessageEndToEnd(t *testing.T) {
	p := startMediaPlatform(t, false)
	aliceID, aliceTok := p.account(t, "alice")
	bobID, bobTok := p.account(t, "bob")
	carolID, carolTok := p.account(t, "carol")
	conv := direct(aliceID, bobID)

	// Alice uploads an image through the public API.
	img := testImage(t, 640, 480)
	resp, body := publicRaw(t, p.gateway, "POST", "/api/v1/media?name=menu.png", aliceTok, img)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	var up struct {
		Media struct {
			ID           string `json:"id"`
			Mime         string `json:"mime"`
			Size         int64  `json:"size"`
			Width        int    `json:"width"`
			HasThumbnail bool   `json:"has_thumbnail"`
		} `json:"media"`
	}
	mustJSON(t, body, &up)
	mediaID := up.Media.ID
	if up.Media.Mime != "image/png" || up.Media.Size != int64(len(img)) || up.Media.Width != 640 || !up.Media.HasThumbnail {
		t.Fatalf("uploaded media = %s", body)
	}

	// She sends it to Bob, who is offline.
	a := connect(t, p.gateway, aliceTok)
	ack := a.request(map[string]any{"type": "send", "conversation_id": conv, "client_msg_id": "m1",
		"body": "the menu", "attachment_ids": []string{mediaID}})
	if ack["type"] != "ack" {
		t.Fatalf("send with media answered %v", ack)
	}
	msgID := ack["message_id"].(string)
	// A retried send (same client id) answers the same message.
	if again := a.request(map[string]any{"type": "send", "conversation_id": conv, "client_msg_id": "m1",
		"body": "the menu", "attachment_ids": []string{mediaID}}); again["message_id"] != msgID {
		t.Fatalf("retry answered %v, want message %s", again, msgID)
	}

	// Bob connects, syncs and sees the attachment with its metadata.
	b := connect(t, p.gateway, bobTok)
	page := b.request(map[string]any{"type": "sync", "limit": 50})
	var att map[string]any
	for _, m := range asList(page["messages"]) {
		mm := m.(map[string]any)
		if mm["message_id"] == msgID {
			if l := asList(mm["attachments"]); len(l) == 1 {
				att = l[0].(map[string]any)
			}
		}
	}
	if att == nil || att["id"] != mediaID || att["mime"] != "image/png" || att["name"] != "menu.png" ||
		att["size"] != float64(len(img)) || att["width"] != float64(640) || att["height"] != float64(480) {
		t.Fatalf("bob's sync: attachment %v in %v", att, page)
	}
	// History shows it too.
	code, hist := publicCall(t, p.gateway, "GET", "/api/v1/messages/conversations/"+conv+"/history", bobTok, nil)
	if code != 200 || fmt.Sprint(hist["messages"]) == "" || !bytes.Contains(mustMarshal(t, hist), []byte(`"mime":"image/png"`)) {
		t.Fatalf("history = %d %v", code, hist)
	}

	// Bob downloads it and its thumbnail.
	status, got := download(t, p.gateway, "/api/v1/media/"+mediaID+"/content", bobTok)
	if status != 200 || !bytes.Equal(got, img) {
		t.Fatalf("bob's download: %d, %d bytes (want %d)", status, len(got), len(img))
	}
	status, thumb := download(t, p.gateway, "/api/v1/media/"+mediaID+"/thumbnail", bobTok)
	if status != 200 || len(thumb) < 3 || !bytes.Equal(thumb[:3], []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("bob's thumbnail: %d, %d bytes", status, len(thumb))
	}

	// Carol, outside the conversation, learns nothing: the same not_found
	// as for an id that does not exist.
	unknown := "9" + mediaID[1:]
	for _, suffix := range []string{"", "/content", "/thumbnail"} {
		r1, b1 := publicRaw(t, p.gateway, "GET", "/api/v1/media/"+mediaID+suffix, carolTok, nil)
		r2, b2 := publicRaw(t, p.gateway, "GET", "/api/v1/media/"+unknown+suffix, carolTok, nil)
		if r1.StatusCode != 404 || !bytes.Contains(b1, []byte(`"not_found"`)) || r2.StatusCode != 404 || !bytes.Equal(b1, b2) {
			t.Fatalf("carol %s: %d %s (unknown id: %d %s)", suffix, r1.StatusCode, b1, r2.StatusCode, b2)
		}
	}

	// Bob cannot attach Alice's media to his own message; the answer is the
	// one a forged id gets, and nothing is stored.
	bc := direct(bobID, carolID)
	theirs := b.request(map[string]any{"type": "send", "conversation_id": bc, "client_msg_id": "steal",
		"body": "look", "attachment_ids": []string{mediaID}})
	forged := b.request(map[string]any{"type": "send", "conversation_id": bc, "client_msg_id": "forge",
		"body": "look", "attachment_ids": []string{unknown}})
	if errorCode(theirs) != "not_found" || errorCode(forged) != "not_found" || theirs["message"] != forged["message"] {
		t.Fatalf("someone else's media answered %v, a forged id %v", theirs, forged)
	}
	if code, h := publicCall(t, p.gateway, "GET", "/api/v1/messages/conversations/"+bc+"/history", bobTok, nil); code != 200 || len(asList(h["messages"])) != 0 {
		t.Fatalf("a refused send left messages: %d %v", code, h)
	}
	// Carol still cannot read it (the refused send attached nothing).
	if r, _ := publicRaw(t, p.gateway, "GET", "/api/v1/media/"+mediaID, carolTok, nil); r.StatusCode != 404 {
		t.Fatalf("carol after the refused send: %d", r.StatusCode)
	}
	// mediasvc's question to messagesvc is not reachable from the public.
	if r, _ := publicRaw(t, p.gateway, "POST", "/api/v1/message-readers", carolTok, []byte(`{}`)); r.StatusCode != 404 {
		t.Fatalf("public POST /api/v1/message-readers = %d, want 404", r.StatusCode)
	}
	a.noErrors()
}

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uploadImage uploads an image through the public API and returns its id.
func (p *mediaPlatform) uploadImage(t *testing.T, token string, img []byte) string {
	t.Helper()
	resp, body := publicRaw(t, p.gateway, "POST", "/api/v1/media?name=team.png", token, img)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	var up struct {
		Media struct {
			ID string `json:"id"`
		} `json:"media"`
	}
	mustJSON(t, body, &up)
	return up.Media.ID
}

func TestMediaInAGroupMessageIsReadByMembersAndDeniedAfterRemovalEndToEnd(t *testing.T) {
	p := startMediaPlatform(t, true)
	_, aliceTok := p.account(t, "alice")
	bobID, bobTok := p.account(t, "bob")
	carolID, carolTok := p.account(t, "carol")
	daveID, daveTok := p.account(t, "dave")

	code, created := publicCall(t, p.gateway, "POST", "/api/v1/groups", aliceTok, map[string]any{
		"name": "Climbers", "members": []string{bobID, carolID}})
	if code != 201 {
		t.Fatalf("create group = %d %v", code, created)
	}
	group := created["group"].(map[string]any)["id"].(string)
	conv := "g:" + group

	img := testImage(t, 320, 200)
	mediaID := p.uploadImage(t, aliceTok, img)
	a := connect(t, p.gateway, aliceTok)
	ack := a.request(map[string]any{"type": "send", "conversation_id": conv, "client_msg_id": "g1",
		"body": "the wall", "attachment_ids": []string{mediaID}})
	if ack["type"] != "ack" {
		t.Fatalf("group send with media answered %v", ack)
	}

	// Members read it; a non-member learns nothing.
	for name, tok := range map[string]string{"bob": bobTok, "carol": carolTok} {
		if status, got := download(t, p.gateway, "/api/v1/media/"+mediaID+"/content", tok); status != 200 || !bytes.Equal(got, img) {
			t.Fatalf("member %s: %d, %d bytes", name, status, len(got))
		}
	}
	if r, b := publicRaw(t, p.gateway, "GET", "/api/v1/media/"+mediaID+"/content", daveTok, nil); r.StatusCode != 404 {
		t.Fatalf("non-member: %d %s", r.StatusCode, b)
	}

	// Carol is removed: she can no longer read it (once messagesvc has the
	// group event); Bob still can.
	if code, out := publicCall(t, p.gateway, "DELETE", "/api/v1/groups/"+group+"/members/"+carolID, aliceTok, nil); code != 204 {
		t.Fatalf("remove carol = %d %v", code, out)
	}
	eventually(t, 10*time.Second, "removed member denied", func() bool {
		r, _ := publicRaw(t, p.gateway, "GET", "/api/v1/media/"+mediaID+"/content", carolTok, nil)
		return r.StatusCode == 404
	})
	if r, b := publicRaw(t, p.gateway, "GET", "/api/v1/media/"+mediaID, carolTok, nil); r.StatusCode != 404 {
		t.Fatalf("removed member, metadata: %d %s", r.StatusCode, b)
	}
	if status, _ := download(t, p.gateway, "/api/v1/media/"+mediaID+"/thumbnail", bobTok); status != 200 {
		t.Fatalf("bob after carol's removal: %d", status)
	}

	// Dave joins after the message: members see what was sent since they
	// joined, so not this.
	if code, out := publicCall(t, p.gateway, "POST", "/api/v1/groups/"+group+"/members", aliceTok, map[string]any{
		"users": []string{daveID}}); code != 200 {
		t.Fatalf("add dave = %d %v", code, out)
	}
	time.Sleep(500 * time.Millisecond) // the event reaches messagesvc; the answer must stay no
	if r, b := publicRaw(t, p.gateway, "GET", "/api/v1/media/"+mediaID+"/content", daveTok, nil); r.StatusCode != 404 {
		t.Fatalf("member who joined after the message: %d %s", r.StatusCode, b)
	}
	a.noErrors()
}

// restartMedia starts mediasvc again on the address it had.
func (p *mediaPlatform) restartMedia(t *testing.T) {
	args := append([]string{"-internal.addr=" + p.media.Addr("internal")}, p.mediaArgs[1:]...)
	p.media = kittest.Start(t, mediaBinary(t), args, "internal")
}

func TestMediasvcDownSendIsRetryableStoresNothingAndTheRetrySucceedsEndToEnd(t *testing.T) {
	p := startMediaPlatform(t, false)
	aliceID, aliceTok := p.account(t, "alice")
	bobID, bobTok := p.account(t, "bob")
	conv := direct(aliceID, bobID)
	img := testImage(t, 64, 64)
	mediaID := p.uploadImage(t, aliceTok, img)
	a := connect(t, p.gateway, aliceTok)
	send := func() map[string]any {
		return a.request(map[string]any{"type": "send", "conversation_id": conv, "client_msg_id": "down-1",
			"body": "while down", "attachment_ids": []string{mediaID}})
	}

	p.media.Kill(t)
	failed := send()
	if errorCode(failed) != "unavailable" || failed["retryable"] != true {
		t.Fatalf("send while mediasvc is down answered %v, want a retryable unavailable", failed)
	}
	if code, h := publicCall(t, p.gateway, "GET", "/api/v1/messages/conversations/"+conv+"/history", bobTok, nil); code != 200 || len(asList(h["messages"])) != 0 {
		t.Fatalf("a failed send left messages: %d %v", code, h)
	}

	// mediasvc is back: the client's retry (same client message id) goes
	// through once, and the recipient gets the media.
	p.restartMedia(t)
	var ack map[string]any
	eventually(t, 20*time.Second, "send accepted after mediasvc restart", func() bool {
		ack = send()
		return ack["type"] == "ack"
	})
	if again := send(); again["message_id"] != ack["message_id"] {
		t.Fatalf("another retry answered %v, want message %v", again, ack["message_id"])
	}
	code, h := publicCall(t, p.gateway, "GET", "/api/v1/messages/conversations/"+conv+"/history", bobTok, nil)
	if msgs := asList(h["messages"]); code != 200 || len(msgs) != 1 || msgs[0].(map[string]any)["message_id"] != ack["message_id"] {
		t.Fatalf("history after the retry: %d %v", code, h)
	}
	if status, got := download(t, p.gateway, "/api/v1/media/"+mediaID+"/content", bobTok); status != 200 || !bytes.Equal(got, img) {
		t.Fatalf("bob's download after the retry: %d, %d bytes", status, len(got))
	}
}
