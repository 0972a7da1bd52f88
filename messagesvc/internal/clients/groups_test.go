package clients_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/clients"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
)

// fakeRosters serves one group's roster at a settable version.
type fakeRosters struct {
	version atomic.Int64
	calls   atomic.Int64
	gate    chan struct{} // when set, each roster call waits for it
}

func (f *fakeRosters) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(groupapi.Roster{Group: 5, Version: f.version.Load(),
		Members: []groupapi.Member{{User: 1, Role: groupapi.RoleOwner}}})
}

func newGroups(t *testing.T, f *fakeRosters, ttl time.Duration) *clients.Groups {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return clients.NewGroups(kit.NewClient(srv.URL, http.DefaultTransport, 2*time.Second), ttl)
}

func version(t *testing.T, g *clients.Groups) int64 {
	t.Helper()
	r, err := g.Roster(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	return r.Version
}

func TestRosterIsCachedUntilTheTTLOrAnEventWithANewerVersion(t *testing.T) {
	f := &fakeRosters{}
	f.version.Store(1)
	g := newGroups(t, f, 150*time.Millisecond)
	if v := version(t, g); v != 1 {
		t.Fatalf("version %d", v)
	}
	f.version.Store(2)
	if v := version(t, g); v != 1 || f.calls.Load() != 1 {
		t.Fatalf("within the TTL: version %d after %d calls, want the cached 1 after 1 call", v, f.calls.Load())
	}
	g.Invalidate(5, 1, nil) // an event for the cached version itself: keep
	if v := version(t, g); v != 1 {
		t.Fatalf("after an event of the cached version: %d", v)
	}
	g.Invalidate(5, 2, nil)
	if v := version(t, g); v != 2 || f.calls.Load() != 2 {
		t.Fatalf("after the event: version %d after %d calls, want 2 fetched again", v, f.calls.Load())
	}
	f.version.Store(3) // a change whose event never came
	time.Sleep(200 * time.Millisecond)
	if v := version(t, g); v != 3 {
		t.Fatalf("after the TTL: version %d, want 3", v)
	}
}

func TestConcurrentMissesShareOneCallAndAStaleAnswerIsNotCached(t *testing.T) {
	f := &fakeRosters{gate: make(chan struct{})}
	f.version.Store(1)
	g := newGroups(t, f, time.Hour)
	var wg sync.WaitGroup
	got := make([]int64, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := g.Roster(context.Background(), 5)
			if err == nil {
				got[i] = r.Version
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	// An event announces version 2 while the call for version 1 is in flight.
	g.Invalidate(5, 2, []ids.ID{1})
	close(f.gate)
	wg.Wait()
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d roster calls for 20 concurrent misses, want 1", n)
	}
	for _, v := range got {
		if v != 1 {
			t.Fatalf("versions %v", got)
		}
	}
	f.gate = nil
	f.version.Store(2)
	if v := version(t, g); v != 2 || f.calls.Load() != 2 {
		t.Fatalf("the in-flight answer older than the event was cached: version %d after %d calls", v, f.calls.Load())
	}
}
