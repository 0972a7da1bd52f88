package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	receiptsvc "github.com/parleychat/parley/receiptsvc/module"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
)

// stopLog records the order in which fake services stop.
type stopLog struct {
	mu    sync.Mutex
	names []string
}

func (l *stopLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, name)
}

func (l *stopLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.names)
}

// fake runs until its context ends, then takes a moment to stop, as a
// service finishing in-flight work does; with fail set it ends at once.
type fake struct {
	name string
	fail error
	log  *stopLog
}

func (f *fake) Run(ctx context.Context) error {
	if f.fail != nil {
		return f.fail
	}
	<-ctx.Done()
	time.Sleep(10 * time.Millisecond)
	f.log.add(f.name)
	return nil
}

// fakePlatform is every target, in start order, as a fake service.
func fakePlatform(t *testing.T, log *stopLog, failing string) *loaded {
	t.Helper()
	l := &loaded{Settings: &Settings{DataDir: t.TempDir()}, Addrs: map[string]string{}}
	for _, real := range allTargets() {
		cfg := &receiptsvc.Config{} // any service config: only its base is used
		cfg.InternalSecret = config.NewSecret("test-internal-secret-0123456789abcdef")
		f := &fake{name: real.name, log: log}
		if real.name == failing {
			f.fail = errors.New("store gone")
		}
		l.Run = append(l.Run, &component{name: real.name, stage: real.stage, cfg: cfg,
			wire: func(context.Context, *kit.Service) (runner, error) { return f, nil }})
		l.Addrs[real.name] = "127.0.0.1:1" // nothing listens: never ready, no banner
	}
	return l
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestShutdownStopsTheGatewayFirstAndTheRouterAndAuthsvcLast(t *testing.T) {
	log := &stopLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServices(ctx, fakePlatform(t, log, ""), quiet, io.Discard) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("clean stop returned %v", err)
	}
	got := log.get()
	stageOf := map[string]int{}
	for _, c := range allTargets() {
		stageOf[c.name] = c.stage
	}
	if len(got) != 7 || got[0] != "gateway" {
		t.Fatalf("stop order %v: want all 7, the gateway first", got)
	}
	for i := 1; i < len(got); i++ {
		if stageOf[got[i]] < stageOf[got[i-1]] {
			t.Fatalf("stop order %v: %s stopped after %s", got, got[i], got[i-1])
		}
	}
	if i, j := slices.Index(got, "messagesvc"), slices.Index(got, "router"); i > j {
		t.Fatalf("stop order %v: messagesvc flushes pushes through the router, so the router stops after it", got)
	}
}

func TestAFailingServiceStopsTheOthersAndTheProcessFails(t *testing.T) {
	log := &stopLog{}
	done := make(chan error, 1)
	go func() {
		done <- runServices(context.Background(), fakePlatform(t, log, "messagesvc"), quiet, io.Discard)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "messagesvc: store gone") {
			t.Fatalf("err = %v, want messagesvc's failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the process kept running after a service failed")
	}
	if got := log.get(); len(got) != 6 || slices.Contains(got, "messagesvc") {
		t.Fatalf("stopped %v, want the 6 others", got)
	}
}

func TestOnlyASignalAfterTheFirstEndsTheProcessAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	registered := make(chan chan<- os.Signal, 1)
	exited := make(chan int, 1)
	go exitOnSecondSignal(ctx, quiet, func(c chan<- os.Signal) { registered <- c }, func(code int) { exited <- code })
	select {
	case <-registered:
		t.Fatal("listening for a second signal before the first one")
	case <-time.After(50 * time.Millisecond):
	}
	cancel() // the first signal
	sig := <-registered
	select {
	case code := <-exited:
		t.Fatalf("exited (%d) without a second signal", code)
	case <-time.After(50 * time.Millisecond):
	}
	sig <- syscall.SIGINT
	if code := <-exited; code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
}
