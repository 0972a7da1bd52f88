// Package storetest is the contract every store.Registry adapter passes. It
// lives in a non-test file so each adapter's tests can run it.
package storetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/router/internal/store"
	"github.com/parleychat/parley/shared/ids"
)

// NewRegistry returns an empty registry, isolated from other tests.
type NewRegistry func(t *testing.T) store.Registry

const ttl = 10 * time.Second

// shortTTL is a lease that expires within a test, yet long enough that a
// loaded CI machine finishes the steps that must happen before it expires.
const shortTTL = time.Second

var nextUser ids.ID = 1000

func users(n int) []ids.ID {
	out := make([]ids.ID, n)
	for i := range out {
		nextUser++
		out[i] = nextUser
	}
	return out
}

func gw(id string) entity.Gateway {
	return entity.Gateway{ID: id, Region: "eu", Addr: "127.0.0.1:" + fmt.Sprint(7000+len(id))}
}

func announce(t *testing.T, r store.Registry, g entity.Gateway, ttl time.Duration) bool {
	t.Helper()
	known, err := r.Announce(context.Background(), g, ttl)
	if err != nil {
		t.Fatalf("announce %s: %v", g.ID, err)
	}
	return known
}

func attach(t *testing.T, r store.Registry, gid string, conns ...entity.Conn) {
	t.Helper()
	if err := r.Attach(context.Background(), gid, conns); err != nil {
		t.Fatalf("attach: %v", err)
	}
}

func lookup(t *testing.T, r store.Registry, us ...ids.ID) map[ids.ID][]entity.Route {
	t.Helper()
	got, err := r.Lookup(context.Background(), us)
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	return got
}

// describe renders routes as sorted "device@gateway" strings.
func describe(routes []entity.Route) []string {
	var out []string
	for _, r := range routes {
		out = append(out, r.DeviceID+"@"+r.GatewayID)
	}
	sort.Strings(out)
	return out
}

func wantRoutes(t *testing.T, got []entity.Route, want ...string) {
	t.Helper()
	sort.Strings(want)
	if fmt.Sprint(describe(got)) != fmt.Sprint(want) {
		t.Fatalf("routes = %v, want %v", describe(got), want)
	}
}

// Run runs the contract against registries made by newRegistry.
func Run(t *testing.T, newRegistry NewRegistry) {
	t.Run("AttachedConnectionRoutesToItsGateway", func(t *testing.T) {
		r := newRegistry(t)
		g := gw("gw-a")
		announce(t, r, g, ttl)
		u := users(1)[0]
		attach(t, r, g.ID, entity.Conn{UserID: u, DeviceID: "phone"})
		got := lookup(t, r, u)
		wantRoutes(t, got[u], "phone@gw-a")
		if rt := got[u][0]; rt.Addr != g.Addr || rt.Region != "eu" || rt.UserID != u {
			t.Fatalf("route = %+v", rt)
		}
	})

	t.Run("UnknownUsersAreAbsent", func(t *testing.T) {
		r := newRegistry(t)
		us := users(3)
		if got := lookup(t, r, us...); len(got) != 0 {
			t.Fatalf("lookup of unknown users = %v", got)
		}
		if got := lookup(t, r); len(got) != 0 {
			t.Fatalf("lookup of nobody = %v", got)
		}
	})

	t.Run("DevicesOnSeveralGatewaysAllRoute", func(t *testing.T) {
		r := newRegistry(t)
		announce(t, r, gw("gw-a"), ttl)
		announce(t, r, gw("gw-b"), ttl)
		us := users(2)
		attach(t, r, "gw-a", entity.Conn{UserID: us[0], DeviceID: "phone"}, entity.Conn{UserID: us[1], DeviceID: "web"})
		attach(t, r, "gw-b", entity.Conn{UserID: us[0], DeviceID: "laptop"})
		got := lookup(t, r, us[0], us[1], us[0])
		wantRoutes(t, got[us[0]], "phone@gw-a", "laptop@gw-b")
		wantRoutes(t, got[us[1]], "web@gw-a")
	})

	t.Run("ReattachMovesDeviceAndLateDetachFromOldGatewayIsIgnored", func(t *testing.T) {
		r := newRegistry(t)
		announce(t, r, gw("gw-a"), ttl)
		announce(t, r, gw("gw-b"), ttl)
		u := users(1)[0]
		c := entity.Conn{UserID: u, DeviceID: "phone"}
		attach(t, r, "gw-a", c)
		attach(t, r, "gw-b", c)
		if err := r.Detach(context.Background(), "gw-a", []entity.Conn{c}); err != nil {
			t.Fatal(err)
		}
		wantRoutes(t, lookup(t, r, u)[u], "phone@gw-b")
		if err := r.Detach(context.Background(), "gw-b", []entity.Conn{c}); err != nil {
			t.Fatal(err)
		}
		if got := lookup(t, r, u); len(got) != 0 {
			t.Fatalf("after detach: %v", got)
		}
	})

	t.Run("DeadGatewaysConnectionsVanishWithinTTL", func(t *testing.T) {
		r := newRegistry(t)
		announce(t, r, gw("gw-short"), shortTTL)
		announce(t, r, gw("gw-long"), ttl)
		u := users(1)[0]
		attach(t, r, "gw-short", entity.Conn{UserID: u, DeviceID: "a"})
		attach(t, r, "gw-long", entity.Conn{UserID: u, DeviceID: "b"})
		wantRoutes(t, lookup(t, r, u)[u], "a@gw-short", "b@gw-long")
		time.Sleep(shortTTL + 300*time.Millisecond)
		wantRoutes(t, lookup(t, r, u)[u], "b@gw-long")
		gws, err := r.Gateways(context.Background())
		if err != nil || len(gws) != 1 || gws[0].ID != "gw-long" {
			t.Fatalf("live gateways = %v, %v", gws, err)
		}
	})

	t.Run("WithdrawStopsRoutingAtOnce", func(t *testing.T) {
		r := newRegistry(t)
		announce(t, r, gw("gw-a"), ttl)
		u := users(1)[0]
		attach(t, r, "gw-a", entity.Conn{UserID: u, DeviceID: "a"})
		if err := r.Withdraw(context.Background(), "gw-a"); err != nil {
			t.Fatal(err)
		}
		if got := lookup(t, r, u); len(got) != 0 {
			t.Fatalf("after withdraw: %v", got)
		}
	})

	t.Run("AnnounceReportsWhetherGatewayWasKnown", func(t *testing.T) {
		r := newRegistry(t)
		g := gw("gw-a")
		if announce(t, r, g, shortTTL) {
			t.Fatal("first announce reported known")
		}
		if !announce(t, r, g, shortTTL) {
			t.Fatal("heartbeat reported unknown")
		}
		time.Sleep(shortTTL + 300*time.Millisecond)
		if announce(t, r, g, ttl) {
			t.Fatal("announce after expiry reported known: the gateway would not re-attach its connections")
		}
	})

	t.Run("ConcurrentAttachDetachLookupIsSafe", func(t *testing.T) {
		r := newRegistry(t)
		announce(t, r, gw("gw-a"), ttl)
		us := users(50)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, u := range us {
					c := entity.Conn{UserID: u, DeviceID: fmt.Sprintf("d%d", w)}
					if err := r.Attach(context.Background(), "gw-a", []entity.Conn{c}); err != nil {
						t.Error(err)
						return
					}
					if _, err := r.Lookup(context.Background(), us[:i+1]); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		got := lookup(t, r, us...)
		for _, u := range us {
			wantRoutes(t, got[u], "d0@gw-a", "d1@gw-a", "d2@gw-a", "d3@gw-a")
		}
	})
}
