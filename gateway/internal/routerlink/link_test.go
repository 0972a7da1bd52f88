package routerlink

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/routerapi"
)

// stubRouter records every call and answers announce with known/ttl; a
// path in fail answers 503 while it is set.
type stubRouter struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    []call
	known    bool
	ttlMs    int64
	fail     map[string]bool
	withdraw []string
}

type call struct {
	path  string
	conns []routerapi.Conn
}

func newStubRouter(t *testing.T) *stubRouter {
	r := &stubRouter{known: true, ttlMs: 10_000, fail: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *stubRouter) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail[req.URL.Path] {
		status, eb := kit.ToBody(errs.New(errs.Unavailable, "redis down"))
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(eb)
		return
	}
	switch req.URL.Path {
	case routerapi.PathAnnounce:
		var a routerapi.AnnounceRequest
		_ = json.Unmarshal(body, &a)
		r.calls = append(r.calls, call{path: req.URL.Path})
		_ = json.NewEncoder(w).Encode(routerapi.AnnounceResponse{Known: r.known, TTLMs: r.ttlMs})
	case routerapi.PathAttach, routerapi.PathDetach:
		var c routerapi.ConnsRequest
		_ = json.Unmarshal(body, &c)
		if c.GatewayID != "gw-1" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.calls = append(r.calls, call{path: req.URL.Path, conns: c.Conns})
		w.WriteHeader(http.StatusNoContent)
	case routerapi.PathWithdraw:
		var wr routerapi.WithdrawRequest
		_ = json.Unmarshal(body, &wr)
		r.withdraw = append(r.withdraw, wr.GatewayID)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (r *stubRouter) set(fn func(r *stubRouter)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r)
}

// take returns the calls recorded so far and forgets them.
func (r *stubRouter) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func only(calls []call, path string) []call {
	var out []call
	for _, c := range calls {
		if c.path == path {
			out = append(out, c)
		}
	}
	return out
}

func newTestLink(t *testing.T, r *stubRouter, snapshot []routerapi.Conn) *Link {
	client := kit.NewClient(r.srv.URL, http.DefaultTransport, 2*time.Second)
	return New(client, routerapi.Gateway{ID: "gw-1", Region: "eu", Addr: "127.0.0.1:7100"},
		func() []routerapi.Conn { return slices.Clone(snapshot) }, 5*time.Millisecond,
		slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
}

func conns(n int) []routerapi.Conn {
	out := make([]routerapi.Conn, n)
	for i := range out {
		out[i] = routerapi.Conn{UserID: ids.ID(i + 1), DeviceID: "d"}
	}
	return out
}

func sorted(cs []routerapi.Conn) []routerapi.Conn {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b routerapi.Conn) int { return int(a.UserID - b.UserID) })
	return cs
}

func TestAttachesAreCoalescedIntoOneBatchPerFlush(t *testing.T) {
	r := newStubRouter(t)
	l := newTestLink(t, r, nil)
	for _, c := range conns(100) {
		l.Attached(c)
	}
	l.flush(context.Background())
	calls := r.take()
	if len(calls) != 1 || calls[0].path != routerapi.PathAttach || !slices.Equal(sorted(calls[0].conns), conns(100)) {
		t.Fatalf("100 attaches made %d calls: %+v", len(calls), calls)
	}
	l.flush(context.Background())
	if calls := r.take(); len(calls) != 0 {
		t.Fatalf("an empty flush called the router: %+v", calls)
	}
}

func TestLargeBatchesAreSplitAtMaxBatch(t *testing.T) {
	r := newStubRouter(t)
	l := newTestLink(t, r, nil)
	for _, c := range conns(2*maxBatch + 500) {
		l.Attached(c)
	}
	l.flush(context.Background())
	calls := r.take()
	if len(calls) != 3 || len(calls[0].conns) != maxBatch || len(calls[1].conns) != maxBatch || len(calls[2].conns) != 500 {
		t.Fatalf("calls: %d", len(calls))
	}
}

func TestAttachThenDetachWithinAWindowSendsOnlyTheDetach(t *testing.T) {
	r := newStubRouter(t)
	l := newTestLink(t, r, nil)
	a, b := routerapi.Conn{UserID: 1, DeviceID: "a"}, routerapi.Conn{UserID: 2, DeviceID: "b"}
	l.Attached(a)
	l.Detached(a)
	l.Detached(b)
	l.Attached(b) // b reconnected within the window: attach only
	l.flush(context.Background())
	calls := r.take()
	if len(calls) != 2 {
		t.Fatalf("calls: %+v", calls)
	}
	if at := only(calls, routerapi.PathAttach); len(at) != 1 || !slices.Equal(at[0].conns, []routerapi.Conn{b}) {
		t.Fatalf("attach calls %+v, want only b", at)
	}
	if de := only(calls, routerapi.PathDetach); len(de) != 1 || !slices.Equal(de[0].conns, []routerapi.Conn{a}) {
		t.Fatalf("detach calls %+v, want only a", de)
	}
}

func TestAnnounceAnsweredUnknownReattachesTheWholeSnapshot(t *testing.T) {
	r := newStubRouter(t)
	snap := conns(5)
	l := newTestLink(t, r, snap)
	l.Heartbeat(context.Background())
	if calls := r.take(); len(calls) != 1 || calls[0].path != routerapi.PathAnnounce {
		t.Fatalf("a known gateway's heartbeat made calls %+v", calls)
	}
	r.set(func(r *stubRouter) { r.known = false }) // the router's Redis restarted
	l.Heartbeat(context.Background())
	calls := r.take()
	if len(calls) != 2 || calls[1].path != routerapi.PathAttach || !slices.Equal(sorted(calls[1].conns), snap) {
		t.Fatalf("heartbeat to a router that forgot us made %+v", calls)
	}
}

func TestFailedAttachIsResyncedOnTheNextSuccessfulHeartbeat(t *testing.T) {
	r := newStubRouter(t)
	snap := conns(3)
	l := newTestLink(t, r, snap)
	r.set(func(r *stubRouter) { r.fail[routerapi.PathAttach] = true })
	l.Attached(snap[2])
	l.flush(context.Background())
	r.take()
	// Still failing: the heartbeat succeeds, the resync does not; it stays due.
	l.Heartbeat(context.Background())
	if calls := r.take(); len(calls) != 1 {
		t.Fatalf("calls while attach fails: %+v", calls)
	}
	r.set(func(r *stubRouter) { r.fail[routerapi.PathAttach] = false; r.fail[routerapi.PathAnnounce] = true })
	l.Heartbeat(context.Background()) // a failed heartbeat does not resync
	if calls := r.take(); len(calls) != 0 {
		t.Fatalf("calls after a failed heartbeat: %+v", calls)
	}
	r.set(func(r *stubRouter) { r.fail[routerapi.PathAnnounce] = false })
	l.Heartbeat(context.Background())
	calls := r.take()
	if len(calls) != 2 || calls[1].path != routerapi.PathAttach || !slices.Equal(sorted(calls[1].conns), snap) {
		t.Fatalf("heartbeat after a failed attach made %+v", calls)
	}
	l.Heartbeat(context.Background())
	if calls := r.take(); len(calls) != 1 {
		t.Fatalf("resync repeated: %+v", calls)
	}
}

func TestFailedDetachIsNotRetried(t *testing.T) {
	r := newStubRouter(t)
	l := newTestLink(t, r, nil)
	r.set(func(r *stubRouter) { r.fail[routerapi.PathDetach] = true })
	l.Detached(routerapi.Conn{UserID: 1, DeviceID: "a"})
	l.flush(context.Background())
	r.set(func(r *stubRouter) { r.fail[routerapi.PathDetach] = false })
	l.flush(context.Background())
	l.Heartbeat(context.Background())
	if calls := r.take(); len(calls) != 1 || calls[0].path != routerapi.PathAnnounce {
		t.Fatalf("calls: %+v", calls)
	}
}

func TestHealthyReflectsHeartbeatSuccessWithinTheTTL(t *testing.T) {
	r := newStubRouter(t)
	l := newTestLink(t, r, nil)
	if l.Healthy() == nil {
		t.Fatal("healthy before any heartbeat")
	}
	r.set(func(r *stubRouter) { r.fail[routerapi.PathAnnounce] = true })
	l.Heartbeat(context.Background())
	if l.Healthy() == nil {
		t.Fatal("healthy after a failed heartbeat")
	}
	r.set(func(r *stubRouter) { r.fail[routerapi.PathAnnounce] = false; r.ttlMs = 1000 })
	l.Heartbeat(context.Background())
	if err := l.Healthy(); err != nil {
		t.Fatalf("unhealthy after a heartbeat: %v", err)
	}
	r.set(func(r *stubRouter) { r.fail[routerapi.PathAnnounce] = true })
	l.Heartbeat(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for l.Healthy() == nil {
		if time.Now().After(deadline) {
			t.Fatal("still healthy long after the TTL without a heartbeat")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWithdrawPostsTheGatewayID(t *testing.T) {
	r := newStubRouter(t)
	l := newTestLink(t, r, nil)
	if err := l.Withdraw(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.withdraw, []string{"gw-1"}) {
		t.Fatalf("withdrawn %v", r.withdraw)
	}
}

func TestRunHeartbeatsAndFlushesUntilCancelled(t *testing.T) {
	r := newStubRouter(t)
	r.set(func(r *stubRouter) { r.ttlMs = 60 }) // heartbeat every 20 ms
	l := newTestLink(t, r, nil)
	l.Heartbeat(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	l.Attached(routerapi.Conn{UserID: 9, DeviceID: "x"})
	deadline := time.Now().Add(5 * time.Second)
	var attaches, announces int
	for attaches == 0 || announces < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: %d attaches, %d announces", attaches, announces)
		}
		for _, c := range r.take() {
			switch c.path {
			case routerapi.PathAttach:
				attaches++
			case routerapi.PathAnnounce:
				announces++
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
