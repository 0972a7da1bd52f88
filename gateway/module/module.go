// Package module assembles the gateway, the platform's public edge, from its
// parts. It is the module's one exported package, so the all-in-one binary
// can run it too.
package module

import (
	"context"
	"errors"
	"flag"

	"github.com/parleychat/parley/shared/kit"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "gateway"

// Config is the whole configuration of the gateway.
type Config struct {
	kit.BaseConfig
	// Public is the listener clients reach; internal APIs are never served on it.
	Public kit.HTTPConfig
}

// RegisterFlags registers every flag of the gateway.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7100")
	c.Public.RegisterFlags(fs, "public.", "127.0.0.1:8080")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	return errors.Join(c.BaseConfig.Validate(), c.Public.Validate("public."))
}

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

// Module is a running gateway.
type Module struct {
	svc      *kit.Service
	public   *kit.Server
	internal *kit.Server
}

// New wires the gateway from its configuration.
func New(cfg Config, svc *kit.Service) (*Module, error) {
	internalEngine, _ := svc.InternalEngine()
	internal, err := kit.Listen("internal", cfg.Internal, internalEngine, svc.Logger)
	if err != nil {
		return nil, err
	}
	public, err := kit.Listen("public", cfg.Public, svc.Ops.NewEngine("public"), svc.Logger)
	if err != nil {
		_ = internal.HTTPServer().Close()
		return nil, err
	}
	return &Module{svc: svc, public: public, internal: internal}, nil
}

// Run serves until ctx ends, then stops gracefully.
func (m *Module) Run(ctx context.Context) error {
	return kit.Serve(ctx, func(context.Context) { m.svc.Ops.SetDraining(true) }, m.public, m.internal)
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
