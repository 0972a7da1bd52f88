package conn_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/shared/errs"
)

// pair returns a server-side Conn and the client socket talking to it. The
// server keeps reading (as the gateway's reader does) so control frames
// are answered; small socket buffers make a client that does not read
// back up quickly.
func pair(t *testing.T, opt conn.Options, onSlow func(*conn.Conn), smallBuffers bool) (*conn.Conn, *websocket.Conn) {
	t.Helper()
	got := make(chan *conn.Conn, 1)
	up := websocket.Upgrader{WriteBufferPool: new(nopPool)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if smallBuffers {
			_ = ws.UnderlyingConn().(*net.TCPConn).SetWriteBuffer(4096)
		}
		c := conn.New(1, ws, opt, onSlow)
		got <- c
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					c.Abort(errs.CloseNormal, "")
					return
				}
			}
		}()
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	if smallBuffers {
		_ = client.UnderlyingConn().(*net.TCPConn).SetReadBuffer(4096)
	}
	select {
	case c := <-got:
		return c, client
	case <-time.After(5 * time.Second):
		t.Fatal("no server connection")
	}
	return nil, nil
}

// nopPool is a write buffer pool that never keeps anything.
type nopPool struct{}

func (*nopPool) Get() any  { return nil }
func (*nopPool) Put(v any) {}

// readUntilClose reads messages until the connection ends and returns them
// with the close code (0 when it ended without a close frame).
func readUntilClose(t *testing.T, ws *websocket.Conn) ([]string, int, error) {
	t.Helper()
	var msgs []string
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return msgs, ce.Code, err
			}
			return msgs, 0, err
		}
		msgs = append(msgs, string(data))
	}
}

// fillUntilOverflow sends 32 KiB frames to a client that does not read,
// paced so that the writer drains the queue while the socket has room: the
// queue overflows only once the socket is full and the writer is stuck in
// a write, as with a real slow consumer. It returns how many were accepted.
func fillUntilOverflow(t *testing.T, c *conn.Conn) int {
	t.Helper()
	frame := make([]byte, 32<<10)
	sent := 0
	for c.Send(frame) {
		sent++
		if sent > 20_000 {
			t.Fatal("queue never overflowed")
		}
		time.Sleep(time.Millisecond)
	}
	return sent
}

func waitDone(t *testing.T, c *conn.Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed")
	}
}

func TestQueuedFramesAreWrittenInOrderThenTheCloseFrame(t *testing.T) {
	c, client := pair(t, conn.Options{MaxQueue: 1000, WriteTimeout: 5 * time.Second}, nil, false)
	for i := range 200 {
		if !c.Send([]byte(strconv.Itoa(i))) {
			t.Fatalf("send %d refused", i)
		}
	}
	c.CloseAfterFlush(errs.CloseDrain, "draining")
	if c.Send([]byte("late")) || !c.Closing() {
		t.Fatal("send accepted after CloseAfterFlush")
	}
	msgs, code, err := readUntilClose(t, client)
	if code != int(errs.CloseDrain) {
		t.Fatalf("ended with %v, want close 4000", err)
	}
	if len(msgs) != 200 {
		t.Fatalf("got %d frames, want 200", len(msgs))
	}
	for i, m := range msgs {
		if m != strconv.Itoa(i) {
			t.Fatalf("frame %d is %q", i, m)
		}
	}
	waitDone(t, c)
}

func TestSendPreparedWritesTheSameBytes(t *testing.T) {
	c, client := pair(t, conn.Options{MaxQueue: 10, WriteTimeout: 5 * time.Second}, nil, false)
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(`{"v":1,"type":"message"}`))
	if err != nil {
		t.Fatal(err)
	}
	c.SendPrepared(pm)
	c.SendPrepared(pm)
	for range 2 {
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := client.ReadMessage()
		if err != nil || string(data) != `{"v":1,"type":"message"}` {
			t.Fatalf("got %q %v", data, err)
		}
	}
}

func TestAbortOfAQuietConnectionSendsItsCloseCodeAtOnce(t *testing.T) {
	c, client := pair(t, conn.Options{MaxQueue: 10, WriteTimeout: 5 * time.Second}, nil, false)
	c.Abort(errs.CloseServerError, "idle timeout")
	if _, code, err := readUntilClose(t, client); code != int(errs.CloseServerError) {
		t.Fatalf("ended with %v", err)
	}
	waitDone(t, c)
	c.Abort(errs.CloseServerError, "again") // harmless
}

func TestOverflowClosesWith4001AndReportsTheSlowConsumerOnce(t *testing.T) {
	var slow atomic.Int32
	c, client := pair(t, conn.Options{MaxQueue: 4, WriteTimeout: 10 * time.Second},
		func(*conn.Conn) { slow.Add(1) }, true)
	sent := fillUntilOverflow(t, c)
	if !c.Closing() || slow.Load() != 1 {
		t.Fatalf("after overflow: closing %v, onSlow called %d times", c.Closing(), slow.Load())
	}
	if c.Send([]byte("x")) || slow.Load() != 1 {
		t.Fatal("a closing connection took a frame or reported slowness again")
	}
	msgs, code, err := readUntilClose(t, client)
	if code != int(errs.CloseSlowConsumer) {
		t.Fatalf("ended with %v after %d frames, want close 4001", err, len(msgs))
	}
	if len(msgs) > sent {
		t.Fatalf("got %d frames, only %d were accepted", len(msgs), sent)
	}
	waitDone(t, c)
}

func TestSlowClientResumingReadingWithinTheWriteTimeoutStillSeesClose4001(t *testing.T) {
	c, client := pair(t, conn.Options{MaxQueue: 4, WriteTimeout: 10 * time.Second}, nil, true)
	fillUntilOverflow(t, c)
	// The client is slow, not gone: it reads again a moment later. What it
	// was sent before the overflow is in its socket; the close code must
	// follow it rather than be lost to a cut connection.
	time.Sleep(600 * time.Millisecond)
	msgs, code, err := readUntilClose(t, client)
	if code != int(errs.CloseSlowConsumer) {
		t.Fatalf("ended with %v after %d frames, want close 4001", err, len(msgs))
	}
	waitDone(t, c)
}

func TestAWriterStuckOnADeadClientIsCutAfterTheWriteTimeout(t *testing.T) {
	c, _ := pair(t, conn.Options{MaxQueue: 1 << 20, WriteTimeout: 200 * time.Millisecond}, nil, true)
	frame := make([]byte, 32<<10)
	start := time.Now()
	for c.Send(frame) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("writer never got stuck")
		}
		select {
		case <-c.Done():
			return // cut by the write deadline
		default:
		}
		time.Sleep(time.Millisecond)
	}
	waitDone(t, c)
}

func TestPingIsQueuedAtMostOncePerInterval(t *testing.T) {
	c, client := pair(t, conn.Options{MaxQueue: 10, WriteTimeout: 5 * time.Second}, nil, false)
	var pings atomic.Int32
	client.SetPingHandler(func(string) error { pings.Add(1); return nil })
	now := time.Now()
	c.Ping(now, time.Second)
	c.Ping(now.Add(500*time.Millisecond), time.Second)
	c.Send([]byte("mark1"))
	readMark := func(want string) {
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := client.ReadMessage()
		if err != nil || string(data) != want {
			t.Fatalf("read %q %v, want %s", data, err, want)
		}
	}
	readMark("mark1")
	if pings.Load() != 1 {
		t.Fatalf("%d pings within one interval", pings.Load())
	}
	c.Ping(now.Add(time.Second), time.Second)
	c.Send([]byte("mark2"))
	readMark("mark2")
	if pings.Load() != 2 {
		t.Fatalf("%d pings after the interval", pings.Load())
	}
}

func TestIdentityAndSessionExpiry(t *testing.T) {
	c, _ := pair(t, conn.Options{MaxQueue: 1, WriteTimeout: time.Second}, nil, false)
	if c.Identity() != nil || !c.ExpiresAt().IsZero() {
		t.Fatal("identity before auth")
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	c.SetIdentity(conn.Identity{UserID: 5, DeviceID: "d"}, exp)
	if id := c.Identity(); id.UserID != 5 || id.DeviceID != "d" || !c.ExpiresAt().Equal(exp) {
		t.Fatalf("identity %+v expires %v", id, c.ExpiresAt())
	}
	c.ExtendSession(exp.Add(time.Hour))
	if !c.ExpiresAt().Equal(exp.Add(time.Hour)) {
		t.Fatal("session not extended")
	}
	before := c.LastRead()
	c.TouchRead(before.Add(time.Second))
	if !c.LastRead().Equal(before.Add(time.Second)) {
		t.Fatal("read time not recorded")
	}
}
