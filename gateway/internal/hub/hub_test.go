package hub_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/gateway/internal/hub"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/routerapi"
)

type recListener struct {
	mu     sync.Mutex
	events []string
}

func (l *recListener) Attached(c routerapi.Conn) { l.add("+" + c.UserID.String() + "/" + c.DeviceID) }
func (l *recListener) Detached(c routerapi.Conn) { l.add("-" + c.UserID.String() + "/" + c.DeviceID) }
func (l *recListener) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, s)
}
func (l *recListener) Events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// fixture serves WebSockets whose server sides are handed to the test as
// unbound conns; the client sides are returned for reading.
type fixture struct {
	t     *testing.T
	hub   *hub.Hub
	l     *recListener
	srv   *httptest.Server
	conns chan *conn.Conn
	next  uint64
	mu    sync.Mutex
}

func newFixture(t *testing.T, maxPerUser int) *fixture {
	f := &fixture{t: t, l: &recListener{}, conns: make(chan *conn.Conn, 1)}
	f.hub = hub.New(maxPerUser, f.l, hub.NewMetrics(prometheus.NewRegistry()))
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.next++
		id := f.next
		f.mu.Unlock()
		c := conn.New(id, ws, conn.Options{MaxQueue: 16, WriteTimeout: 5 * time.Second}, nil)
		f.hub.Add(c)
		f.conns <- c
		go func() { // the reader, as wsapi runs it
			defer f.hub.Remove(c)
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					c.Abort(errs.CloseNormal, "")
					return
				}
			}
		}()
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// open connects a client; bind files it under user/device (when device is
// not empty) and returns both sides.
func (f *fixture) open(user ids.ID, device string) (*conn.Conn, *websocket.Conn, error) {
	f.t.Helper()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(f.srv.URL, "http"), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = client.Close() })
	c := <-f.conns
	if device == "" {
		return c, client, nil
	}
	c.SetIdentity(conn.Identity{UserID: user, DeviceID: device}, time.Now().Add(time.Hour))
	replaced, err := f.hub.Bind(c)
	if replaced != nil {
		replaced.CloseAfterFlush(errs.CloseNormal, "replaced")
	}
	return c, client, err
}

func read(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(data)
}

func TestPushWritesEachFrameToEveryTargetAndReportsTheMissingOnes(t *testing.T) {
	f := newFixture(t, 5)
	_, a1, _ := f.open(1, "a")
	_, a2, _ := f.open(1, "b")
	_, b1, _ := f.open(2, "a")
	res := f.hub.Push(routerapi.PushBatch{Items: []routerapi.PushItem{
		{Frame: []byte(`{"n":1}`), Conns: []routerapi.Conn{{UserID: 1, DeviceID: "a"}, {UserID: 1, DeviceID: "b"}, {UserID: 2, DeviceID: "a"}, {UserID: 3, DeviceID: "a"}}},
		{Frame: []byte(`{"n":2}`), Conns: []routerapi.Conn{{UserID: 2, DeviceID: "a"}, {UserID: 2, DeviceID: "zz"}}},
	}})
	if res.Delivered != 4 {
		t.Fatalf("delivered %d, want 4", res.Delivered)
	}
	if want := []routerapi.Conn{{UserID: 3, DeviceID: "a"}, {UserID: 2, DeviceID: "zz"}}; !slices.Equal(res.Missing, want) {
		t.Fatalf("missing %v, want %v", res.Missing, want)
	}
	for _, ws := range []*websocket.Conn{a1, a2} {
		if got := read(t, ws); got != `{"n":1}` {
			t.Fatalf("got %s", got)
		}
	}
	if got1, got2 := read(t, b1), read(t, b1); got1 != `{"n":1}` || got2 != `{"n":2}` {
		t.Fatalf("user 2 got %s then %s", got1, got2)
	}
}

func TestPushToAClosingConnectionReportsItMissing(t *testing.T) {
	f := newFixture(t, 5)
	c, _, _ := f.open(1, "a")
	c.CloseAfterFlush(errs.CloseDrain, "draining")
	res := f.hub.Push(routerapi.PushBatch{Items: []routerapi.PushItem{{Frame: []byte(`{}`), Conns: []routerapi.Conn{{UserID: 1, DeviceID: "a"}}}}})
	if res.Delivered != 0 || len(res.Missing) != 1 {
		t.Fatalf("push to a closing connection = %+v", res)
	}
}

func TestBindFilesDevicesAndReplacesTheSameDevice(t *testing.T) {
	f := newFixture(t, 2)
	first, _, _ := f.open(1, "a")
	f.open(1, "b")
	if _, _, err := f.open(1, "c"); errs.CodeOf(err) != errs.LimitExceeded {
		t.Fatalf("third device: %v", err)
	}
	second, _, err := f.open(1, "a")
	if err != nil {
		t.Fatalf("replacing a device counted against the cap: %v", err)
	}
	if f.hub.Get(1, "a") != second {
		t.Fatal("the new connection is not the device's")
	}
	// The replaced connection closes; its removal does not detach the device.
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("replaced connection not closed")
	}
	eventually(t, "replaced connection removed", func() bool { return f.hub.Count() == 3 }) // second, b, and the refused c
	want := []string{"+1/a", "+1/b", "+1/a"}
	if got := f.l.Events(); !slices.Equal(got, want) {
		t.Fatalf("router told %v, want %v", got, want)
	}
	bound := f.hub.Bound()
	slices.SortFunc(bound, func(x, y routerapi.Conn) int { return strings.Compare(x.DeviceID, y.DeviceID) })
	if want := []routerapi.Conn{{UserID: 1, DeviceID: "a"}, {UserID: 1, DeviceID: "b"}}; !slices.Equal(bound, want) {
		t.Fatalf("bound = %v, want %v", bound, want)
	}
}

func TestRemoveOfTheCurrentConnectionDetachesIt(t *testing.T) {
	f := newFixture(t, 2)
	c, _, _ := f.open(7, "a")
	unbound, _, _ := f.open(0, "")
	if f.hub.Count() != 2 {
		t.Fatalf("count %d", f.hub.Count())
	}
	f.hub.Remove(unbound)
	f.hub.Remove(c)
	if f.hub.Count() != 0 || f.hub.Get(7, "a") != nil || len(f.hub.Bound()) != 0 {
		t.Fatal("hub still holds a removed connection")
	}
	if got := f.l.Events(); !slices.Equal(got, []string{"+7/a", "-7/a"}) {
		t.Fatalf("router told %v", got)
	}
}

func TestEachVisitsEveryConnectionOutsideTheLock(t *testing.T) {
	f := newFixture(t, 2)
	f.open(1, "a")
	f.open(0, "")
	n := 0
	f.hub.Each(func(c *conn.Conn) {
		n++
		f.hub.Count() // would deadlock if Each held the write lock; fine under a read lock too
		f.hub.Remove(c)
	})
	if n != 2 || f.hub.Count() != 0 {
		t.Fatalf("visited %d, %d left", n, f.hub.Count())
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
