package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/routerapi"
)

// routerStub answers heartbeats the way the router does, and counts the
// withdraw a draining gateway must send.
func routerStub(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var withdrawn atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case routerapi.PathAnnounce:
			_ = json.NewEncoder(w).Encode(routerapi.AnnounceResponse{Known: true, TTLMs: 10_000})
		case routerapi.PathWithdraw:
			withdrawn.Add(1)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &withdrawn
}

func TestBinaryServesHealthOnBothListenersAndStopsOnSIGTERM(t *testing.T) {
	router, withdrawn := routerStub(t)
	kittest.CheckLifecycle(t, []string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0",
		"-gateway.router-url=" + router.URL}, "public", "internal")
	if withdrawn.Load() != 1 {
		t.Fatalf("gateway withdrew %d times from the router on SIGTERM, want 1", withdrawn.Load())
	}
}

func TestBinaryIsNotReadyWithoutItsRouter(t *testing.T) {
	bin := kittest.Build(t)
	b := kittest.Start(t, bin, []string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0",
		"-gateway.router-url=http://127.0.0.1:1"}, "public", "internal")
	code, body := b.Get(t, "public", "/readyz")
	if code != 503 || !strings.Contains(body, "router") {
		t.Fatalf("/readyz without router = %d %s", code, body)
	}
	if err := b.Terminate(t, 20*time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
