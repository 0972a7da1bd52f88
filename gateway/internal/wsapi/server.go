// Package wsapi serves the client WebSocket: upgrade with origin and token
// checks, the per-connection reader that authenticates and dispatches
// frames, rate limits, and drain.
package wsapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/gateway/internal/hub"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/frameapi"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
)

// Subprotocol is the protocol name the gateway selects at upgrade.
const Subprotocol = "parley.v1"

// tokenSubprotocolPrefix carries a browser's token at upgrade.
const tokenSubprotocolPrefix = "parley.bearer."

// Verifier checks access tokens.
type Verifier interface {
	Verify(ctx context.Context, token string) (authtoken.Claims, error)
}

// Upstream is the service owning some frame types; it answers with the
// encoded reply frame (or nil) or a typed error.
type Upstream interface {
	Handle(ctx context.Context, req frameapi.Request) ([]byte, error)
}

// Config sets the WebSocket's limits and timings.
type Config struct {
	Limits          protocol.Limits
	AllowedOrigins  []string
	MaxConns        int
	Queue           conn.Options
	Sweep           hub.SweepConfig
	UpstreamTimeout time.Duration
	// Rates are per connection, per action (protocol.Rate*).
	Rates map[string]protocol.RateLimit
	// MaxStrikes is how many rejected frames in a row close the connection.
	MaxStrikes int
	GatewayID  string
	// ReaderGoroutines gives every connection its own reader goroutine
	// instead of the epoll poller (the only way on systems without epoll).
	ReaderGoroutines bool
}

// Server is the WebSocket endpoint of one gateway.
type Server struct {
	cfg        Config
	hub        *hub.Hub
	verifier   Verifier
	upstreams  map[string]Upstream
	logger     *slog.Logger
	metrics    *Metrics
	hubMetrics *hub.Metrics
	origins    map[string]bool
	upgrader   websocket.Upgrader

	// poller watches idle sockets (nil: one reader goroutine per
	// connection, as on systems without epoll).
	poller *poller

	nextID      atomic.Uint64
	draining    atomic.Bool
	drainSpread atomic.Int64 // the running drain's spread, set before draining
}

// New returns the WebSocket server. upstreams maps frame types to owners;
// a type without one is answered with unavailable.
func New(cfg Config, h *hub.Hub, verifier Verifier, upstreams map[string]Upstream, m *Metrics, hm *hub.Metrics, logger *slog.Logger) *Server {
	s := &Server{cfg: cfg, hub: h, verifier: verifier, upstreams: upstreams, logger: logger, metrics: m, hubMetrics: hm,
		origins: map[string]bool{}}
	for _, o := range cfg.AllowedOrigins {
		s.origins[strings.TrimRight(strings.ToLower(o), "/")] = true
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Small read buffer and pooled write buffers: an idle connection
		// keeps neither the HTTP server's 4 KiB buffers nor a write buffer.
		ReadBufferSize:  256,
		WriteBufferSize: 4096,
		WriteBufferPool: &writePool,
		Subprotocols:    []string{Subprotocol},
		// The origin is checked after the upgrade so that a refused
		// browser learns why from close code 4408.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	if !cfg.ReaderGoroutines {
		p, err := newPoller(logger)
		if err != nil {
			logger.Warn("no poller: one reader goroutine per connection", slog.Any("err", err))
		}
		s.poller = p
	}
	s.cfg.Queue.OnClosed = s.closed
	return s
}

// closed forgets a closed connection.
func (s *Server) closed(c *conn.Conn) {
	if s.poller != nil {
		s.poller.remove(c.ID)
	}
	s.hub.Remove(c)
}

// Close stops the poller; connections must be gone already (Drain).
func (s *Server) Close() {
	if s.poller != nil {
		s.poller.close()
	}
}

// writePool lends write buffers to connections only while they write.
var writePool sync.Pool

// refuse answers an upgrade request with a typed error instead of a socket.
func refuse(w http.ResponseWriter, err *errs.Error, retryAfterMs int64) {
	err.RetryAfterMs = retryAfterMs
	status, body := kit.ToBody(err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// Draining reports whether the server refuses new connections.
func (s *Server) Draining() bool { return s.draining.Load() }

func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // native clients send none; browsers always do
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	// A page served by this gateway (the web client) is same-origin: the
	// browser sets both headers, and no other site's page can claim this
	// Host, so it needs no entry in the allow-list.
	return s.origins[strings.ToLower(u.Scheme+"://"+u.Host)] || strings.EqualFold(u.Host, r.Host)
}

// upgradeToken returns a token carried by the upgrade request, if any.
func upgradeToken(r *http.Request) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	for _, p := range websocket.Subprotocols(r) {
		if tok, ok := strings.CutPrefix(p, tokenSubprotocolPrefix); ok {
			return tok
		}
	}
	return ""
}

// ServeHTTP upgrades a client connection and starts its reader.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.metrics.upgrades.WithLabelValues("draining").Inc()
		refuse(w, errs.New(errs.Unavailable, "gateway draining: connect to another one"), 1000)
		return
	}
	if s.hub.Count() >= s.cfg.MaxConns {
		s.metrics.upgrades.WithLabelValues("full").Inc()
		refuse(w, errs.New(errs.Unavailable, "gateway full: connect to another one"), 1000)
		return
	}
	token := upgradeToken(r)
	// Only the poller needs the frame gate; a reader goroutine would hold
	// the gate's buffer while it waits.
	gated := &gatedWriter{ResponseWriter: w, off: s.poller == nil}
	ws, err := s.upgrader.Upgrade(gated, r, nil)
	if err != nil {
		s.metrics.upgrades.WithLabelValues("bad_handshake").Inc()
		return // the upgrader has answered with an HTTP error
	}
	c := conn.New(s.nextID.Add(1), ws, s.cfg.Queue, func(*conn.Conn) { s.metrics.slowConsumers.Inc() })
	if !s.originAllowed(r) {
		s.metrics.upgrades.WithLabelValues("origin_denied").Inc()
		c.Abort(errs.CloseOriginDenied, "origin not allowed")
		<-c.Done()
		return
	}
	s.metrics.upgrades.WithLabelValues("ok").Inc()
	s.hub.Add(c)
	if s.draining.Load() {
		// A drain began after the check above and may have listed the hub
		// before this connection joined it: send it away too, or the drain
		// would wait for it until its deadline.
		s.goAway(c, time.Duration(s.drainSpread.Load()))
	}
	// This handler returns either way: net/http then frees the request, the
	// response and its buffers, which would otherwise stay alive as long as
	// the connection.
	ss := newSession(s, c, token)
	if s.poller != nil && gated.gate != nil {
		ss.gate = gated.gate
		ss.configure()
		if err := s.poller.add(ss, gated.gate.raw); err == nil {
			return
		}
		s.logger.Warn("poller refused a connection; it gets a reader goroutine", slog.Any("err", err))
	}
	go ss.readLoop()
}

// goAway tells c to reconnect elsewhere after a random delay within spread,
// and closes it with 4000 once its queue is flushed.
func (s *Server) goAway(c *conn.Conn, spread time.Duration) {
	const closeIn = 500 * time.Millisecond
	delay := time.Duration(0)
	if spread > 0 {
		delay = time.Duration(rand.Int64N(int64(spread)))
	}
	c.Send(protocol.Encode(&protocol.GoAway{Reason: protocol.GoAwayDrain,
		ReconnectAfterMs: delay.Milliseconds(), CloseInMs: closeIn.Milliseconds()}))
	c.CloseAfterFlush(errs.CloseDrain, "draining")
}

// Drain tells every client to reconnect elsewhere, spread over spread so
// they do not all arrive at once, closes each connection after its queue is
// flushed, and waits for them to go until ctx ends; stragglers are cut.
func (s *Server) Drain(ctx context.Context, spread time.Duration) {
	s.drainSpread.Store(int64(spread))
	s.draining.Store(true)
	s.hub.Each(func(c *conn.Conn) { s.goAway(c, spread) })
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.hub.Count() > 0 {
		select {
		case <-ctx.Done():
			s.hub.Each(func(c *conn.Conn) { c.Abort(errs.CloseDrain, "draining") })
			return
		case <-t.C:
		}
	}
}
