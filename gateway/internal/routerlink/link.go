// Package routerlink keeps the region's router told which connections this
// gateway holds: a heartbeat that renews the gateway's lease, attach and
// detach calls coalesced into batches, and a full re-registration whenever
// the router has forgotten us (a restart of its Redis, an expired lease).
package routerlink

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/routerapi"
)

// maxBatch bounds the connections in one attach or detach call (the
// router's own limit is routerapi's MaxConnsPerCall of 5000).
const maxBatch = 2000

// Link is the gateway's side of the router protocol. Attached and Detached
// never block: they record the change, and the next flush sends it.
type Link struct {
	client   *kit.Client
	gateway  routerapi.Gateway
	snapshot func() []routerapi.Conn
	logger   *slog.Logger
	flushDur time.Duration
	metrics  *metrics

	mu         sync.Mutex
	attach     map[routerapi.Conn]bool
	detach     map[routerapi.Conn]bool
	needResync bool

	lastOK atomic.Int64
	ttl    atomic.Int64
}

// New returns a link for gateway; snapshot lists every connection held, for
// full re-registration.
func New(client *kit.Client, gateway routerapi.Gateway, snapshot func() []routerapi.Conn, flush time.Duration,
	logger *slog.Logger, reg prometheus.Registerer) *Link {
	l := &Link{client: client, gateway: gateway, snapshot: snapshot, logger: logger, flushDur: flush,
		metrics: newMetrics(reg), attach: map[routerapi.Conn]bool{}, detach: map[routerapi.Conn]bool{}}
	l.ttl.Store(int64(10 * time.Second))
	return l
}

// Attached implements hub.Listener.
func (l *Link) Attached(c routerapi.Conn) {
	l.mu.Lock()
	delete(l.detach, c)
	l.attach[c] = true
	l.mu.Unlock()
}

// Detached implements hub.Listener.
func (l *Link) Detached(c routerapi.Conn) {
	l.mu.Lock()
	delete(l.attach, c)
	l.detach[c] = true
	l.mu.Unlock()
}

// Healthy reports whether the router confirmed our lease within its TTL.
func (l *Link) Healthy() error {
	last := time.Unix(0, l.lastOK.Load())
	if time.Since(last) > time.Duration(l.ttl.Load()) {
		return errors.New("router has not confirmed this gateway within its lease TTL")
	}
	return nil
}

// Run heartbeats and flushes until ctx ends. Call Heartbeat once first so
// the gateway is routable before it serves.
func (l *Link) Run(ctx context.Context) {
	flush := time.NewTicker(l.flushDur)
	defer flush.Stop()
	beat := time.NewTimer(l.beatInterval())
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			l.flush(ctx)
		case <-beat.C:
			l.Heartbeat(ctx)
			beat.Reset(l.beatInterval())
		}
	}
}

// beatInterval renews the lease three times per TTL, so two lost
// heartbeats in a row do not kill it.
func (l *Link) beatInterval() time.Duration { return time.Duration(l.ttl.Load()) / 3 }

// Heartbeat renews the gateway's lease, and re-registers every connection
// when the router had forgotten the gateway.
func (l *Link) Heartbeat(ctx context.Context) {
	var res routerapi.AnnounceResponse
	err := l.client.Do(ctx, http.MethodPost, routerapi.PathAnnounce, routerapi.AnnounceRequest{Gateway: l.gateway}, &res)
	if err != nil {
		l.metrics.calls.WithLabelValues("announce", "failed").Inc()
		l.logger.Warn("router heartbeat failed", slog.Any("err", err))
		return
	}
	l.metrics.calls.WithLabelValues("announce", "ok").Inc()
	if res.TTLMs > 0 {
		l.ttl.Store(int64(time.Duration(res.TTLMs) * time.Millisecond))
	}
	l.lastOK.Store(time.Now().UnixNano())
	l.mu.Lock()
	resync := l.needResync || !res.Known
	l.mu.Unlock()
	if resync {
		l.resync(ctx, !res.Known)
	}
}

// resync attaches every held connection again.
func (l *Link) resync(ctx context.Context, forgotten bool) {
	all := l.snapshot()
	l.logger.Info("registering all connections with the router", slog.Int("conns", len(all)), slog.Bool("router_forgot_us", forgotten))
	if err := l.send(ctx, routerapi.PathAttach, all); err != nil {
		l.markResync(err)
		return
	}
	l.metrics.resyncs.Inc()
	l.mu.Lock()
	l.needResync = false
	l.mu.Unlock()
}

func (l *Link) markResync(err error) {
	l.logger.Warn("router registration failed; will re-register everything", slog.Any("err", err))
	l.mu.Lock()
	l.needResync = true
	l.mu.Unlock()
}

func (l *Link) flush(ctx context.Context) {
	l.mu.Lock()
	if len(l.attach) == 0 && len(l.detach) == 0 {
		l.mu.Unlock()
		return
	}
	attach, detach := keys(l.attach), keys(l.detach)
	l.attach, l.detach = map[routerapi.Conn]bool{}, map[routerapi.Conn]bool{}
	l.mu.Unlock()
	if err := l.send(ctx, routerapi.PathAttach, attach); err != nil {
		l.markResync(err)
	}
	// A lost detach only leaves a stale route: the router then pushes here,
	// the push reports the connection missing, and the message waits in the
	// inbox as it would anyway. So failed detaches are not retried.
	_ = l.send(ctx, routerapi.PathDetach, detach)
}

func (l *Link) send(ctx context.Context, path string, conns []routerapi.Conn) error {
	for start := 0; start < len(conns); start += maxBatch {
		end := min(start+maxBatch, len(conns))
		err := l.client.Do(ctx, http.MethodPost, path, routerapi.ConnsRequest{GatewayID: l.gateway.ID, Conns: conns[start:end]}, nil)
		op := path[len("/internal/v1/conns/"):]
		if err != nil {
			l.metrics.calls.WithLabelValues(op, "failed").Inc()
			return err
		}
		l.metrics.calls.WithLabelValues(op, "ok").Inc()
		l.metrics.batchConns.Observe(float64(end - start))
	}
	return nil
}

// Withdraw tells the router this gateway is leaving, so deliveries stop at once.
func (l *Link) Withdraw(ctx context.Context) error {
	return l.client.Do(ctx, http.MethodPost, routerapi.PathWithdraw, routerapi.WithdrawRequest{GatewayID: l.gateway.ID}, nil)
}

func keys(m map[routerapi.Conn]bool) []routerapi.Conn {
	out := make([]routerapi.Conn, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

type metrics struct {
	calls      *prometheus.CounterVec
	resyncs    prometheus.Counter
	batchConns prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_router_calls_total", Help: "Calls to the router, by operation and outcome."}, []string{"op", "outcome"}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_router_resyncs_total", Help: "Full re-registrations of every connection with the router."}),
		batchConns: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gateway_router_batch_conns", Help: "Connections per attach or detach call.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7)}),
	}
	reg.MustRegister(m.calls, m.resyncs, m.batchConns)
	return m
}
