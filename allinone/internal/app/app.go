// Package app runs Parley's services in one process, Mimir-style: every
// service module is wired from one flag set (-target selects which), each
// keeps its own internal listener on loopback so the code paths are those
// of separate processes, and the embedded stores, local media and the
// generated internal secret share one -data-dir.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
)

// Name is the binary's name.
const Name = "parley"

// readyWarnAfter is how long readiness may take before it is reported.
const readyWarnAfter = 20 * time.Second

// startupTimeout bounds wiring every service (opening stores, loading keys).
const startupTimeout = 2 * time.Minute

// Run is the process entry: `parley [flags]` runs the selected services
// until ctx ends; `parley bootstrap-admin …` creates the first admin.
func Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "bootstrap-admin" {
		return bootstrapAdmin(ctx, args[1:], os.LookupEnv)
	}
	l, err := load(Name, args, os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := kit.ServiceLogger(l.Settings.Shared.Log, Name)
	config.LogEffective(logger, l.Flags.fs)
	go exitOnSecondSignal(ctx, logger, func(c chan<- os.Signal) { signal.Notify(c, syscall.SIGINT, syscall.SIGTERM) }, os.Exit)
	return runServices(ctx, l, logger, os.Stdout)
}

// exitOnSecondSignal ends the process at once on a second SIGINT or
// SIGTERM during the graceful stop (an impatient Ctrl-C). The stores are
// bbolt files, which a sudden exit leaves at their last committed state.
func exitOnSecondSignal(ctx context.Context, logger *slog.Logger, notify func(chan<- os.Signal), exit func(int)) {
	<-ctx.Done()
	sig := make(chan os.Signal, 1)
	notify(sig)
	<-sig
	logger.Warn("second signal: exiting without finishing the graceful stop")
	exit(1)
}

// service is a wired component.
type service struct {
	c    *component
	svc  *kit.Service
	r    runner
	stop context.CancelFunc
	done chan error
}

// runServices wires every selected service, runs them until ctx ends or
// one fails, then stops them stage by stage (the gateway drains first).
func runServices(ctx context.Context, l *loaded, logger *slog.Logger, out io.Writer) error {
	services, err := wire(l)
	if err != nil {
		return err
	}
	addReadiness(services, l.Addrs)

	failed := make(chan struct{})
	var failOnce sync.Once
	for _, s := range services {
		rctx, stop := context.WithCancel(context.Background())
		s.stop, s.done = stop, make(chan error, 1)
		go func() {
			err := s.r.Run(rctx)
			if rctx.Err() == nil {
				if err == nil {
					err = errors.New("stopped on its own")
				}
				failOnce.Do(func() { close(failed) })
			}
			s.done <- err
		}()
	}

	readyCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	go func() {
		if waitReady(readyCtx, l, logger) {
			logger.Info("platform ready", slog.String("url", publicURL(l)), slog.String("data_dir", l.Settings.DataDir))
			printBanner(out, l)
		}
	}()

	select {
	case <-ctx.Done():
		logger.Info("stopping: the gateway drains first")
	case <-failed:
		logger.Error("a service stopped unexpectedly; stopping the others")
	}
	stopWaiting()
	return stopServices(services, logger)
}

// wire builds every selected service in start order. On failure the ones
// already wired are stopped again, releasing their listeners and stores.
func wire(l *loaded) ([]*service, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	var out []*service
	for _, c := range l.Run {
		base := *c.cfg.Base()
		svc, err := kit.NewService(c.name, base, kit.ServiceLogger(base.Log, c.name))
		if err == nil {
			var r runner
			if r, err = c.wire(ctx, svc); err == nil {
				out = append(out, &service{c: c, svc: svc, r: r})
				continue
			}
		}
		for _, s := range out {
			stopped, stop := context.WithCancel(context.Background())
			stop()
			_ = s.r.Run(stopped)
		}
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return out, nil
}

// addReadiness makes the gateway's /readyz (the one a load balancer or a
// script polls) answer ready only when every service in the process is.
func addReadiness(services []*service, addrs map[string]string) {
	i := slices.IndexFunc(services, func(s *service) bool { return s.c.name == "gateway" })
	if i < 0 {
		return
	}
	client := &http.Client{Timeout: time.Second}
	for _, s := range services {
		if s.c.name == "gateway" {
			continue
		}
		url := "http://" + dialable(addrs[s.c.name]) + "/readyz"
		services[i].svc.Ops.AddProbe(s.c.name, func(ctx context.Context) error { return probe(ctx, client, url) })
	}
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready (%d)", resp.StatusCode)
	}
	return nil
}

// waitReady polls until the process answers ready: the gateway's public
// /readyz (which covers every service), or each internal /readyz. If that
// takes long, it says what is still failing, once.
func waitReady(ctx context.Context, l *loaded, logger *slog.Logger) bool {
	var urls []string
	if l.PublicAddr != "" {
		urls = []string{"http://" + dialable(l.PublicAddr) + "/readyz"}
	} else {
		for _, c := range l.Run {
			urls = append(urls, "http://"+dialable(l.Addrs[c.name])+"/readyz")
		}
	}
	client := &http.Client{Timeout: 3 * time.Second}
	warnAt := time.Now().Add(readyWarnAfter)
	for {
		var failed error
		for _, u := range urls {
			if err := probe(ctx, client, u); err != nil {
				failed = fmt.Errorf("%s: %w", u, err)
				break
			}
		}
		if failed == nil {
			return true
		}
		if !warnAt.IsZero() && time.Now().After(warnAt) {
			logger.Warn("not ready yet; see each service's /readyz", slog.Any("err", failed))
			warnAt = time.Time{}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopServices stops the services stage by stage and reports every error.
func stopServices(services []*service, logger *slog.Logger) error {
	var errsOut []error
	for stage := 0; len(services) > 0; stage++ {
		var now, later []*service
		for _, s := range services {
			if s.c.stage <= stage {
				now = append(now, s)
			} else {
				later = append(later, s)
			}
		}
		for _, s := range now {
			s.stop()
		}
		for _, s := range now {
			if err := <-s.done; err != nil {
				errsOut = append(errsOut, fmt.Errorf("%s: %w", s.c.name, err))
			}
			logger.Info("stopped", slog.String("target", s.c.name))
		}
		services = later
	}
	return errors.Join(errsOut...)
}

func publicURL(l *loaded) string {
	if l.PublicAddr == "" {
		return ""
	}
	return "http://" + dialable(l.PublicAddr)
}

func printBanner(w io.Writer, l *loaded) {
	var b strings.Builder
	if u := publicURL(l); u != "" {
		fmt.Fprintf(&b, "\nParley is running: open %s in a browser.\n", u)
	} else {
		fmt.Fprintf(&b, "\nParley is running (no gateway in -target: nothing public).\n")
	}
	for _, c := range l.Run {
		fmt.Fprintf(&b, "  %-10s internal %s\n", c.name, l.Addrs[c.name])
	}
	fmt.Fprintf(&b, "  data:      %s (stores, media, internal secret; delete it to start over)\n", l.Settings.DataDir)
	if slices.ContainsFunc(l.Run, func(c *component) bool { return c.name == "authsvc" }) {
		fmt.Fprintf(&b, "  admin:     sign up, then start once with -auth.bootstrap-admin=<username>\n")
		fmt.Fprintf(&b, "             (make run ARGS=-auth.bootstrap-admin=<username>); or, while stopped:\n")
		fmt.Fprintf(&b, "             echo '<password>' | %s bootstrap-admin -username <name> -data-dir %s\n", os.Args[0], l.Settings.DataDir)
	}
	fmt.Fprintf(&b, "  stop:      Ctrl-C (SIGINT or SIGTERM)\n\n")
	_, _ = io.WriteString(w, b.String())
}
