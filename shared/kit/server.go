package kit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
)

// HTTPConfig configures one listener.
type HTTPConfig struct {
	Addr              string
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
}

// RegisterFlags registers the listener's flags under prefix ("internal.", "public.").
func (c *HTTPConfig) RegisterFlags(fs *flag.FlagSet, prefix, defaultAddr string) {
	fs.StringVar(&c.Addr, prefix+"addr", defaultAddr, "listen address (host:port; port 0 picks a free one)")
	fs.DurationVar(&c.ReadHeaderTimeout, prefix+"read-header-timeout", 10*time.Second, "time allowed to read request headers")
	fs.DurationVar(&c.IdleTimeout, prefix+"idle-timeout", 2*time.Minute, "keep-alive idle timeout")
	fs.DurationVar(&c.ShutdownTimeout, prefix+"shutdown-timeout", 15*time.Second, "time allowed for in-flight requests at shutdown")
}

// Validate checks the listener settings.
func (c *HTTPConfig) Validate(prefix string) error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%saddr: %q is not host:port", prefix, c.Addr)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("%sshutdown-timeout must be positive", prefix)
	}
	return nil
}

// Server is one HTTP listener.
type Server struct {
	Name   string
	cfg    HTTPConfig
	srv    *http.Server
	ln     net.Listener
	logger *slog.Logger
}

// Listen binds the listener now, so the bound address (for port 0) is known
// before serving and a taken port fails at startup, not later.
func Listen(name string, cfg HTTPConfig, h http.Handler, logger *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener: %w", name, err)
	}
	return &Server{
		Name: name, cfg: cfg, ln: ln, logger: logger,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
	}, nil
}

// Addr returns the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// HTTPServer exposes the underlying server, e.g. to register shutdown hooks
// for hijacked WebSocket connections.
func (s *Server) HTTPServer() *http.Server { return s.srv }

// Serve runs every server until ctx is cancelled, then shuts them all down
// gracefully, each within its own shutdown timeout. beforeShutdown (may be
// nil) runs first, e.g. to flip readiness and drain WebSocket clients.
func Serve(ctx context.Context, beforeShutdown func(context.Context), servers ...*Server) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range servers {
		s.logger.Info("listening", slog.String("listener", s.Name), slog.String("addr", s.Addr()))
		g.Go(func() error {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s listener: %w", s.Name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		if beforeShutdown != nil {
			beforeShutdown(context.Background())
		}
		var errsOut []error
		for _, s := range servers {
			sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
			if err := s.srv.Shutdown(sctx); err != nil {
				errsOut = append(errsOut, fmt.Errorf("%s shutdown: %w", s.Name, err))
				_ = s.srv.Close()
			}
			cancel()
			s.logger.Info("stopped", slog.String("listener", s.Name))
		}
		return errors.Join(errsOut...)
	})
	return g.Wait()
}
