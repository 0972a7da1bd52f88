package e2etest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/stackenv"
)

// Binaries are built once per test run.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

var services = []string{"authsvc", "router", "gateway", "messagesvc", "receiptsvc", "groupsvc"}

func binary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		wd, _ := os.Getwd()
		root, ok := stackenv.RepoRoot(wd)
		if !ok {
			buildErr = fmt.Errorf("no go.work above %s", wd)
			return
		}
		binDir, buildErr = os.MkdirTemp("", "chatload-e2e-bin-")
		if buildErr != nil {
			return
		}
		pkgs := map[string]string{"chatload": "github.com/parleychat/parley/deploy/chatload/cmd/chatload"}
		for _, s := range services {
			pkgs[s] = "github.com/parleychat/parley/" + s + "/cmd/" + s
		}
		for name, pkg := range pkgs {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// platform is every service as its own process on embedded stores: the
// all-in-one shape, one process per service, on free loopback ports.
type platform struct {
	auth, router, messages, receipts, groups *kittest.Binary
	gateways                                 []*kittest.Binary
}

func (p *platform) gatewayURLs() string {
	s := ""
	for i, g := range p.gateways {
		if i > 0 {
			s += ","
		}
		s += "http://" + g.Addr("public")
	}
	return s
}

// loadFlags are what a load environment changes: cheap password hashing
// and sign-in limits that let one machine provision thousands of users,
// and per-connection rate limits that let few clients send many messages.
var (
	authLoadFlags    = []string{"-auth.argon2.memory-kib=1024", "-auth.argon2.iterations=1", "-auth.ratelimit.addr-limit=1000000", "-auth.ratelimit.account-limit=1000000"}
	gatewayLoadFlags = []string{"-gateway.rate-limits=frames=60000:6000,send=30000:3000,typing=30:5,history=6000:600"}
)

func startPlatform(t *testing.T, gateways int) *platform {
	t.Helper()
	dir := t.TempDir()
	p := &platform{}
	p.auth = kittest.Start(t, binary(t, "authsvc"), append([]string{"-internal.addr=127.0.0.1:0", "-auth.data-dir=" + filepath.Join(dir, "auth")}, authLoadFlags...), "internal")
	p.router = kittest.Start(t, binary(t, "router"), []string{"-internal.addr=127.0.0.1:0"}, "internal")
	groupsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p.messages = kittest.Start(t, binary(t, "messagesvc"), []string{"-internal.addr=127.0.0.1:0", "-messages.data-dir=" + filepath.Join(dir, "messages"),
		"-messages.router-url=" + p.router.URL(), "-messages.auth-url=" + p.auth.URL(), "-messages.groups-url=http://" + groupsAddr, "-messages.node-id=3"}, "internal")
	p.groups = kittest.Start(t, binary(t, "groupsvc"), []string{"-internal.addr=" + groupsAddr, "-groups.data-dir=" + filepath.Join(dir, "groups"),
		"-groups.auth-url=" + p.auth.URL(), "-groups.messages-url=" + p.messages.URL(), "-groups.node-id=4"}, "internal")
	p.receipts = kittest.Start(t, binary(t, "receiptsvc"), []string{"-internal.addr=127.0.0.1:0", "-receipts.messages-url=" + p.messages.URL()}, "internal")
	for i := 0; i < gateways; i++ {
		p.gateways = append(p.gateways, kittest.Start(t, binary(t, "gateway"), append([]string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0",
			"-gateway.router-url=" + p.router.URL(), "-gateway.auth-url=" + p.auth.URL(), "-gateway.messages-url=" + p.messages.URL(),
			"-gateway.receipts-url=" + p.receipts.URL(), "-gateway.groups-url=" + p.groups.URL(), "-gateway.drain-spread=200ms"}, gatewayLoadFlags...),
			"public", "internal"))
	}
	return p
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
