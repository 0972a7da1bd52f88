// Command chatload is Parley's load, soak and capacity tool: it speaks the
// real protocol, checks that nothing acknowledged is lost, and reports HDR
// latencies, throughput and the servers' CPU and memory per operation.
// See ../../README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/parleychat/parley/deploy/chatload/internal/run"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
