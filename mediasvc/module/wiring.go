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

	"github.com/parleychat/parley/mediasvc/internal/objects/localdir"
	"github.com/parleychat/parley/mediasvc/internal/objects/s3"
	"github.com/parleychat/parley/mediasvc/internal/store/cassandra"
	"github.com/parleychat/parley/mediasvc/internal/store/embedded"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/mediasvc/internal/visibility"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/ratelimit"
	"github.com/parleychat/parley/shared/svcauth"
)

// metaStore is what a metadata backend provides.
type metaStore interface {
	usecase.MediaStore
	usecase.BlobStore
	usecase.CheckSchedule
	usecase.LimitStore
	Ping(ctx context.Context) error
	Close() error
}

var (
	_ metaStore = (*embedded.Store)(nil)
	_ metaStore = (*cassandra.Store)(nil)
)

// openMeta is the one switch between the metadata backends.
func openMeta(ctx context.Context, cfg MediaConfig, logger *slog.Logger) (metaStore, error) {
	switch cfg.Metadata.Backend {
	case "cassandra":
		cc := cfg.cassandra()
		if cfg.Metadata.Cassandra.Migrate {
			if err := cassandra.Migrate(ctx, cc, logger); err != nil {
				return nil, fmt.Errorf("cassandra migrations: %w", err)
			}
		}
		return cassandra.Open(cc, logger)
	case "embedded":
		return embedded.Open(embedded.Config{Dir: cfg.DataDir}, logger)
	}
	return nil, fmt.Errorf("unknown metadata backend %q", cfg.Metadata.Backend)
}

// openObjects is the one switch between the object stores.
func openObjects(cfg MediaConfig) (usecase.Objects, error) {
	switch cfg.Objects.Backend {
	case "s3":
		return s3.New(cfg.s3())
	case "local":
		return localdir.Open(localdir.Config{Dir: cfg.DataDir})
	}
	return nil, fmt.Errorf("unknown object store %q", cfg.Objects.Backend)
}

// newVisibility picks messagesvc when its URL is configured, else
// uploader-only access.
func newVisibility(cfg MediaConfig, signer *svcauth.Signer, logger *slog.Logger) usecase.Visibility {
	if cfg.MessagesURL == "" {
		logger.Info("no -media.messages-url: only uploaders can read their media")
		return visibility.UploaderOnly{}
	}
	return visibility.NewMessages(cfg.MessagesURL, &svcauth.Transport{Signer: signer}, cfg.MessagesTimeout)
}

// newRateLimiter counts uploads in Redis when addresses are set (every
// replica sees the same counts), else in this process.
func newRateLimiter(cfg MediaConfig) (usecase.RateLimiter, kit.Probe, func() error) {
	if len(cfg.RedisAddrs) == 0 {
		return ratelimit.NewMemory(nil), nil, func() error { return nil }
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: cfg.RedisAddrs,
		Password: cfg.RedisPassword.Reveal(), DialTimeout: 2 * time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second})
	r := ratelimit.NewRedis(client, cfg.RedisPrefix)
	return r, r.Ping, client.Close
}

// app is mediasvc's parts, wired.
type app struct {
	objects      usecase.Objects
	meta         metaStore
	uc           *usecase.Service
	limiterProbe kit.Probe // nil: nothing to check
	closeLimiter func() error
}

func (a *app) close() error { return errors.Join(a.closeLimiter(), a.meta.Close()) }

// build wires the parts of mediasvc.
func build(ctx context.Context, cfg MediaConfig, signer *svcauth.Signer, logger *slog.Logger, reg prometheus.Registerer) (*app, error) {
	objects, err := openObjects(cfg)
	if err != nil {
		return nil, err
	}
	meta, err := openMeta(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	node := cfg.NodeID
	if node < 0 {
		node = rand.IntN(ids.MaxNode + 1)
		logger.Info("picked a random ids node; set -media.node-id to a unique value per replica", slog.Int("node", node))
	}
	gen, err := ids.NewGenerator(node)
	if err != nil {
		_ = meta.Close()
		return nil, err
	}
	limiter, probe, closeLimiter := newRateLimiter(cfg)
	uc := usecase.New(cfg.usecase(), usecase.Deps{Objects: objects, Media: meta, Blobs: meta, Checks: meta,
		LimitStore: meta, Visibility: newVisibility(cfg, signer, logger), RateLimiter: limiter, IDs: gen,
		Now: time.Now, Logger: logger, Metrics: usecase.NewMetrics(reg)})
	return &app{objects: objects, meta: meta, uc: uc, limiterProbe: probe, closeLimiter: closeLimiter}, nil
}
