package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/stackenv"
)

// privateRedis is a redis-server of this test alone, so stopping it cannot
// disturb tests sharing the stack's Redis. The binary is the one
// deploy/stack installs.
type privateRedis struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T, port int, dir string) *privateRedis {
	t.Helper()
	r := &privateRedis{t: t, port: port, dir: dir}
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(port),
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("redis-server (installed by deploy/stack/up.sh): %v", err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); _ = r.cmd.Wait() })
	eventually(t, 5*time.Second, "private redis up", func() bool {
		c, err := net.Dial("tcp", r.addr())
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	return r
}

func (r *privateRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *privateRedis) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

func TestRedisRestartRepopulatesRoutesWithoutClientsReconnecting(t *testing.T) {
	stackenv.Require(t, stackenv.RedisAddr) // the stack is up, so redis-server is installed
	k := newKeys(t)
	redis := startPrivateRedis(t, freePort(t), t.TempDir())
	eu := &region{name: "eu"}
	eu.router = startRouter(t, routerOpts{region: "eu", redisAddrs: redis.addr(), prefix: keyPrefix()})
	gw := startGateway(t, "eu", eu.routerURL(), k.srv.URL)
	const dana ids.ID = 2001
	phone := dial(t, gw, k.token(t, dana, "phone"))
	eventually(t, 5*time.Second, "dana routable", func() bool { return hasRouteVia(lookup(t, eu, dana, true), "phone", gw) })

	// Redis gone: routing fails fast with a retryable error, connections stay.
	redis.stop()
	var failure map[string]map[string]any
	start := time.Now()
	code := internalCall(t, http.MethodPost, eu.routerURL()+routerapi.PathLookup, routerapi.LookupRequest{Users: []ids.ID{dana}}, &failure)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("lookup with Redis down = %d, want 503", code)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("lookup with Redis down took %v: it must fail fast", took)
	}

	// Redis back, empty: the gateway's next heartbeat finds itself forgotten
	// and registers every connection again; the client never reconnects.
	redis = startPrivateRedis(t, redis.port, t.TempDir())
	eventually(t, 10*time.Second, "dana routable again after the Redis restart", func() bool {
		var res routerapi.LookupResponse
		if internalCall(t, http.MethodPost, eu.routerURL()+routerapi.PathLookup, routerapi.LookupRequest{Users: []ids.ID{dana}}, &res) != 200 {
			return false
		}
		return hasRouteVia(res.Routes[dana], "phone", gw)
	})
	if out := deliver(t, eu, []ids.ID{dana}, "after restart"); out.Pushed != 1 {
		t.Fatalf("deliver after restart = %+v", out)
	}
	expectBody(t, phone, "after restart")
	select {
	case code := <-phone.closed:
		t.Fatalf("client was disconnected (%d) by the Redis restart", code)
	default:
	}
}
