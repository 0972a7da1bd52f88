// Package module assembles receiptsvc (received/read acknowledgements,
// coalesced and recorded through messagesvc) from its parts. It is the
// module's one exported package, so the all-in-one binary can run it too.
package module

import (
	"context"
	"errors"
	"flag"
	"net/url"
	"time"

	"github.com/parleychat/parley/receiptsvc/internal/clients"
	"github.com/parleychat/parley/receiptsvc/internal/delivery/httpapi"
	"github.com/parleychat/parley/receiptsvc/internal/usecase"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/svcauth"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "receiptsvc"

// Config is the whole configuration of receiptsvc.
type Config struct {
	kit.BaseConfig
	MessagesURL string
	Window      time.Duration
	MaxBatch    int
	Timeout     time.Duration
}

// RegisterFlags registers every flag of receiptsvc.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7103")
	fs.StringVar(&c.MessagesURL, "receipts.messages-url", "http://127.0.0.1:7102", "messagesvc, which records the acknowledgements")
	fs.DurationVar(&c.Window, "receipts.window", 10*time.Millisecond, "acknowledgements arriving within this window are recorded in one call")
	fs.IntVar(&c.MaxBatch, "receipts.max-batch", 500, "a batch is recorded at once when it reaches this many items")
	fs.DurationVar(&c.Timeout, "receipts.timeout", 5*time.Second, "timeout of recording one batch")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	errsOut := []error{c.BaseConfig.Validate()}
	if u, err := url.Parse(c.MessagesURL); err != nil || u.Host == "" {
		errsOut = append(errsOut, errors.New("receipts.messages-url must be an http(s) URL"))
	}
	if c.Window <= 0 || c.MaxBatch < 1 || c.MaxBatch > 1000 || c.Timeout <= 0 {
		errsOut = append(errsOut, errors.New("receipts.window and receipts.timeout must be positive, receipts.max-batch 1..1000"))
	}
	return errors.Join(errsOut...)
}

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

// Module is a running receiptsvc.
type Module struct {
	svc      *kit.Service
	internal *kit.Server
}

// New wires receiptsvc from its configuration.
func New(cfg Config, svc *kit.Service) (*Module, error) {
	rt := &svcauth.Transport{Signer: svc.Signer}
	sink := clients.NewMessages(kit.NewClient(cfg.MessagesURL, rt, cfg.Timeout))
	coalescer := usecase.New(sink, cfg.Window, cfg.MaxBatch, cfg.Timeout, svc.Ops.Registry)
	engine, api := svc.InternalEngine()
	httpapi.Register(api, coalescer, protocol.DefaultLimits())
	internal, err := kit.Listen("internal", cfg.Internal, engine, svc.Logger)
	if err != nil {
		return nil, err
	}
	return &Module{svc: svc, internal: internal}, nil
}

// Run serves until ctx ends, then stops gracefully.
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
