package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/stackenv"
)

func TestTwoRegionsRouteKillAndDrainOnRedis(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisAddr)
	runTwoRegions(t, env[stackenv.RedisAddr])
}

func TestTwoRegionsRouteKillAndDrainOnRedisCluster(t *testing.T) {
	env := stackenv.Require(t, stackenv.RedisClusterAddrs)
	runTwoRegions(t, env[stackenv.RedisClusterAddrs])
}

// startRegions starts two regions, eu and us, each with a router peered to
// the other's and two gateways, on one Redis (or Cluster) under one prefix.
func startRegions(t *testing.T, redisAddrs, authURL string) (eu, us *region) {
	euPort, usPort := freePort(t), freePort(t)
	prefix := keyPrefix()
	eu, us = &region{name: "eu"}, &region{name: "us"}
	eu.router = startRouter(t, routerOpts{region: "eu", redisAddrs: redisAddrs, prefix: prefix,
		peers: []string{fmt.Sprintf("us=http://127.0.0.1:%d", usPort)}, addr: fmt.Sprintf("127.0.0.1:%d", euPort)})
	us.router = startRouter(t, routerOpts{region: "us", redisAddrs: redisAddrs, prefix: prefix,
		peers: []string{fmt.Sprintf("eu=http://127.0.0.1:%d", euPort)}, addr: fmt.Sprintf("127.0.0.1:%d", usPort)})
	for _, r := range []*region{eu, us} {
		for i := 0; i < 2; i++ {
			r.gateways = append(r.gateways, startGateway(t, r.name, r.routerURL(), authURL))
		}
	}
	return eu, us
}

func lookup(t *testing.T, r *region, user ids.ID, localOnly bool) []routerapi.Route {
	var res routerapi.LookupResponse
	if code := internalCall(t, http.MethodPost, r.routerURL()+routerapi.PathLookup,
		routerapi.LookupRequest{Users: []ids.ID{user}, LocalOnly: localOnly}, &res); code != 200 {
		t.Fatalf("lookup via %s = %d", r.name, code)
	}
	return res.Routes[user]
}

func deliver(t *testing.T, r *region, users []ids.ID, body string) routerapi.DeliveryOutcome {
	var res routerapi.DeliverResponse
	frame := fmt.Sprintf(`{"v":1,"type":"message","body":%q}`, body)
	if code := internalCall(t, http.MethodPost, r.routerURL()+routerapi.PathDeliver,
		routerapi.DeliverRequest{Items: []routerapi.DeliveryItem{{Users: users, Frame: []byte(frame)}}}, &res); code != 200 {
		t.Fatalf("deliver via %s = %d", r.name, code)
	}
	return res.Outcomes[0]
}

func expectBody(t *testing.T, c *client, body string) {
	t.Helper()
	for {
		f := c.next(5 * time.Second)
		if f["type"] == "message" {
			if f["body"] != body {
				t.Fatalf("got message %v, want body %q", f, body)
			}
			return
		}
	}
}

func hasRouteVia(routes []routerapi.Route, device string, gw *kittest.Binary) bool {
	for _, r := range routes {
		if r.DeviceID == device && r.Addr == gw.Addr("internal") {
			return true
		}
	}
	return false
}

func runTwoRegions(t *testing.T, redisAddrs string) {
	k := newKeys(t)
	eu, us := startRegions(t, redisAddrs, k.srv.URL)
	const alice, bob, carol ids.ID = 1001, 1002, 1003

	phone := dial(t, eu.gateways[0], k.token(t, alice, "phone"))
	laptop := dial(t, us.gateways[1], k.token(t, alice, "laptop"))
	web := dial(t, eu.gateways[1], k.token(t, bob, "web"))
	eventually(t, 5*time.Second, "alice routable in both regions, bob in eu", func() bool {
		routes := lookup(t, eu, alice, false)
		return hasRouteVia(routes, "phone", eu.gateways[0]) && hasRouteVia(routes, "laptop", us.gateways[1]) &&
			hasRouteVia(lookup(t, eu, bob, false), "web", eu.gateways[1])
	})

	// A delivery issued in either region reaches devices in both.
	out := deliver(t, eu, []ids.ID{alice, bob, carol}, "from eu")
	if out.Pushed != 3 || len(out.Unreached) != 1 || out.Unreached[0] != carol {
		t.Fatalf("deliver via eu = %+v, want 3 pushed and carol unreached", out)
	}
	expectBody(t, phone, "from eu")
	expectBody(t, laptop, "from eu")
	expectBody(t, web, "from eu")
	if out := deliver(t, us, []ids.ID{alice}, "from us"); out.Pushed != 2 {
		t.Fatalf("deliver via us = %+v, want both of alice's devices", out)
	}
	expectBody(t, phone, "from us")
	expectBody(t, laptop, "from us")

	// A crashed gateway's connections stop routing within the lease TTL (2s).
	eu.gateways[0].Kill(t)
	eventually(t, 4*time.Second, "killed gateway's lease gone", func() bool {
		return !hasRouteVia(lookup(t, eu, alice, false), "phone", eu.gateways[0])
	})

	// Draining tells clients to reconnect elsewhere, and they do.
	if code := internalCall(t, http.MethodPost, "http://"+us.gateways[1].Addr("internal")+"/internal/v1/admin/drain", nil, nil); code != http.StatusAccepted {
		t.Fatalf("drain = %d", code)
	}
	goaway := laptop.next(5 * time.Second)
	if goaway["type"] != "goaway" || goaway["reason"] != "drain" {
		t.Fatalf("drained client got %v, want goaway", goaway)
	}
	if code := laptop.closeCode(5 * time.Second); code != 4000 {
		t.Fatalf("drained client closed with %d, want 4000 (reconnect)", code)
	}
	laptop = dial(t, us.gateways[0], k.token(t, alice, "laptop"))
	eventually(t, 5*time.Second, "reconnected laptop routable via the other gateway", func() bool {
		return hasRouteVia(lookup(t, eu, alice, false), "laptop", us.gateways[0])
	})
	if out := deliver(t, eu, []ids.ID{alice}, "after drain"); out.Pushed != 1 {
		t.Fatalf("deliver after drain = %+v, want the reconnected laptop", out)
	}
	expectBody(t, laptop, "after drain")
}
