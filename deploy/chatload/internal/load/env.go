// Package load runs chatload's scenarios: simulated devices that speak the
// real protocol through shared/wsclient, and the bookkeeping that proves
// every acknowledged message arrived (or reports it lost).
package load

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/deploy/chatload/internal/account"
	"github.com/parleychat/parley/deploy/chatload/internal/stats"
	"github.com/parleychat/parley/shared/protocol"
)

// Env is what every device of a run shares.
type Env struct {
	// Gateways are the WebSocket URLs (ws://host:port/v1/ws); device i
	// starts at gateway i mod len and moves on to the next one when its
	// gateway refuses or is gone.
	Gateways []string
	// Sources are local addresses to dial from (each source/destination
	// pair has ~28k ephemeral ports); empty lets the kernel choose.
	Sources []net.IP
	// APIs are auth API clients, one per source (or one).
	APIs []*account.API
	Rec  *stats.Recorder
	// RunID tags this run's message bodies and client message ids.
	RunID string
	// Base is the run's time origin for recorded instants.
	Base time.Time
	// AckDelay batches a device's received acknowledgements (0: none sent).
	AckDelay time.Duration
	// Reconnect makes a device whose connection ends connect again (with
	// the protocol's backoff) until the run ends.
	Reconnect bool
	// Handler gets the frames that matter to the scenario.
	Handler Handler
	// Verbose logs connection problems on stderr.
	Verbose bool

	dialers  []*websocket.Dialer
	initOnce sync.Once

	c envCounters
}

type envCounters struct {
	connected, connects, connectErrs, disconnects, reconnects, errorFrames, unknownFrames, goaways, refreshes, refreshErrs,
	syncPages, syncErrs, acksSent, readStates *atomic.Int64
}

// Handler receives a device's frames (on its reader goroutine: never block).
type Handler interface {
	// OnMessage gets each message, live (pushed) or from a sync page, and
	// says whether the device should acknowledge it: messages of earlier
	// runs, synced again at connect, are left alone so they do not add
	// work to the run being measured.
	OnMessage(d *Device, m *protocol.Message, live bool, now time.Time) (ack bool)
	// OnReceipt gets each receipt, live or synced.
	OnReceipt(d *Device, r *protocol.Receipt, now time.Time)
}

func (e *Env) init() {
	e.initOnce.Do(func() {
		srcs := e.Sources
		if len(srcs) == 0 {
			srcs = []net.IP{nil}
		}
		for _, ip := range srcs {
			nd := &net.Dialer{Timeout: 10 * time.Second}
			if ip != nil {
				nd.LocalAddr = &net.TCPAddr{IP: ip}
			}
			// Small buffers: tens of thousands of idle clients live in one
			// process here.
			e.dialers = append(e.dialers, &websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 15 * time.Second,
				ReadBufferSize: 1024, WriteBufferSize: 1024, Proxy: http.ProxyFromEnvironment})
		}
		r := e.Rec
		e.c = envCounters{connected: r.Counter("connected"), connects: r.Counter("connects"), connectErrs: r.Counter("connect_errors"),
			disconnects: r.Counter("disconnects"), reconnects: r.Counter("reconnects"), errorFrames: r.Counter("error_frames"),
			unknownFrames: r.Counter("unknown_frames"), goaways: r.Counter("goaways"), refreshes: r.Counter("token_refreshes"),
			refreshErrs: r.Counter("token_refresh_errors"), syncPages: r.Counter("sync_pages"), syncErrs: r.Counter("sync_errors"),
			acksSent: r.Counter("received_frames_sent"), readStates: r.Counter("read_states")}
		if e.Handler == nil {
			e.Handler = nopHandler{}
		}
	})
}

func (e *Env) dialer(idx int) *websocket.Dialer { return e.dialers[idx%len(e.dialers)] }

func (e *Env) api(idx int) *account.API { return e.APIs[idx%len(e.APIs)] }

func (e *Env) logf(format string, args ...any) {
	if e.Verbose {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

// Since is the time of t relative to the run's base.
func (e *Env) Since(t time.Time) time.Duration { return t.Sub(e.Base) }

type nopHandler struct{}

func (nopHandler) OnMessage(*Device, *protocol.Message, bool, time.Time) bool { return false }
func (nopHandler) OnReceipt(*Device, *protocol.Receipt, time.Time)            {}

// ParseSources reads "127.0.0.2-127.0.0.9" ranges and comma lists.
func ParseSources(s string) ([]net.IP, error) {
	var out []net.IP
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a := net.ParseIP(lo).To4()
		if a == nil {
			return nil, fmt.Errorf("bad source address %q", lo)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b := net.ParseIP(hi).To4()
		if b == nil || a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || b[3] < a[3] {
			return nil, fmt.Errorf("bad source range %q (same /24, ascending)", part)
		}
		for x := int(a[3]); x <= int(b[3]); x++ {
			out = append(out, net.IPv4(a[0], a[1], a[2], byte(x)).To4())
		}
	}
	return out, nil
}

// sleepCtx waits d or until ctx ends; false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
