package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/shared/svcauth"
)

// secretEnv carries the shared internal secret, as for every service.
const secretEnv = "CHAT_INTERNAL_SECRET"

// connectionsMetric is the gateway's gauge of open WebSockets
// (gateway/internal/hub): the drain is over when it reaches zero.
const connectionsMetric = "gateway_connections"

// drainCommand starts a drain and waits for the gateway to empty. Waiting
// matters in a preStop hook: Kubernetes sends SIGTERM only when the hook
// returns, and the gateway's own SIGTERM handling then finds the drain done.
// Running out of -wait is not an error: the gateway cuts stragglers after
// its -gateway.drain-timeout on its own.
func drainCommand(ctx context.Context, args []string, out io.Writer, lookupEnv func(string) (string, bool)) error {
	fs := flag.NewFlagSet("drain", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:7100", "the gateway's internal listener")
	wait := fs.Duration("wait", 35*time.Second, "how long to wait for connections to reach zero (0: do not wait)")
	poll := fs.Duration("poll", time.Second, "how often to read the connection count")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret, _ := lookupEnv(secretEnv)
	signer, err := svcauth.NewSigner("parleyctl", secret)
	if err != nil {
		return fmt.Errorf("drain: %s: %w", secretEnv, err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &svcauth.Transport{Signer: signer}}
	base := "http://" + *addr

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/internal/v1/admin/drain", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("drain: %s answered %d: %s", req.URL, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(out, "drain started: %s\n", strings.TrimSpace(string(body)))
	if *wait <= 0 {
		return nil
	}

	deadline := time.Now().Add(*wait)
	for {
		n, err := connections(ctx, client, base+"/metrics")
		switch {
		case err == nil && n == 0:
			fmt.Fprintln(out, "drained: no connection left")
			return nil
		case err == nil:
			fmt.Fprintf(out, "%d connections left\n", n)
		default:
			fmt.Fprintf(out, "reading the connection count: %v\n", err)
		}
		if time.Now().Add(*poll).After(deadline) {
			fmt.Fprintln(out, "wait over; the gateway cuts the rest at its drain timeout")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*poll):
		}
	}
}

// connections reads the gateway_connections gauge from the text exposition.
func connections(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == connectionsMetric {
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", connectionsMetric, err)
			}
			return int(f), nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New(connectionsMetric + " not exported")
}
