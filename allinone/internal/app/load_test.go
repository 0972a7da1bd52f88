package app

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gateway "github.com/parleychat/parley/gateway/module"
)

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// freeArgs runs every listener on a free port, as tests must.
func freeArgs(dir string, extra ...string) []string {
	return append([]string{"-data-dir=" + dir, "-internal.free-ports", "-public.addr=127.0.0.1:0"}, extra...)
}

func componentNamed(t *testing.T, l *loaded, name string) *component {
	t.Helper()
	for _, c := range l.Run {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("%s not selected", name)
	return nil
}

func TestFlagSetHasSharedFlagsOnceAndOneInternalListenerPerService(t *testing.T) {
	f, err := newFlagSet(Name, allTargets())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"log.level", "log.format", "internal.secret", "internal.previous-secret",
		"internal.shutdown-timeout", "target", "data-dir", "internal.free-ports", "public.addr", "auth.data-dir", "router.peers"} {
		if f.fs.Lookup(name) == nil {
			t.Errorf("-%s missing", name)
		}
	}
	if f.fs.Lookup("internal.addr") != nil {
		t.Error("-internal.addr is ambiguous in one process and must not exist")
	}
	want := map[string]string{"gateway": "127.0.0.1:7100", "authsvc": "127.0.0.1:7101", "messagesvc": "127.0.0.1:7102",
		"receiptsvc": "127.0.0.1:7103", "groupsvc": "127.0.0.1:7104", "mediasvc": "127.0.0.1:7105", "router": "127.0.0.1:7106"}
	for target, def := range want {
		fl := f.fs.Lookup(target + ".internal.addr")
		if fl == nil || fl.DefValue != def {
			t.Errorf("-%s.internal.addr = %v, want default %s", target, fl, def)
		}
	}
}

func TestSelectTargets(t *testing.T) {
	all := allTargets()
	got, err := selectTargets(all, []string{"router", "gateway"})
	if err != nil || len(got) != 2 || got[0].name != "router" || got[1].name != "gateway" {
		t.Fatalf("subset = %v, %v; want router, gateway in start order", got, err)
	}
	if got, err := selectTargets(all, []string{"all"}); err != nil || len(got) != len(all) {
		t.Fatalf("all = %d, %v", len(got), err)
	}
	for _, bad := range [][]string{nil, {"gateway", "chat"}} {
		if _, err := selectTargets(all, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestLoadWiresInProcessServicesToEachOther(t *testing.T) {
	dir := t.TempDir()
	l, err := load(Name, freeArgs(dir), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Run) != 7 {
		t.Fatalf("ran %d services by default, want all 7", len(l.Run))
	}
	seen := map[string]bool{}
	for name, addr := range l.Addrs {
		if strings.HasSuffix(addr, ":0") || seen[addr] || strings.HasSuffix(addr, ":7100") {
			t.Fatalf("%s internal listener %q: want a distinct free port", name, addr)
		}
		seen[addr] = true
	}
	gw := componentNamed(t, l, "gateway").cfg.(*gateway.Config)
	for got, target := range map[string]string{gw.RouterURL: "router", gw.AuthURL: "authsvc", gw.MessagesURL: "messagesvc",
		gw.ReceiptsURL: "receiptsvc", gw.GroupsURL: "groupsvc", gw.MediaURL: "mediasvc"} {
		if got != "http://"+l.Addrs[target] {
			t.Errorf("gateway's %s URL = %q, want %s", target, got, l.Addrs[target])
		}
	}
	for name, target := range map[string]string{"receipts.messages-url": "messagesvc", "media.messages-url": "messagesvc",
		"messages.router-url": "router", "messages.auth-url": "authsvc", "messages.groups-url": "groupsvc",
		"messages.media-url": "mediasvc", "groups.auth-url": "authsvc", "groups.messages-url": "messagesvc"} {
		if v := l.Flags.value(name); v != "http://"+l.Addrs[target] {
			t.Errorf("-%s = %q, want %s's in-process listener %s", name, v, target, l.Addrs[target])
		}
	}
	if v := l.Flags.value("groups.data-dir"); v != filepath.Join(dir, "groupsvc") {
		t.Errorf("-groups.data-dir = %q", v)
	}
	if v := l.Flags.value("auth.data-dir"); v != filepath.Join(dir, "authsvc") {
		t.Errorf("-auth.data-dir = %q", v)
	}
	if v := l.Flags.value("media.data-dir"); v != filepath.Join(dir, "mediasvc") {
		t.Errorf("-media.data-dir = %q", v)
	}
	if origins := l.Flags.value("gateway.allowed-origins"); !strings.Contains(origins, "http://"+l.PublicAddr) {
		t.Errorf("origins %q do not allow the page's own origin %s", origins, l.PublicAddr)
	}
	for _, c := range l.Run {
		if c.cfg.Base().InternalSecret.Reveal() != l.Settings.Shared.InternalSecret.Reveal() || c.cfg.Base().Internal.Addr != l.Addrs[c.name] {
			t.Errorf("%s does not share the secret or lost its own listener", c.name)
		}
	}
}

func TestGivenSettingsWinOverDerivedOnes(t *testing.T) {
	dir := t.TempDir()
	l, err := load(Name, freeArgs(dir, "-gateway.media-url=http://127.0.0.1:1", "-target=gateway,router"),
		envOf(map[string]string{"CHAT_AUTH_DATA_DIR": "/elsewhere", "CHAT_GATEWAY_INTERNAL_ADDR": "127.0.0.1:0"}))
	if err != nil {
		t.Fatal(err)
	}
	gw := componentNamed(t, l, "gateway").cfg.(*gateway.Config)
	if gw.MediaURL != "http://127.0.0.1:1" {
		t.Errorf("explicit media URL replaced by %q", gw.MediaURL)
	}
	if gw.AuthURL != "http://127.0.0.1:7101" || gw.MessagesURL != "" {
		t.Errorf("services outside the process: auth %q, messages %q; want their defaults", gw.AuthURL, gw.MessagesURL)
	}
	if gw.RouterURL != "http://"+l.Addrs["router"] {
		t.Errorf("router URL %q, want the in-process router %s", gw.RouterURL, l.Addrs["router"])
	}
	if v := l.Flags.value("auth.data-dir"); v != "/elsewhere" {
		t.Errorf("environment lost: -auth.data-dir = %q", v)
	}
}

func TestInternalSecretIsGeneratedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	first, err := load(Name, freeArgs(dir), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	secret := first.Settings.Shared.InternalSecret.Reveal()
	if len(secret) < 32 {
		t.Fatalf("generated secret %d bytes", len(secret))
	}
	info, err := os.Stat(filepath.Join(dir, secretFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", info, err)
	}
	again, err := load(Name, freeArgs(dir), noEnv)
	if err != nil || again.Settings.Shared.InternalSecret.Reveal() != secret {
		t.Fatal("second start uses another secret")
	}
	given, err := load(Name, freeArgs(dir), envOf(map[string]string{"CHAT_INTERNAL_SECRET": "an-operator-chosen-secret-of-32-bytes"}))
	if err != nil || given.Settings.Shared.InternalSecret.Reveal() != "an-operator-chosen-secret-of-32-bytes" {
		t.Fatalf("CHAT_INTERNAL_SECRET ignored: %v", err)
	}
}

func TestLoadRejectsBadConfigurationNamingTheService(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"unknown target":   {[]string{"-target=gateway,chat"}, "unknown target"},
		"bad node id":      {[]string{"-messages.node-id=5000"}, "messagesvc"},
		"bad router store": {[]string{"-router.store.backend=disk"}, "router"},
		"bad listener":     {[]string{"-authsvc.internal.addr=nope"}, "authsvc.internal.addr"},
		"unknown flag":     {[]string{"-internal.addr=127.0.0.1:1"}, "not defined"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(Name, freeArgs(t.TempDir(), c.args...), noEnv)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestHelpListsEveryFlagWithItsVariable(t *testing.T) {
	f, err := newFlagSet(Name, allTargets())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	f.fs.SetOutput(&b)
	if err := f.fs.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, want := range []string{"bootstrap-admin", "-target (CHAT_TARGET)", "-data-dir (CHAT_DATA_DIR)",
		"-router.internal.addr (CHAT_ROUTER_INTERNAL_ADDR)", "-auth.bootstrap-admin (CHAT_AUTH_BOOTSTRAP_ADMIN)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestOriginsFor(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080":  "http://127.0.0.1:8080,http://localhost:8080",
		"0.0.0.0:9000":    "http://127.0.0.1:9000,http://localhost:9000",
		"10.1.2.3:8080":   "http://10.1.2.3:8080",
		"localhost:18080": "http://127.0.0.1:18080,http://localhost:18080",
	} {
		if got := strings.Join(originsFor(addr), ","); got != want {
			t.Errorf("originsFor(%s) = %s, want %s", addr, got, want)
		}
	}
}
