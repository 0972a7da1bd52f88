// Package module assembles the authsvc service (accounts, devices and JWT
// sessions) from its parts. It is the module's one exported package, so the
// all-in-one binary can run it too.
package module

import (
	"context"
	"log/slog"
	"sync"
	"time"

	authhttp "github.com/parleychat/parley/authsvc/internal/delivery/http"
	"github.com/parleychat/parley/shared/kit"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "authsvc"

// startupTimeout bounds connecting to the store, migrating and loading keys.
const startupTimeout = 2 * time.Minute

// Module is a running authsvc.
type Module struct {
	svc      *kit.Service
	app      *app
	internal *kit.Server
}

// New wires authsvc from its configuration: it opens the store (migrating a
// Cassandra schema if asked), loads or creates the signing keys, promotes the
// bootstrap admin, and binds the internal listener.
func New(cfg Config, svc *kit.Service) (*Module, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	if cfg.Auth.KeyActivationDelay < cfg.Auth.KeyReload {
		svc.Logger.Warn("auth.key-activation-delay is below auth.key-reload: with several replicas, a new key may sign before every replica and verifier knows it")
	}
	a, err := build(ctx, cfg.Auth, svc.Logger, svc.Ops.Registry)
	if err != nil {
		return nil, err
	}
	if cfg.Auth.BootstrapAdmin != "" {
		if err := a.uc.PromoteAdmin(ctx, cfg.Auth.BootstrapAdmin); err != nil {
			_ = a.close()
			return nil, err
		}
	}
	engine, api := svc.InternalEngine()
	authhttp.NewHandler(a.uc, time.Now).Register(api)
	svc.Ops.AddProbe("store", a.store.Ping)
	svc.Ops.AddProbe("signing_key", a.ring.Ready)
	if a.limiter.probe != nil {
		svc.Ops.AddProbe("ratelimit", a.limiter.probe)
	}
	internal, err := kit.Listen("internal", cfg.Internal, engine, svc.Logger)
	if err != nil {
		_ = a.close()
		return nil, err
	}
	return &Module{svc: svc, app: a, internal: internal}, nil
}

// Addr returns the internal listener's bound address.
func (m *Module) Addr() string { return m.internal.Addr() }

// Run serves until ctx ends, then stops gracefully: readiness fails first so
// callers move away, then in-flight requests finish, then the store closes.
// Meanwhile it reloads (and, when due, rotates) the signing keys.
func (m *Module) Run(ctx context.Context) error {
	keysCtx, stopKeys := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.app.ring.Run(keysCtx) }()
	err := kit.Serve(ctx, func(context.Context) { m.svc.Ops.SetDraining(true) }, m.internal)
	stopKeys()
	wg.Wait()
	if cerr := m.app.close(); cerr != nil {
		m.svc.Logger.Warn("closing the store failed", slog.Any("err", cerr))
	}
	return err
}

// Run is the process entry: configuration from args and the environment.
// `authsvc migrate` and `authsvc bootstrap-admin` are subcommands (commands.go).
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
