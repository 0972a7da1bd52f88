// Package kit is the small service kit every binary uses: process entry,
// structured logging, a gin engine with health, readiness, metrics, request
// logging and panic recovery, graceful HTTP serving, and the one mapping of
// error codes to HTTP responses.
package kit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a service's real main: it returns when ctx is cancelled (SIGINT
// or SIGTERM) and everything it started has stopped, or on a fatal error.
type RunFunc func(ctx context.Context, args []string) error

// Main runs run until SIGINT/SIGTERM, and exits 1 with a logged error if it
// fails. Keep cmd/<name>/main.go to a single call of Main.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// ServiceLogger returns the process logger with the service name attached.
func ServiceLogger(cfg LogConfig, service string) *slog.Logger {
	return NewLogger(cfg, os.Stderr).With(slog.String("service", service))
}
