package usecase

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/router/internal/store/memory"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// recordingPusher stands in for the gateways' push endpoint: it records
// batches and answers as a gateway holding only the connections it is told.
type recordingPusher struct {
	mu      sync.Mutex
	batches map[string][]PushBatch
	failing map[string]bool
	gone    map[entity.Conn]bool
}

func newPusher() *recordingPusher {
	return &recordingPusher{batches: map[string][]PushBatch{}, failing: map[string]bool{}, gone: map[entity.Conn]bool{}}
}

func (p *recordingPusher) Push(_ context.Context, addr string, b PushBatch) (PushResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches[addr] = append(p.batches[addr], b)
	if p.failing[addr] {
		return PushResult{}, errors.New("connection refused")
	}
	var res PushResult
	for _, it := range b.Items {
		for _, c := range it.Conns {
			if p.gone[c] {
				res.Missing = append(res.Missing, c)
			} else {
				res.Delivered++
			}
		}
	}
	return res, nil
}

type fakePeer struct {
	region    string
	routes    map[ids.ID][]entity.Route
	delivered [][]DeliveryItem
	fail      bool
}

func (p *fakePeer) Region() string { return p.region }
func (p *fakePeer) Lookup(_ context.Context, users []ids.ID) (map[ids.ID][]entity.Route, error) {
	if p.fail {
		return nil, errors.New("peer down")
	}
	out := map[ids.ID][]entity.Route{}
	for _, u := range users {
		if rs, ok := p.routes[u]; ok {
			out[u] = rs
		}
	}
	return out, nil
}
func (p *fakePeer) Deliver(_ context.Context, items []DeliveryItem) ([]DeliveryOutcome, error) {
	if p.fail {
		return nil, errors.New("peer down")
	}
	p.delivered = append(p.delivered, items)
	out := make([]DeliveryOutcome, len(items))
	for i, it := range items {
		for _, u := range it.Users {
			if rs, ok := p.routes[u]; ok {
				out[i].Pushed += len(rs)
			} else {
				out[i].Unreached = append(out[i].Unreached, u)
			}
		}
	}
	return out, nil
}

type fixture struct {
	reg     *memory.Registry
	pusher  *recordingPusher
	routing *Routing
}

func newFixture(t *testing.T, peers ...Peer) *fixture {
	t.Helper()
	reg := memory.New()
	ctx := context.Background()
	for _, g := range []entity.Gateway{{ID: "a", Region: "eu", Addr: "10.0.0.1:1"}, {ID: "b", Region: "eu", Addr: "10.0.0.2:1"}} {
		if _, err := reg.Announce(ctx, g, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	p := newPusher()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &fixture{reg: reg, pusher: p, routing: NewRouting(reg, p, peers, time.Second, logger, prometheus.NewRegistry())}
}

func (f *fixture) attach(t *testing.T, gateway string, user ids.ID, device string) entity.Conn {
	t.Helper()
	c := entity.Conn{UserID: user, DeviceID: device}
	if err := f.reg.Attach(context.Background(), gateway, []entity.Conn{c}); err != nil {
		t.Fatal(err)
	}
	return c
}

func frame(s string) json.RawMessage { return json.RawMessage(`{"type":"` + s + `"}`) }

func sortedIDs(v []ids.ID) []ids.ID {
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v
}

func TestDeliverSendsOneBatchPerGatewayForAllItems(t *testing.T) {
	f := newFixture(t)
	f.attach(t, "a", 1, "phone")
	f.attach(t, "a", 2, "phone")
	f.attach(t, "b", 1, "laptop")
	out, err := f.routing.Deliver(context.Background(), []DeliveryItem{
		{Users: []ids.ID{1, 2}, Frame: frame("m1")},
		{Users: []ids.ID{2, 3}, Frame: frame("m2")},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.pusher.batches["10.0.0.1:1"]) != 1 || len(f.pusher.batches["10.0.0.2:1"]) != 1 {
		t.Fatalf("want exactly one push per gateway, got %v", f.pusher.batches)
	}
	a := f.pusher.batches["10.0.0.1:1"][0]
	if len(a.Items) != 2 || len(a.Items[0].Conns) != 2 || len(a.Items[1].Conns) != 1 {
		t.Fatalf("gateway a batch = %+v", a)
	}
	if out[0].Pushed != 3 || len(out[0].Unreached) != 0 {
		t.Fatalf("item 0 outcome = %+v, want 3 pushed (two devices of 1, one of 2)", out[0])
	}
	if out[1].Pushed != 1 || len(out[1].Unreached) != 1 || out[1].Unreached[0] != 3 {
		t.Fatalf("item 1 outcome = %+v, want user 3 unreached", out[1])
	}
}

func TestDeliverSkipsListedConnections(t *testing.T) {
	f := newFixture(t)
	sender := f.attach(t, "a", 1, "phone")
	f.attach(t, "b", 1, "laptop")
	out, err := f.routing.Deliver(context.Background(), []DeliveryItem{{Users: []ids.ID{1}, Frame: frame("m"), Skip: []entity.Conn{sender}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Pushed != 1 || len(f.pusher.batches["10.0.0.1:1"]) != 0 {
		t.Fatalf("sender device got its own frame: %+v %v", out, f.pusher.batches)
	}
}

func TestDeliverReportsUsersOnFailedGatewaysOrMissingConnsAsUnreached(t *testing.T) {
	f := newFixture(t)
	f.attach(t, "a", 1, "phone")
	gone := f.attach(t, "b", 2, "phone")
	f.attach(t, "b", 3, "phone")
	f.pusher.failing["10.0.0.1:1"] = true
	f.pusher.gone[gone] = true
	out, err := f.routing.Deliver(context.Background(), []DeliveryItem{{Users: []ids.ID{1, 2, 3, 4}, Frame: frame("m")}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedIDs(out[0].Unreached); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 4 {
		t.Fatalf("unreached = %v, want [1 2 4]", got)
	}
	if out[0].Pushed != 1 {
		t.Fatalf("pushed = %d, want 1", out[0].Pushed)
	}
}

func TestDeliverReachesUsersInPeerRegionsAndBothRegionsAtOnce(t *testing.T) {
	peer := &fakePeer{region: "us", routes: map[ids.ID][]entity.Route{
		1: {{Conn: entity.Conn{UserID: 1, DeviceID: "laptop"}}},
		5: {{Conn: entity.Conn{UserID: 5, DeviceID: "phone"}}},
	}}
	down := &fakePeer{region: "ap", fail: true}
	f := newFixture(t, peer, down)
	f.attach(t, "a", 1, "phone")
	out, err := f.routing.Deliver(context.Background(), []DeliveryItem{{Users: []ids.ID{1, 5, 6}, Frame: frame("m")}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Pushed != 3 {
		t.Fatalf("pushed = %d, want 3 (user 1 in both regions, user 5 in us)", out[0].Pushed)
	}
	if len(out[0].Unreached) != 1 || out[0].Unreached[0] != 6 {
		t.Fatalf("unreached = %v, want [6]", out[0].Unreached)
	}
	if len(peer.delivered) != 1 {
		t.Fatal("peer not asked to deliver")
	}
	local, err := f.routing.Deliver(context.Background(), []DeliveryItem{{Users: []ids.ID{5}, Frame: frame("m")}}, true)
	if err != nil || len(local[0].Unreached) != 1 || len(peer.delivered) != 1 {
		t.Fatalf("local-only delivery consulted peers or reached user 5: %+v %v", local, err)
	}
}

func TestLookupMergesPeerRegions(t *testing.T) {
	peer := &fakePeer{region: "us", routes: map[ids.ID][]entity.Route{1: {{Conn: entity.Conn{UserID: 1, DeviceID: "laptop"}, Region: "us"}}}}
	f := newFixture(t, peer)
	f.attach(t, "a", 1, "phone")
	got, err := f.routing.Lookup(context.Background(), []ids.ID{1, 2}, false)
	if err != nil || len(got[1]) != 2 || len(got[2]) != 0 {
		t.Fatalf("lookup = %v, %v", got, err)
	}
}

func TestDeliverRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	many := make([]ids.ID, MaxUsersPerCall+1)
	for i := range many {
		many[i] = ids.ID(i + 1)
	}
	cases := map[string]struct {
		items []DeliveryItem
		code  errs.Code
	}{
		"no items":       {nil, errs.InvalidArgument},
		"no users":       {[]DeliveryItem{{Frame: frame("m")}}, errs.InvalidArgument},
		"bad user":       {[]DeliveryItem{{Users: []ids.ID{0}, Frame: frame("m")}}, errs.InvalidArgument},
		"empty frame":    {[]DeliveryItem{{Users: []ids.ID{1}}}, errs.InvalidArgument},
		"frame not json": {[]DeliveryItem{{Users: []ids.ID{1}, Frame: json.RawMessage(`{"a":`)}}, errs.InvalidArgument},
		"too many users": {[]DeliveryItem{{Users: many, Frame: frame("m")}}, errs.InvalidArgument},
		"too many items": {make([]DeliveryItem, MaxItemsPerCall+1), errs.LimitExceeded},
	}
	for name, tc := range cases {
		if _, err := f.routing.Deliver(context.Background(), tc.items, false); errs.CodeOf(err) != tc.code {
			t.Errorf("%s: err = %v, want %s", name, err, tc.code)
		}
	}
}

func TestRegistrationRejectsForeignRegionAndBadConns(t *testing.T) {
	reg := NewRegistration(memory.New(), "eu", time.Minute)
	ctx := context.Background()
	if _, err := reg.Announce(ctx, entity.Gateway{ID: "g", Region: "us", Addr: "127.0.0.1:1"}); errs.CodeOf(err) != errs.FailedPrecondition {
		t.Errorf("foreign region: %v", err)
	}
	if _, err := reg.Announce(ctx, entity.Gateway{ID: "g", Region: "eu", Addr: "nowhere"}); errs.CodeOf(err) != errs.InvalidArgument {
		t.Errorf("bad addr: %v", err)
	}
	if err := reg.Attach(ctx, "g", []entity.Conn{{UserID: 1, DeviceID: "bad device id"}}); errs.CodeOf(err) != errs.InvalidArgument {
		t.Errorf("bad device: %v", err)
	}
	if err := reg.Attach(ctx, "", []entity.Conn{{UserID: 1, DeviceID: "d"}}); errs.CodeOf(err) != errs.InvalidArgument {
		t.Errorf("no gateway: %v", err)
	}
}
