// Command parleyctl is the small static helper shipped in every Parley
// image. The runtime images are distroless (no shell, no curl), so the
// container health check and the gateway's Kubernetes preStop hook need a
// binary of their own:
//
//	parleyctl health http://127.0.0.1:7100/healthz
//	parleyctl drain  [-addr 127.0.0.1:7100] [-wait 35s]
//
// drain is the same call the gateway drain test makes (POST
// /internal/v1/admin/drain with a service token signed with
// CHAT_INTERNAL_SECRET), then waits until the gateway holds no connection.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.LookupEnv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parleyctl:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  parleyctl health URL                  exit 0 when URL answers 2xx
  parleyctl drain [-addr host:port] [-wait d] [-poll d]
                                        drain the gateway whose internal listener is at addr
                                        (service token from CHAT_INTERNAL_SECRET)`

func run(ctx context.Context, args []string, out io.Writer, lookupEnv func(string) (string, bool)) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	switch args[0] {
	case "health":
		return healthCommand(ctx, args[1:])
	case "drain":
		return drainCommand(ctx, args[1:], out, lookupEnv)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
