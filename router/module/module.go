// Package module assembles the router (user/device to gateway routing for
// one region) from its parts. It is the module's one exported package, so
// the all-in-one binary can run it too.
package module

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleychat/parley/router/internal/clients"
	"github.com/parleychat/parley/router/internal/delivery/httpapi"
	"github.com/parleychat/parley/router/internal/store"
	"github.com/parleychat/parley/router/internal/store/memory"
	"github.com/parleychat/parley/router/internal/store/redisstore"
	"github.com/parleychat/parley/router/internal/usecase"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/svcauth"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "router"

var regionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// Config is the whole configuration of the router.
type Config struct {
	kit.BaseConfig
	Region       string
	Backend      string
	RedisAddrs   config.StringList
	RedisPrefix  string
	RedisTimeout time.Duration
	GatewayTTL   time.Duration
	PushTimeout  time.Duration
	// Peers lists other regions' routers as region=base-url.
	Peers config.StringList
}

// RegisterFlags registers every flag of the router.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7106")
	fs.StringVar(&c.Region, "router.region", "local", "region this router serves")
	fs.StringVar(&c.Backend, "router.store.backend", "memory", "registry store: memory (one router, one machine) or redis")
	fs.Var(&c.RedisAddrs, "router.redis.addrs", "Redis host:port; several addresses mean a Redis Cluster")
	fs.StringVar(&c.RedisPrefix, "router.redis.key-prefix", "parley:", "prefix of every Redis key (the region is appended)")
	fs.DurationVar(&c.RedisTimeout, "router.redis.timeout", 500*time.Millisecond, "Redis dial, read and write timeout: fail fast, the caller retries")
	fs.DurationVar(&c.GatewayTTL, "router.gateway-ttl", 10*time.Second, "a gateway silent this long is dead and its connections stop routing")
	fs.DurationVar(&c.PushTimeout, "router.push-timeout", 2*time.Second, "timeout of one push to a gateway or call to a peer router")
	fs.Var(&c.Peers, "router.peers", "peer regions' routers, comma-separated region=http://host:port")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	errsOut := []error{c.BaseConfig.Validate()}
	if !regionPattern.MatchString(c.Region) {
		errsOut = append(errsOut, fmt.Errorf("router.region %q: want 1-32 of [A-Za-z0-9._-]", c.Region))
	}
	switch c.Backend {
	case "memory":
	case "redis":
		if len(c.RedisAddrs) == 0 {
			errsOut = append(errsOut, errors.New("router.redis.addrs is required with router.store.backend=redis"))
		}
	default:
		errsOut = append(errsOut, fmt.Errorf("router.store.backend %q: want memory or redis", c.Backend))
	}
	if c.GatewayTTL < time.Second {
		errsOut = append(errsOut, errors.New("router.gateway-ttl must be at least 1s"))
	}
	if c.PushTimeout <= 0 || c.RedisTimeout <= 0 {
		errsOut = append(errsOut, errors.New("router.push-timeout and router.redis.timeout must be positive"))
	}
	if _, err := c.peers(); err != nil {
		errsOut = append(errsOut, err)
	}
	return errors.Join(errsOut...)
}

type peerSpec struct{ region, baseURL string }

func (c *Config) peers() ([]peerSpec, error) {
	var out []peerSpec
	for _, p := range c.Peers {
		region, raw, ok := strings.Cut(p, "=")
		u, err := url.Parse(raw)
		if !ok || !regionPattern.MatchString(region) || err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("router.peers: %q is not region=http://host:port", p)
		}
		if region == c.Region {
			return nil, fmt.Errorf("router.peers: %q names this router's own region", p)
		}
		out = append(out, peerSpec{region, strings.TrimRight(raw, "/")})
	}
	return out, nil
}

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

// Module is a running router.
type Module struct {
	svc      *kit.Service
	internal *kit.Server
	closers  []func() error
}

// New wires the router from its configuration.
func New(cfg Config, svc *kit.Service) (*Module, error) {
	m := &Module{svc: svc}
	registry, err := m.newRegistry(cfg)
	if err != nil {
		return nil, err
	}
	svc.Ops.AddProbe("registry", registry.Ping)

	rt := &svcauth.Transport{Signer: svc.Signer, Base: clients.NewTransport()}
	specs, _ := cfg.peers()
	var peers []usecase.Peer
	for _, p := range specs {
		peers = append(peers, clients.NewPeerRouter(p.region, p.baseURL, rt, cfg.PushTimeout))
	}
	registration := usecase.NewRegistration(registry, cfg.Region, cfg.GatewayTTL)
	routing := usecase.NewRouting(registry, clients.NewGatewayPusher(rt, cfg.PushTimeout), peers, cfg.PushTimeout,
		svc.Logger, svc.Ops.Registry)

	engine, api := svc.InternalEngine()
	httpapi.Register(api, registration, routing)
	m.internal, err = kit.Listen("internal", cfg.Internal, engine, svc.Logger)
	if err != nil {
		m.close()
		return nil, err
	}
	svc.Logger.Info("router ready", slog.String("region", cfg.Region), slog.String("store", cfg.Backend),
		slog.Int("peers", len(peers)))
	return m, nil
}

func (m *Module) newRegistry(cfg Config) (store.Registry, error) {
	if cfg.Backend == "memory" {
		return memory.New(), nil
	}
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:         cfg.RedisAddrs,
		IsClusterMode: len(cfg.RedisAddrs) > 1,
		DialTimeout:   cfg.RedisTimeout,
		ReadTimeout:   cfg.RedisTimeout,
		WriteTimeout:  cfg.RedisTimeout,
		MaxRetries:    1,
	})
	m.closers = append(m.closers, rdb.Close)
	return redisstore.New(rdb, cfg.RedisPrefix+cfg.Region+":"), nil
}

func (m *Module) close() {
	for _, c := range m.closers {
		_ = c()
	}
}

// Run serves until ctx ends, then stops gracefully.
func (m *Module) Run(ctx context.Context) error {
	defer m.close()
	return kit.Serve(ctx, func(context.Context) { m.svc.Ops.SetDraining(true) }, m.internal)
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
