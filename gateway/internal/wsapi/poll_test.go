package wsapi_test

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// readerModes runs a test with the epoll poller and with one reader
// goroutine per connection: both must behave the same on the wire.
func readerModes(t *testing.T, test func(t *testing.T, opt envOption)) {
	for _, goroutines := range []bool{false, true} {
		name := "poller"
		if goroutines {
			name = "reader-goroutines"
		}
		t.Run(name, func(t *testing.T) {
			test(t, withConfig(func(c *wsapi.Config) { c.ReaderGoroutines = goroutines }))
		})
	}
}

// clientFrame encodes one masked client frame, as a browser sends it.
func clientFrame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, 0x80|byte(n))
	case n <= 0xFFFF:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	key := make([]byte, 4)
	_, _ = rand.Read(key)
	out = append(out, key...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

func pingFrame(id string) []byte {
	return clientFrame(true, websocket.TextMessage, []byte(`{"v":1,"type":"ping","id":"`+id+`"}`))
}

// writeRaw writes bytes straight to the client's socket, in pieces of at
// most chunk bytes with a pause between them, so the server sees frames
// split anywhere.
func writeRaw(t *testing.T, ws *websocket.Conn, data []byte, chunk int) {
	t.Helper()
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := ws.UnderlyingConn().Write(data[:n]); err != nil {
			t.Fatalf("raw write: %v", err)
		}
		data = data[n:]
		if len(data) > 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// expectPongFrames reads protocol pongs with the given ids, in order.
func expectPongFrames(t *testing.T, ws *websocket.Conn, idList ...string) {
	t.Helper()
	for _, id := range idList {
		f := readFrame(t, ws)
		if f.FrameType() != protocol.TypePong || f.FrameHeader().ID != id {
			t.Fatalf("want pong %q, got %s %q", id, f.FrameType(), f.FrameHeader().ID)
		}
	}
}

func TestFramesSplitAnywhereOrSentTogetherAreAnsweredInOrder(t *testing.T) {
	readerModes(t, func(t *testing.T, opt envOption) {
		e := newEnv(t, opt)
		ws := e.rawAuth(1, "phone")
		var burst []byte
		for i := range 5 {
			burst = append(burst, pingFrame(fmt.Sprint("together-", i))...)
		}
		writeRaw(t, ws, burst, len(burst))
		expectPongFrames(t, ws, "together-0", "together-1", "together-2", "together-3", "together-4")

		writeRaw(t, ws, append(pingFrame("split-1"), pingFrame("split-2")...), 1)
		expectPongFrames(t, ws, "split-1", "split-2")
	})
}

func TestKeepAlivePingsAreAnsweredAndCountAsTraffic(t *testing.T) {
	readerModes(t, func(t *testing.T, opt envOption) {
		e := newEnv(t, opt)
		ws := e.rawAuth(7, "phone")
		got := make(chan string, 4)
		ws.SetPongHandler(func(data string) error { got <- data; return nil })
		before := e.hub.Get(7, "phone").LastRead()
		time.Sleep(5 * time.Millisecond)

		// A WebSocket ping split in two, a client pong, then a frame: the
		// ping gets its pong, the frame its answer, nothing is lost.
		ping := clientFrame(true, websocket.PingMessage, []byte("are-you-there"))
		writeRaw(t, ws, ping[:4], 4)
		time.Sleep(20 * time.Millisecond)
		writeRaw(t, ws, ping[4:], len(ping))
		writeRaw(t, ws, clientFrame(true, websocket.PongMessage, []byte("x")), 64)
		writeRaw(t, ws, pingFrame("after-keepalive"), 64)
		expectPongFrames(t, ws, "after-keepalive") // the reader runs pong handlers while reading
		select {
		case data := <-got:
			if data != "are-you-there" {
				t.Fatalf("pong carried %q", data)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no pong for the client's ping")
		}
		if !e.hub.Get(7, "phone").LastRead().After(before) {
			t.Fatal("keep-alive traffic did not count as reading")
		}
	})
}

func TestLargeFramesAndFragmentedMessagesPassThrough(t *testing.T) {
	readerModes(t, func(t *testing.T, opt envOption) {
		e := newEnv(t, opt)
		ws := e.rawAuth(2, "laptop")
		// A ping frame padded with spaces to 20 KiB (16-bit length, bigger
		// than the gate's buffer), then one split over three fragments with
		// a keep-alive ping between them.
		pad := strings.Repeat(" ", 20<<10)
		big := []byte(`{"v":1,"type":"ping","id":"big"}` + pad)
		if len(big) > e.cfg.Limits.MaxFrameBytes {
			big = big[:e.cfg.Limits.MaxFrameBytes]
		}
		writeRaw(t, ws, clientFrame(true, websocket.TextMessage, big), 3000)
		expectPongFrames(t, ws, "big")

		msg := []byte(`{"v":1,"type":"ping","id":"fragments"}`)
		var wire []byte
		wire = append(wire, clientFrame(false, websocket.TextMessage, msg[:10])...)
		wire = append(wire, clientFrame(true, websocket.PingMessage, nil)...)
		wire = append(wire, clientFrame(false, 0, msg[10:20])...)
		wire = append(wire, clientFrame(true, 0, msg[20:])...)
		writeRaw(t, ws, wire, 7)
		expectPongFrames(t, ws, "fragments")
	})
}

func TestClientCloseFrameEndsTheConnection(t *testing.T) {
	readerModes(t, func(t *testing.T, opt envOption) {
		e := newEnv(t, opt)
		ws := e.rawAuth(3, "tablet")
		writeRaw(t, ws, clientFrame(true, websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")), 64)
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := ws.ReadMessage()
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("want the close echoed, got %v", err)
		}
		waitFor(t, "the hub to forget the connection", 5*time.Second, func() bool { return e.hub.Get(3, "tablet") == nil })
	})
}

func TestIdleConnectionsHoldNoGoroutineWithThePoller(t *testing.T) {
	const n = 200
	for _, tc := range []struct {
		name       string
		goroutines bool
	}{{"poller", false}, {"reader-goroutines", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withConfig(func(c *wsapi.Config) { c.ReaderGoroutines = tc.goroutines; c.MaxConns = 2 * n }),
				withMaxPerUser(n))
			runtime.GC()
			before := runtime.NumGoroutine()
			for i := range n {
				ws := e.rawAuth(ids.ID(100+i), "idle")
				writeRaw(t, ws, pingFrame("warm"), 64)
				expectPongFrames(t, ws, "warm")
			}
			time.Sleep(100 * time.Millisecond) // dispatchers finish
			grown := runtime.NumGoroutine() - before
			// The raw clients start no goroutines; the server side is all
			// that can grow.
			if tc.goroutines && grown < n*9/10 {
				t.Fatalf("reader goroutines: %d goroutines for %d connections, want about one each", grown, n)
			}
			if !tc.goroutines && grown > n/10 {
				t.Fatalf("poller: %d goroutines for %d idle connections, want (almost) none", grown, n)
			}
		})
	}
}
