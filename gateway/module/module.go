// Package module assembles the gateway, the platform's public edge, from its
// parts. It is the module's one exported package, so the all-in-one binary
// can run it too.
package module

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/gateway/internal/hub"
	"github.com/parleychat/parley/gateway/internal/internalapi"
	"github.com/parleychat/parley/gateway/internal/publicapi"
	"github.com/parleychat/parley/gateway/internal/routerlink"
	"github.com/parleychat/parley/gateway/internal/upstream"
	"github.com/parleychat/parley/gateway/internal/webui"
	"github.com/parleychat/parley/gateway/internal/wsapi"
	"github.com/parleychat/parley/gateway/web"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
	"github.com/parleychat/parley/shared/svcauth"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "gateway"

// sweepInterval is how often the liveness sweeper passes over connections.
const sweepInterval = 5 * time.Second

// Module is a running gateway.
type Module struct {
	cfg      Config
	svc      *kit.Service
	public   *kit.Server
	internal *kit.Server
	hub      *hub.Hub
	ws       *wsapi.Server
	link     *routerlink.Link

	drainOnce sync.Once
	drained   chan struct{}
	stopLink  context.CancelFunc
	linkCtx   context.Context
}

// New wires the gateway from its configuration.
func New(cfg Config, svc *kit.Service) (*Module, error) {
	m := &Module{cfg: cfg, svc: svc, drained: make(chan struct{})}
	rt := &svcauth.Transport{Signer: svc.Signer, Base: internalTransport()}
	verifier, err := authtoken.New(authtoken.Config{JWKSURL: cfg.AuthURL + "/internal/v1/auth/jwks", Transport: rt})
	if err != nil {
		return nil, err
	}

	internalEngine, internalGroup := svc.InternalEngine()
	m.internal, err = kit.Listen("internal", cfg.Internal, internalEngine, svc.Logger)
	if err != nil {
		return nil, err
	}
	gatewayID := cfg.ID
	if gatewayID == "" {
		gatewayID = defaultGatewayID()
	}
	advertise := cfg.AdvertiseAddr
	if advertise == "" {
		advertise = m.internal.Addr()
	}

	hubMetrics := hub.NewMetrics(svc.Ops.Registry)
	var h *hub.Hub
	m.link = routerlink.New(kit.NewClient(cfg.RouterURL, rt, 5*time.Second),
		routerapi.Gateway{ID: gatewayID, Region: cfg.Region, Addr: advertise},
		func() []routerapi.Conn { return h.Bound() }, cfg.RouterFlush, svc.Logger, svc.Ops.Registry)
	h = hub.New(cfg.MaxDevicesPerUser, m.link, hubMetrics)
	m.hub = h

	rates, _ := cfg.rates()
	m.ws = wsapi.New(wsapi.Config{
		Limits:           cfg.limits(),
		AllowedOrigins:   cfg.AllowedOrigins,
		MaxConns:         cfg.MaxConns,
		Queue:            conn.Options{MaxQueue: cfg.SendQueue, WriteTimeout: cfg.WriteTimeout},
		Sweep:            m.sweepConfig(),
		UpstreamTimeout:  cfg.UpstreamTimeout,
		Rates:            rates,
		MaxStrikes:       10,
		GatewayID:        gatewayID,
		ReaderGoroutines: cfg.ReaderGoroutines,
	}, h, verifier, upstreams(cfg, rt), wsapi.NewMetrics(svc.Ops.Registry), hubMetrics, svc.Logger)

	internalapi.Register(internalGroup, h, m.startDrain)
	svc.Ops.AddProbe("router", func(context.Context) error { return m.link.Healthy() })

	publicEngine := svc.Ops.NewEngine("public")
	publicEngine.GET("/v1/ws", func(c *gin.Context) { m.ws.ServeHTTP(c.Writer, c.Request) })
	if err := publicapi.Register(publicEngine, publicRoutes(cfg), verifier, rt); err != nil {
		_ = m.internal.HTTPServer().Close()
		return nil, err
	}
	publicEngine.GET("/.well-known/jwks.json", jwksRelay(cfg.AuthURL, rt))
	ui, err := webui.New(web.Files)
	if cfg.WebDir != "" {
		ui, err = webui.NewLive(cfg.WebDir)
	}
	if err != nil {
		_ = m.internal.HTTPServer().Close()
		return nil, err
	}
	ui.AllowMediaOrigins(cfg.WebMediaOrigins)
	ui.Mount(publicEngine)
	m.public, err = kit.Listen("public", cfg.Public, publicEngine, svc.Logger)
	if err != nil {
		_ = m.internal.HTTPServer().Close()
		return nil, err
	}
	svc.Logger.Info("gateway ready", slog.String("id", gatewayID), slog.String("region", cfg.Region),
		slog.String("advertise", advertise), slog.String("public", m.public.Addr()))
	return m, nil
}

func (m *Module) sweepConfig() hub.SweepConfig {
	return hub.SweepConfig{AuthTimeout: m.cfg.AuthTimeout, PingInterval: m.cfg.PingInterval,
		IdleTimeout: m.cfg.IdleTimeout, ExpiryGrace: m.cfg.ExpiryGrace}
}

// PublicAddr returns the bound public address.
func (m *Module) PublicAddr() string { return m.public.Addr() }

// InternalAddr returns the bound internal address.
func (m *Module) InternalAddr() string { return m.internal.Addr() }

func upstreams(cfg Config, rt http.RoundTripper) map[string]wsapi.Upstream {
	out := map[string]wsapi.Upstream{}
	if cfg.MessagesURL != "" {
		up := upstream.NewHTTP(kit.NewClient(cfg.MessagesURL, rt, cfg.UpstreamTimeout))
		for _, t := range []string{protocol.TypeSend, protocol.TypeSync, protocol.TypeHistory, protocol.TypeTyping} {
			out[t] = up
		}
	}
	if cfg.ReceiptsURL != "" {
		up := upstream.NewHTTP(kit.NewClient(cfg.ReceiptsURL, rt, cfg.UpstreamTimeout))
		out[protocol.TypeReceived], out[protocol.TypeRead] = up, up
	}
	return out
}

func publicRoutes(cfg Config) []publicapi.Route {
	routes := []publicapi.Route{{Public: "/api/v1/auth", Target: cfg.AuthURL, Internal: "/internal/v1/auth", MaxBody: 64 << 10}}
	if cfg.MessagesURL != "" {
		routes = append(routes, publicapi.Route{Public: "/api/v1/messages", Target: cfg.MessagesURL, Internal: "/internal/v1/messages", MaxBody: 64 << 10})
	}
	if cfg.GroupsURL != "" {
		routes = append(routes, publicapi.Route{Public: "/api/v1/groups", Target: cfg.GroupsURL, Internal: "/internal/v1/groups", MaxBody: 64 << 10})
	}
	if cfg.MediaURL != "" {
		routes = append(routes, publicapi.Route{Public: "/api/v1/media", Target: cfg.MediaURL, Internal: "/internal/v1/media", MaxBody: 256 << 20})
	}
	return routes
}

func internalTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

func defaultGatewayID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "gateway"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// Run serves until ctx ends, then drains: clients are told to reconnect
// elsewhere, the router forgets this gateway, and the listeners stop.
func (m *Module) Run(ctx context.Context) error {
	m.linkCtx, m.stopLink = context.WithCancel(ctx)
	defer m.stopLink()
	m.link.Heartbeat(m.linkCtx)
	go m.link.Run(m.linkCtx)
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	defer stopSweep()
	// Every connection is checked every sweepInterval: timeouts fire up to
	// that much late, and idle connections cost less CPU.
	go m.hub.RunSweeper(sweepCtx, sweepInterval, m.sweepConfig())
	return kit.Serve(ctx, func(context.Context) {
		m.startDrain()
		<-m.drained
	}, m.public, m.internal)
}

// startDrain begins a drain once; later calls only report it is under way.
func (m *Module) startDrain() bool {
	started := false
	m.drainOnce.Do(func() {
		started = true
		go m.drain()
	})
	return started
}

func (m *Module) drain() {
	defer close(m.drained)
	logger := m.svc.Logger
	logger.Info("draining", slog.Int("conns", m.hub.Count()))
	m.svc.Ops.SetDraining(true)
	if m.stopLink != nil {
		m.stopLink()
	}
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := m.link.Withdraw(wctx); err != nil {
		logger.Warn("router withdraw failed; the lease expires on its own", slog.Any("err", err))
	}
	cancel()
	dctx, cancel := context.WithTimeout(context.Background(), m.cfg.DrainTimeout)
	defer cancel()
	m.ws.Drain(dctx, m.cfg.DrainSpread)
	m.ws.Close()
	logger.Info("drained")
}

// Run is the process entry: configuration from args and the environment.
func Run(ctx context.Context, args []string) error {
	var cfg Config
	svc, err := kit.Boot(Name, args, &cfg)
	if err != nil {
		return err
	}
	m, err := New(cfg, svc)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}
