package config

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

type exampleConfig struct {
	Addr     string
	Timeout  time.Duration
	Password Secret
	Peers    StringList
}

func (c *exampleConfig) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.StringVar(&c.Addr, prefix+"addr", "127.0.0.1:8080", "listen address")
	fs.DurationVar(&c.Timeout, prefix+"timeout", time.Second, "timeout")
	fs.Var(&c.Password, prefix+"password", "password (secret)")
	fs.Var(&c.Peers, prefix+"peers", "peers, comma-separated")
}

func newSet() (*flag.FlagSet, *exampleConfig) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c exampleConfig
	c.RegisterFlags(fs, "svc.")
	return fs, &c
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseFlagBeatsEnvBeatsDefault(t *testing.T) {
	fs, c := newSet()
	err := Parse(fs, []string{"-svc.addr=127.0.0.1:9"}, env(map[string]string{
		"CHAT_SVC_ADDR":    "127.0.0.1:1",
		"CHAT_SVC_TIMEOUT": "3s",
		"CHAT_SVC_PEERS":   "a, b,,c",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9" {
		t.Errorf("addr = %q, flag should win over env", c.Addr)
	}
	if c.Timeout != 3*time.Second {
		t.Errorf("timeout = %v, env should win over default", c.Timeout)
	}
	if strings.Join(c.Peers, "|") != "a|b|c" {
		t.Errorf("peers = %q", c.Peers)
	}
}

func TestParseReportsBadEnvValueWithItsName(t *testing.T) {
	fs, _ := newSet()
	err := Parse(fs, nil, env(map[string]string{"CHAT_SVC_TIMEOUT": "soon"}))
	if err == nil || !strings.Contains(err.Error(), "CHAT_SVC_TIMEOUT") {
		t.Fatalf("err = %v, want one naming CHAT_SVC_TIMEOUT", err)
	}
}

func TestParseRejectsPositionalArguments(t *testing.T) {
	fs, _ := newSet()
	if err := Parse(fs, []string{"stray"}, env(nil)); err == nil {
		t.Fatal("stray argument accepted")
	}
}

func TestEffectiveMasksSecrets(t *testing.T) {
	fs, c := newSet()
	if err := Parse(fs, []string{"-svc.password=hunter2hunter2"}, env(nil)); err != nil {
		t.Fatal(err)
	}
	if c.Password.Reveal() != "hunter2hunter2" {
		t.Fatalf("secret value lost")
	}
	for _, s := range Effective(fs) {
		if strings.Contains(s.Value, "hunter2") {
			t.Fatalf("secret printed in %s=%s", s.Name, s.Value)
		}
		if s.Name == "svc.password" && s.Value != "*****" {
			t.Fatalf("password shows %q", s.Value)
		}
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("messages.store-backend"); got != "CHAT_MESSAGES_STORE_BACKEND" {
		t.Fatalf("EnvName = %q", got)
	}
}
