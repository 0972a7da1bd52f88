package module

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/parleychat/parley/authsvc/internal/keyring"
	"github.com/parleychat/parley/authsvc/internal/password"
	"github.com/parleychat/parley/authsvc/internal/store/cassandra"
	"github.com/parleychat/parley/authsvc/internal/store/embedded"
	"github.com/parleychat/parley/authsvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/ratelimit"
)

// store is what a backend provides.
type store interface {
	usecase.Accounts
	usecase.Sessions
	keyring.Store
	Ping(ctx context.Context) error
	Close() error
}

var (
	_ store = (*embedded.Store)(nil)
	_ store = (*cassandra.Store)(nil)
)

// openStore is the one switch between the store backends.
func openStore(ctx context.Context, cfg AuthConfig, logger *slog.Logger) (store, error) {
	switch cfg.Store.Backend {
	case "cassandra":
		cc := cfg.cassandra()
		if cfg.Store.Cassandra.Migrate {
			if err := cassandra.Migrate(ctx, cc, logger); err != nil {
				return nil, fmt.Errorf("cassandra migrations: %w", err)
			}
		}
		return cassandra.Open(cc, logger)
	case "embedded":
		return embedded.Open(embedded.Config{Dir: cfg.Store.DataDir}, logger)
	}
	return nil, fmt.Errorf("unknown store backend %q", cfg.Store.Backend)
}

// limiter is a rate limiter with its readiness probe and cleanup.
type limiter struct {
	usecase.RateLimiter
	probe kit.Probe // nil when there is nothing to check
	close func() error
}

// newLimiter is the one switch between the rate-limit backends.
func newLimiter(cfg RateLimitConfig) limiter {
	if cfg.Backend == "redis" {
		client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: cfg.RedisAddrs,
			Password: cfg.RedisPassword.Reveal(), DialTimeout: 2 * time.Second,
			ReadTimeout: time.Second, WriteTimeout: time.Second})
		r := ratelimit.NewRedis(client, cfg.RedisPrefix)
		return limiter{RateLimiter: r, probe: r.Ping, close: client.Close}
	}
	return limiter{RateLimiter: ratelimit.NewMemory(nil), close: func() error { return nil }}
}

// app is authsvc's parts, wired.
type app struct {
	store   store
	limiter limiter
	ring    *keyring.Ring
	uc      *usecase.Service
}

func (a *app) close() error {
	return errors.Join(a.limiter.close(), a.store.Close())
}

// build wires the parts of authsvc and loads the signing keys.
func build(ctx context.Context, cfg AuthConfig, logger *slog.Logger, reg prometheus.Registerer) (*app, error) {
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	a := &app{store: st, limiter: newLimiter(cfg.RateLimit)}
	uc, ring, err := newUseCases(cfg, st, a.limiter, logger, reg)
	if err != nil {
		_ = a.close()
		return nil, err
	}
	a.uc, a.ring = uc, ring
	if err := ring.Sync(ctx); err != nil {
		_ = a.close()
		return nil, err
	}
	return a, nil
}

func newUseCases(cfg AuthConfig, st store, lim usecase.RateLimiter, logger *slog.Logger, reg prometheus.Registerer) (*usecase.Service, *keyring.Ring, error) {
	metrics := usecase.NewMetrics(reg)
	hasher, err := password.NewHasher(cfg.argon2(), cfg.Argon2.MaxConcurrent, metrics.ObserveArgon2)
	if err != nil {
		return nil, nil, err
	}
	node := cfg.NodeID
	if node < 0 {
		node = rand.IntN(ids.MaxNode + 1)
		logger.Info("picked a random ids node; set -auth.node-id to a unique value per replica", slog.Int("node", node))
	}
	gen, err := ids.NewGenerator(node)
	if err != nil {
		return nil, nil, err
	}
	ring := keyring.New(keyring.Config{Rotation: cfg.KeyRotation, Reload: cfg.KeyReload,
		ActivationDelay: cfg.KeyActivationDelay, AccessTTL: cfg.AccessTTL}, st, logger, time.Now)
	uc := usecase.New(usecase.Config{Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL,
		RefreshTTL:       cfg.RefreshTTL,
		SignInPerAccount: ratelimit.Limit{Max: cfg.RateLimit.AccountLimit, Window: cfg.RateLimit.AccountWindow},
		SignInPerAddr:    ratelimit.Limit{Max: cfg.RateLimit.AddrLimit, Window: cfg.RateLimit.AddrWindow},
	}, usecase.Deps{Accounts: st, Sessions: st, Passwords: hasher, Tokens: ring, Limiter: lim, IDs: gen,
		Now: time.Now, Logger: logger, Metrics: metrics})
	return uc, ring, nil
}
