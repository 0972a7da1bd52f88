package wsapi_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/wsclient"
)

// garbage makes hostile frames: random bytes, mangled valid frames and
// random JSON, all below the 4× read limit so the connection stays open.
type garbage struct {
	r      *rand.Rand
	corpus []string
}

var frameTypes = []string{"auth", "refresh", "send", "received", "read", "typing", "sync", "history", "ping",
	"welcome", "error", "message", "goaway", "", "PING", "send ", "__proto__", "constructor"}

func (g *garbage) next(maxLen int) (int, []byte) {
	switch g.r.IntN(6) {
	case 0: // random bytes, often invalid UTF-8
		b := make([]byte, g.r.IntN(300))
		for i := range b {
			b[i] = byte(g.r.UintN(256))
		}
		kind := websocket.TextMessage
		if g.r.IntN(4) == 0 {
			kind = websocket.BinaryMessage
		}
		return kind, b
	case 1: // a valid frame with bytes flipped
		b := []byte(g.corpus[g.r.IntN(len(g.corpus))])
		for range 1 + g.r.IntN(4) {
			b[g.r.IntN(len(b))] = byte(g.r.UintN(256))
		}
		return websocket.TextMessage, b
	case 2: // a valid frame cut short
		s := g.corpus[g.r.IntN(len(g.corpus))]
		return websocket.TextMessage, []byte(s[:g.r.IntN(len(s))])
	case 3: // deep nesting
		d := 1 + g.r.IntN(5000)
		return websocket.TextMessage, []byte(`{"v":1,"id":"n","type":"send","x":` + strings.Repeat("[", d) + strings.Repeat("]", d) + `}`)
	case 4: // long strings and odd values in every field
		s := g.corpus[g.r.IntN(len(g.corpus))]
		s = strings.Replace(s, `"body":"hi"`, `"body":"`+strings.Repeat("é", g.r.IntN(maxLen/4))+`"`, 1)
		s = strings.Replace(s, `"id":"`, `"id":"`+strings.Repeat("9", g.r.IntN(100)), 1)
		return websocket.TextMessage, []byte(s)
	default: // random envelopes
		var sb strings.Builder
		sb.WriteString(`{"v":`)
		sb.WriteString([]string{"1", "0", "-1", "1.5", `"1"`, "null", "99999999999999999999"}[g.r.IntN(7)])
		sb.WriteString(`,"id":`)
		sb.WriteString([]string{`"x"`, `""`, "7", "null", `"` + strings.Repeat("a", 65) + `"`, `"\u0000"`}[g.r.IntN(6)])
		sb.WriteString(`,"type":"` + frameTypes[g.r.IntN(len(frameTypes))] + `"`)
		for range g.r.IntN(6) {
			sb.WriteString(`,"` + []string{"conversation_id", "client_msg_id", "body", "attachment_ids", "message_ids",
				"up_to", "cursor", "limit", "token", "before", "after", "active"}[g.r.IntN(12)] + `":`)
			sb.WriteString([]string{`"d:1:2"`, `"g:0"`, `"d:2:1"`, `["1","1"]`, `[]`, `-5`, `1e308`, `true`, `{}`,
				`"` + strings.Repeat("x", g.r.IntN(5000)) + `"`, `["0"]`, `"18446744073709551616"`}[g.r.IntN(12)])
		}
		sb.WriteString("}")
		return websocket.TextMessage, []byte(sb.String())
	}
}

func TestGarbageFramesNeverCrashTheServerNorDisturbAnotherConnection(t *testing.T) {
	// No strikes and a deep queue: this is about hostile content, not
	// floods (those are closed on purpose, see the strike and rate tests).
	e := newEnv(t, withConfig(func(c *wsapi.Config) {
		c.MaxStrikes = 1 << 30
		c.Queue.MaxQueue = 1 << 16
	}))
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("PARLEY_FUZZ_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (set PARLEY_FUZZ_SEED to repeat)", seed)
	g := &garbage{r: rand.New(rand.NewPCG(seed, 7)), corpus: []string{
		`{"v":1,"id":"1","type":"send","conversation_id":"d:1:2","client_msg_id":"c-1","body":"hi","attachment_ids":["5"]}`,
		`{"v":1,"id":"2","type":"received","conversation_id":"d:1:2","message_ids":["1","2"],"cursor":"v1.AA"}`,
		`{"v":1,"id":"3","type":"read","conversation_id":"g:9","up_to":"5"}`,
		`{"v":1,"id":"4","type":"typing","conversation_id":"d:1:2","active":true}`,
		`{"v":1,"id":"5","type":"sync","cursor":"v1.AA","limit":10}`,
		`{"v":1,"id":"6","type":"history","conversation_id":"g:9","before":"100","limit":5}`,
		`{"v":1,"id":"7","type":"refresh","token":"abc.def.ghi"}`,
		`{"v":1,"id":"8","type":"auth","token":"abc"}`,
		`{"v":1,"id":"9","type":"ping"}`,
	}}

	// The victim pings and is pushed to throughout.
	var pushes atomic.Int64
	victim, err := wsclient.Connect(ctx5(t), e.url(), wsclient.Options{Token: e.token(2, "victim", time.Hour),
		OnPush: func(wsclient.Push) { pushes.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()

	attacker := e.rawAuth(1, "attacker")
	var replies atomic.Int64
	final := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		for {
			_ = attacker.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, data, err := attacker.ReadMessage()
			if err != nil {
				readerDone <- err
				return
			}
			replies.Add(1)
			if strings.Contains(string(data), `"id":"final"`) {
				close(final)
			}
		}
	}()

	const n = 3000
	var wg sync.WaitGroup
	var victimErr error
	wg.Add(1)
	defer wg.Wait()
	go func() {
		defer wg.Done()
		for i := range 200 {
			if _, err := victim.Ping(ctx5(t)); err != nil {
				victimErr = fmt.Errorf("victim ping %d: %w", i, err)
				return
			}
			e.hub.Push(routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: []byte(`{"v":1,"type":"typing_state","conversation_id":"d:1:2","user_id":"1","active":true}`),
				Conns: []routerapi.Conn{{UserID: 2, DeviceID: "victim"}}}}})
		}
	}()
	maxLen := 3 * e.cfg.Limits.MaxFrameBytes
	for i := range n {
		kind, data := g.next(maxLen)
		if len(data) > maxLen {
			data = data[:maxLen]
		}
		_ = attacker.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := attacker.WriteMessage(kind, data); err != nil {
			t.Fatalf("frame %d: write: %v (reader: %v)", i, err, <-readerDone)
		}
	}
	writeText(t, attacker, `{"v":1,"id":"final","type":"ping"}`)
	select {
	case <-final:
	case err := <-readerDone:
		t.Fatalf("attacker's connection ended after %d replies: %v", replies.Load(), err)
	case <-time.After(30 * time.Second):
		t.Fatalf("no pong to the final ping after %d replies", replies.Load())
	}
	wg.Wait()
	if victimErr != nil {
		t.Fatal(victimErr)
	}
	eventually(t, "every push to the victim", func() bool { return pushes.Load() == 200 })
	if e.hub.Count() != 2 {
		t.Fatalf("hub holds %d connections", e.hub.Count())
	}
	t.Logf("%d garbage frames got %d replies", n, replies.Load())
}
