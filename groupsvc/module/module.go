// Package module assembles the groupsvc service (groups, roles and size limits) from its parts. It is the
// module's one exported package, so the all-in-one binary can run it too.
package module

import (
	"context"
	"flag"

	"github.com/parleychat/parley/shared/kit"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "groupsvc"

// Config is the whole configuration of groupsvc.
type Config struct {
	kit.BaseConfig
}

// RegisterFlags registers every flag of groupsvc.
func (c *Config) RegisterFlags(fs *flag.FlagSet) { c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7104") }

// Validate checks the configuration.
func (c *Config) Validate() error { return c.BaseConfig.Validate() }

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

// Module is a running groupsvc.
type Module struct {
	svc      *kit.Service
	internal *kit.Server
}

// New wires groupsvc from its configuration.
func New(cfg Config, svc *kit.Service) (*Module, error) {
	engine, _ := svc.InternalEngine()
	internal, err := kit.Listen("internal", cfg.Internal, engine, svc.Logger)
	if err != nil {
		return nil, err
	}
	return &Module{svc: svc, internal: internal}, nil
}

// Run serves until ctx ends, then stops gracefully: readiness fails first so
// callers move away, then in-flight requests finish.
func (m *Module) Run(ctx context.Context) error {
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
