package module

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/store/cassandra"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/stackenv"
	"github.com/parleychat/parley/shared/svcauth"
)

func parse(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("mediasvc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	env := map[string]string{"CHAT_INTERNAL_SECRET": kittest.TestSecret}
	if err := config.Parse(fs, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func TestDefaultsRunOnOneMachine(t *testing.T) {
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Media
	if m.Objects.Backend != "local" || m.Metadata.Backend != "embedded" || m.CleanupInterval != 10*time.Minute ||
		m.CleanupAge != 24*time.Hour || m.Objects.PartSize != 16<<20 || m.Limits.Limits["image/png"] != 25<<20 {
		t.Fatalf("defaults = %+v", m)
	}
}

func TestFlagsParseSizesLimitsAndSecrets(t *testing.T) {
	cfg, err := parse(t, "-media.store.backend=s3", "-media.s3.endpoint=127.0.0.1:9000", "-media.s3.secret-key=hunter22",
		"-media.s3.part-size=8MiB", "-media.limits=image/*=1MiB,text/plain=0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Media.Objects.PartSize != 8<<20 || cfg.Media.Limits.Limits["image/gif"] != 1<<20 || cfg.Media.Objects.SecretKey.Reveal() != "hunter22" {
		t.Fatalf("parsed = %+v", cfg.Media)
	}
	if s := cfg.Media.Objects.SecretKey.String(); strings.Contains(s, "hunter") {
		t.Fatalf("secret printed as %q", s)
	}
}

func TestInvalidSettingsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-media.store.backend=ftp"},
		{"-media.store.backend=s3"},
		{"-media.store.backend=s3", "-media.s3.endpoint=x:1", "-media.s3.part-size=1MiB"},
		{"-media.metadata.backend=cassandra"},
		{"-media.limits=text/html=1MiB"},
		{"-media.limits=image/png=0"},
		{"-media.presign-expiry=10s"},
		{"-media.cleanup.age=1s"},
		{"-media.messages-url=ftp://x"},
		{"-media.thumbnail.size=4"},
		{"-media.node-id=5000"},
		{"-media.data-dir="},
		{"-media.ratelimit.uploads=-1"},
		{"-media.ratelimit.window=10ms"},
		{"-media.cleanup.unsent-age=24h"},
	} {
		if _, err := parse(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestNewServesTheAPIAndStopsCleanly(t *testing.T) {
	cfg, err := parse(t, "-internal.addr=127.0.0.1:0", "-media.data-dir="+t.TempDir(), "-media.cleanup.interval=50ms")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := kit.NewService(Name, cfg.BaseConfig, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	signer, _ := svcauth.NewSigner("gateway", kittest.TestSecret)
	client := &http.Client{Transport: &svcauth.Transport{Signer: signer}}
	req, _ := http.NewRequest("POST", "http://"+m.Addr()+"/internal/v1/media?name=a.txt", bytes.NewReader([]byte("hello")))
	req.Header.Set(kit.HeaderUserID, "42")
	req.Header.Set(kit.HeaderDeviceID, "d")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Media struct{ ID, Mime string } }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 201 || body.Media.Mime != "text/plain" {
		t.Fatalf("upload = %d %+v", resp.StatusCode, body)
	}
	ready, err := http.Get("http://" + m.Addr() + "/readyz")
	if err != nil || ready.StatusCode != 200 {
		t.Fatalf("readyz = %v, %v", ready.StatusCode, err)
	}
	time.Sleep(120 * time.Millisecond) // a cleanup pass or two
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestMigrateCommandIsRerunnable(t *testing.T) {
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	ks := "mediasvc_cmd_" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
	args := []string{"-media.metadata.backend=cassandra", "-media.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-media.cassandra.dc=" + env[stackenv.CassandraDC], "-media.cassandra.keyspace=" + ks, "-log.level=error"}
	t.Cleanup(func() {
		_ = cassandra.DropKeyspace(context.Background(), cassandra.Config{Hosts: stackenv.Split(env[stackenv.CassandraHosts]),
			DC: env[stackenv.CassandraDC], Keyspace: ks, Timeout: 10 * time.Second, ConnectTimeout: 10 * time.Second})
	})
	for range 2 {
		var out bytes.Buffer
		if err := migrateCommand(context.Background(), args, cmdIO{stdout: &out, lookupEnv: func(string) (string, bool) { return "", false }}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), ks+" is up to date") {
			t.Fatalf("output = %q", out.String())
		}
	}
	var out bytes.Buffer
	if err := migrateCommand(context.Background(), nil, cmdIO{stdout: &out, lookupEnv: func(string) (string, bool) { return "", false }}); err != nil {
		t.Fatalf("embedded migrate: %v", err)
	}
}
