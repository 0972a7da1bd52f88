// Package module assembles the mediasvc service (attachments in
// S3-compatible storage) from its parts. It is the module's one exported
// package, so the all-in-one binary can run it too.
package module

import (
	"context"
	"log/slog"
	"sync"
	"time"

	mediahttp "github.com/parleychat/parley/mediasvc/internal/delivery/http"
	"github.com/parleychat/parley/shared/kit"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "mediasvc"

// startupTimeout bounds connecting to the metadata store and migrating.
const startupTimeout = 2 * time.Minute

// Module is a running mediasvc.
type Module struct {
	svc      *kit.Service
	cfg      MediaConfig
	app      *app
	internal *kit.Server
}

// New wires mediasvc from its configuration: it opens the object and
// metadata stores (migrating a Cassandra schema if asked) and binds the
// internal listener. S3 is not contacted here: readiness reports it, so
// mediasvc starts while S3 is down and serves once it is back.
func New(cfg Config, svc *kit.Service) (*Module, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	a, err := build(ctx, cfg.Media, svc.Signer, svc.Logger, svc.Ops.Registry)
	if err != nil {
		return nil, err
	}
	engine, api := svc.InternalEngine()
	mediahttp.NewHandler(mediahttp.Config{AttachCallers: cfg.Media.AttachCallers}, a.uc).Register(api)
	svc.Ops.AddProbe("objects", a.objects.Ping)
	svc.Ops.AddProbe("metadata", a.meta.Ping)
	if a.limiterProbe != nil {
		svc.Ops.AddProbe("ratelimit", a.limiterProbe)
	}
	internal, err := kit.Listen("internal", cfg.Internal, engine, svc.Logger)
	if err != nil {
		_ = a.close()
		return nil, err
	}
	return &Module{svc: svc, cfg: cfg.Media, app: a, internal: internal}, nil
}

// Addr returns the internal listener's bound address.
func (m *Module) Addr() string { return m.internal.Addr() }

// Run serves until ctx ends, then stops gracefully: readiness fails first so
// callers move away, then in-flight requests finish, then the store closes.
// Meanwhile the cleanup runs every -media.cleanup.interval.
func (m *Module) Run(ctx context.Context) error {
	jobs, stopJobs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if m.cfg.CleanupInterval > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); m.app.uc.RunCleanupEvery(jobs, m.cfg.CleanupInterval) }()
	}
	err := kit.Serve(ctx, func(context.Context) { m.svc.Ops.SetDraining(true) }, m.internal)
	stopJobs()
	wg.Wait()
	if cerr := m.app.close(); cerr != nil {
		m.svc.Logger.Warn("closing the metadata store failed", slog.Any("err", cerr))
	}
	return err
}

// Run is the process entry: configuration from args and the environment.
// `mediasvc migrate` is a subcommand (commands.go).
func Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		if cmd, ok := commands[args[0]]; ok {
			return cmd(ctx, args[1:], defaultIO())
		}
	}
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
