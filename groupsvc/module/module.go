// Package module assembles the groupsvc service (groups, roles and size limits) from its parts. It is the
// module's one exported package, so the all-in-one binary can run it too.
package module

import (
	"context"
	"log/slog"
	"sync"
	"time"

	grouphttp "github.com/parleychat/parley/groupsvc/internal/delivery/http"
	"github.com/parleychat/parley/shared/kit"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "groupsvc"

// startupTimeout bounds connecting to the store and migrating.
const startupTimeout = 2 * time.Minute

// Module is a running groupsvc.
type Module struct {
	svc      *kit.Service
	cfg      GroupsConfig
	app      *app
	internal *kit.Server
}

// New wires groupsvc from its configuration: it opens the store (migrating
// a Cassandra schema if asked) and binds the internal listener.
func New(cfg Config, svc *kit.Service) (*Module, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	a, err := build(ctx, cfg.Groups, svc.Signer, svc.Logger, svc.Ops.Registry)
	if err != nil {
		return nil, err
	}
	engine, api := svc.InternalEngine()
	grouphttp.NewHandler(a.uc).Register(api)
	svc.Ops.AddProbe("store", a.store.Ping)
	internal, err := kit.Listen("internal", cfg.Internal, engine, svc.Logger)
	if err != nil {
		_ = a.close()
		return nil, err
	}
	return &Module{svc: svc, cfg: cfg.Groups, app: a, internal: internal}, nil
}

// Addr returns the internal listener's bound address.
func (m *Module) Addr() string { return m.internal.Addr() }

// Run serves until ctx ends, then stops gracefully: readiness fails first so
// callers move away, then in-flight requests finish, then the dispatcher
// stops (undelivered events stay in the outbox for the next start or
// another replica) and the store closes.
func (m *Module) Run(ctx context.Context) error {
	jobs, stopJobs := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.app.uc.RunDispatcher(jobs, m.cfg.DispatchInterval) }()
	err := kit.Serve(ctx, func(context.Context) { m.svc.Ops.SetDraining(true) }, m.internal)
	stopJobs()
	wg.Wait()
	if cerr := m.app.close(); cerr != nil {
		m.svc.Logger.Warn("closing the store failed", slog.Any("err", cerr))
	}
	return err
}

// Run is the process entry: configuration from args and the environment.
// `groupsvc migrate` is a subcommand (commands.go).
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
