package kit

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http/pprof"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/svcauth"
)

// BaseConfig is what every service needs: logging, the internal listener and
// the service-to-service secret.
type BaseConfig struct {
	Log            LogConfig
	Internal       HTTPConfig
	InternalSecret config.Secret
	// PreviousInternalSecret is still accepted while the secret rotates.
	PreviousInternalSecret config.Secret
}

// RegisterFlags registers the base flags; defaultInternalAddr differs per service.
func (c *BaseConfig) RegisterFlags(fs *flag.FlagSet, defaultInternalAddr string) {
	c.Log.RegisterFlags(fs)
	c.Internal.RegisterFlags(fs, "internal.", defaultInternalAddr)
	fs.Var(&c.InternalSecret, "internal.secret", "shared secret for service-to-service calls, at least 32 bytes (secret; env CHAT_INTERNAL_SECRET)")
	fs.Var(&c.PreviousInternalSecret, "internal.previous-secret", "previous internal secret, still accepted during rotation (secret)")
}

// Validate checks the base settings.
func (c *BaseConfig) Validate() error {
	var errsOut []error
	errsOut = append(errsOut, c.Log.Validate(), c.Internal.Validate("internal."))
	if c.InternalSecret.Empty() {
		errsOut = append(errsOut, errors.New("internal.secret is required (set CHAT_INTERNAL_SECRET to at least 32 random bytes)"))
	} else if err := svcauth.CheckSecret(c.InternalSecret.Reveal()); err != nil {
		errsOut = append(errsOut, fmt.Errorf("internal.secret: %w", err))
	}
	if !c.PreviousInternalSecret.Empty() {
		if err := svcauth.CheckSecret(c.PreviousInternalSecret.Reveal()); err != nil {
			errsOut = append(errsOut, fmt.Errorf("internal.previous-secret: %w", err))
		}
	}
	return errors.Join(errsOut...)
}

// Configurable is a service's whole configuration.
type Configurable interface {
	RegisterFlags(fs *flag.FlagSet)
	Validate() error
}

// LoadConfig parses args and the environment into cfg and validates it.
// -h prints every flag with its environment variable's name.
func LoadConfig(name string, args []string, cfg Configurable) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of %s (every flag can also be set by its environment variable):\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(fs.Output(), "  -%s (%s)\n    \t%s (default %q)\n", f.Name, config.EnvName(f.Name), f.Usage, f.DefValue)
		})
	}
	if err := config.Parse(fs, args, os.LookupEnv); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return fs, nil
}

// Service bundles a service's logger, ops state and service credentials.
type Service struct {
	Name     string
	Logger   *slog.Logger
	Ops      *Ops
	Signer   *svcauth.Signer
	Verifier *svcauth.Verifier
}

// NewService builds the common parts of a service from its base config.
func NewService(name string, base BaseConfig, logger *slog.Logger) (*Service, error) {
	signer, err := svcauth.NewSigner(name, base.InternalSecret.Reveal())
	if err != nil {
		return nil, err
	}
	secrets := []string{base.InternalSecret.Reveal()}
	if !base.PreviousInternalSecret.Empty() {
		secrets = append(secrets, base.PreviousInternalSecret.Reveal())
	}
	verifier, err := svcauth.NewVerifier(secrets...)
	if err != nil {
		return nil, err
	}
	return &Service{Name: name, Logger: logger, Ops: NewOps(name, logger), Signer: signer, Verifier: verifier}, nil
}

// InternalEngine returns the internal listener's engine, with ops endpoints
// open and the /internal/v1 group behind service authentication.
func (s *Service) InternalEngine() (*gin.Engine, *gin.RouterGroup) {
	e := s.Ops.NewEngine("internal")
	api := e.Group("/internal/v1", ServiceAuth(s.Verifier))
	api.GET("/info", func(c *gin.Context) {
		caller, _ := svcauth.Caller(c.Request.Context())
		c.JSON(200, gin.H{"service": s.Name, "caller": caller})
	})
	// Profiles are for operators and benchmarks (heap?gc=1 collects first);
	// they stay behind service authentication on the internal listener.
	api.GET("/debug/pprof/:profile", func(c *gin.Context) {
		switch name := c.Param("profile"); name {
		case "profile": // CPU, ?seconds=N
			pprof.Profile(c.Writer, c.Request)
		case "trace":
			pprof.Trace(c.Writer, c.Request)
		default:
			pprof.Handler(name).ServeHTTP(c.Writer, c.Request)
		}
	})
	return e, api
}

// ServiceConfig is a service configuration built on BaseConfig.
type ServiceConfig interface {
	Configurable
	Base() *BaseConfig
}

// Boot loads cfg from args and the environment, builds the logger (logging
// the effective configuration with secrets masked) and the common service parts.
func Boot(name string, args []string, cfg ServiceConfig) (*Service, error) {
	fs, err := LoadConfig(name, args, cfg)
	if err != nil {
		return nil, err
	}
	logger := ServiceLogger(cfg.Base().Log, name)
	config.LogEffective(logger, fs)
	return NewService(name, *cfg.Base(), logger)
}
