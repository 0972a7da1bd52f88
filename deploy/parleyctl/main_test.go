package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/svcauth"
)

const secret = "0123456789abcdef0123456789abcdef-test"

// fakeGateway answers like the gateway's internal listener: service tokens
// on /internal/v1, the drain call, and a gateway_connections gauge that
// drops by one per scrape once draining.
type fakeGateway struct {
	conns    atomic.Int64
	draining atomic.Bool
	drains   atomic.Int64
}

func (g *fakeGateway) handler(t *testing.T) http.Handler {
	v, err := svcauth.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /internal/v1/admin/drain", func(w http.ResponseWriter, r *http.Request) {
		if caller, err := v.VerifyRequest(r); err != nil || caller != "parleyctl" {
			http.Error(w, `{"error":{"code":"unauthenticated"}}`, http.StatusUnauthorized)
			return
		}
		g.drains.Add(1)
		g.draining.Store(true)
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"draining":true,"started_now":true}`)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		n := g.conns.Load()
		if g.draining.Load() && n > 0 {
			g.conns.Add(-1)
		}
		fmt.Fprintf(w, "# TYPE gateway_connections gauge\ngateway_authenticated_connections %d\ngateway_connections %d\n", n, n)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	return mux
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDrainCallsTheAdminEndpointAndWaitsForZeroConnections(t *testing.T) {
	g := &fakeGateway{}
	g.conns.Store(3)
	srv := httptest.NewServer(g.handler(t))
	defer srv.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"drain", "-addr", strings.TrimPrefix(srv.URL, "http://"), "-wait", "10s", "-poll", "10ms"},
		&out, env(map[string]string{"CHAT_INTERNAL_SECRET": secret}))
	if err != nil {
		t.Fatalf("drain: %v\n%s", err, out.String())
	}
	if g.drains.Load() != 1 || g.conns.Load() != 0 {
		t.Fatalf("drains = %d, conns = %d; want 1 drain and 0 connections", g.drains.Load(), g.conns.Load())
	}
	if !strings.Contains(out.String(), "drained: no connection left") {
		t.Fatalf("output %q does not report the end of the drain", out.String())
	}
}

func TestDrainGivesUpWaitingWithoutFailing(t *testing.T) {
	g := &fakeGateway{}
	g.conns.Store(1 << 20) // never reaches zero within the wait
	srv := httptest.NewServer(g.handler(t))
	defer srv.Close()
	var out bytes.Buffer
	start := time.Now()
	err := run(context.Background(), []string{"drain", "-addr", strings.TrimPrefix(srv.URL, "http://"), "-wait", "200ms", "-poll", "20ms"},
		&out, env(map[string]string{"CHAT_INTERNAL_SECRET": secret}))
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("drain waited %v, beyond its -wait", d)
	}
	if !strings.Contains(out.String(), "wait over") {
		t.Fatalf("output %q does not say the wait ran out", out.String())
	}
}

func TestDrainFailsWithAWrongOrMissingSecret(t *testing.T) {
	g := &fakeGateway{}
	srv := httptest.NewServer(g.handler(t))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for name, e := range map[string]map[string]string{
		"wrong":   {"CHAT_INTERNAL_SECRET": strings.Repeat("x", 40)},
		"missing": {},
	} {
		err := run(context.Background(), []string{"drain", "-addr", addr, "-wait", "0"}, &bytes.Buffer{}, env(e))
		if err == nil {
			t.Errorf("%s secret: drain succeeded", name)
		}
	}
	if g.drains.Load() != 0 {
		t.Fatalf("%d drains started without valid credentials", g.drains.Load())
	}
}

func TestHealth(t *testing.T) {
	srv := httptest.NewServer((&fakeGateway{}).handler(t))
	defer srv.Close()
	if err := run(context.Background(), []string{"health", srv.URL + "/healthz"}, &bytes.Buffer{}, env(nil)); err != nil {
		t.Errorf("healthy endpoint: %v", err)
	}
	if err := run(context.Background(), []string{"health", srv.URL + "/readyz"}, &bytes.Buffer{}, env(nil)); err == nil {
		t.Error("503 counted as healthy")
	}
	if err := run(context.Background(), []string{"health", "http://127.0.0.1:1/healthz"}, &bytes.Buffer{}, env(nil)); err == nil {
		t.Error("refused connection counted as healthy")
	}
	if err := run(context.Background(), []string{"bogus"}, &bytes.Buffer{}, env(nil)); err == nil {
		t.Error("unknown command accepted")
	}
}
