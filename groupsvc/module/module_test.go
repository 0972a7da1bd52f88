package module

import (
	"flag"
	"io"
	"testing"

	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit/kittest"
)

func parse(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("groupsvc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	env := map[string]string{"CHAT_INTERNAL_SECRET": kittest.TestSecret, "CHAT_GROUPS_CEILING": "2000"}
	if err := config.Parse(fs, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func TestDefaultsRunOnOneMachineAndEnvironmentApplies(t *testing.T) {
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Groups
	if g.Backend != "embedded" || g.Cassandra.Keyspace != "parley_groups" || g.DefaultLimit != 256 || g.Ceiling != 2000 ||
		g.MessagesURL != "http://127.0.0.1:7102" || g.AuthURL != "http://127.0.0.1:7101" || cfg.Internal.Addr != "127.0.0.1:7104" {
		t.Fatalf("defaults = %+v", g)
	}
}

func TestInvalidSettingsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-groups.store.backend=mysql"},
		{"-groups.store.backend=cassandra"},
		{"-groups.data-dir="},
		{"-groups.ceiling=1"},
		{"-groups.default-limit=3000"},
		{"-groups.ceiling=20000"},
		{"-groups.max-ceiling=100"},
		{"-groups.max-batch=0"},
		{"-groups.messages-url=ftp://x"},
		{"-groups.auth-url=nohost"},
		{"-groups.dispatch-interval=0s"},
		{"-groups.node-id=5000"},
	} {
		if _, err := parse(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := parse(t, "-groups.messages-url=", "-groups.auth-url="); err != nil {
		t.Fatalf("empty URLs (single node without messagesvc): %v", err)
	}
}
