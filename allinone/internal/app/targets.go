package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authsvc "github.com/parleychat/parley/authsvc/module"
	gateway "github.com/parleychat/parley/gateway/module"
	groupsvc "github.com/parleychat/parley/groupsvc/module"
	mediasvc "github.com/parleychat/parley/mediasvc/module"
	messagesvc "github.com/parleychat/parley/messagesvc/module"
	receiptsvc "github.com/parleychat/parley/receiptsvc/module"
	router "github.com/parleychat/parley/router/module"
	"github.com/parleychat/parley/shared/kit"
)

// runner is a wired service: Run serves until ctx ends, then stops gracefully.
type runner interface {
	Run(ctx context.Context) error
}

// component is one service the binary can run, Mimir-style: its
// configuration (whose flags join the one flag set) and how to wire it.
type component struct {
	name string
	// stage orders the shutdown: lower stages stop first and completely
	// before the next begins, so the gateway drains its clients while
	// everything behind it still answers, and the router and authsvc,
	// which the others call, stop last.
	stage int
	cfg   kit.ServiceConfig
	wire  func(ctx context.Context, svc *kit.Service) (runner, error)
}

// allTargets lists every service in start order: a service whose Run calls
// another at once (the gateway's first router heartbeat) comes after it.
// The services reach each other over their internal listeners exactly as
// separate processes do, so there are no in-process dependencies to pull
// in: -target=gateway alone runs a gateway that calls the others at their
// configured URLs.
func allTargets() []*component {
	var (
		auth     authsvc.Config
		rt       router.Config
		groups   groupsvc.Config
		messages messagesvc.Config
		media    mediasvc.Config
		receipts receiptsvc.Config
		gw       gateway.Config
	)
	return []*component{
		{name: authsvc.Name, stage: 3, cfg: &auth, wire: func(_ context.Context, s *kit.Service) (runner, error) {
			return authsvc.New(auth, s)
		}},
		{name: router.Name, stage: 3, cfg: &rt, wire: func(_ context.Context, s *kit.Service) (runner, error) {
			return router.New(rt, s)
		}},
		{name: groupsvc.Name, stage: 1, cfg: &groups, wire: func(_ context.Context, s *kit.Service) (runner, error) {
			return groupsvc.New(groups, s)
		}},
		{name: messagesvc.Name, stage: 2, cfg: &messages, wire: func(ctx context.Context, s *kit.Service) (runner, error) {
			return messagesvc.New(ctx, messages, s)
		}},
		{name: mediasvc.Name, stage: 1, cfg: &media, wire: func(_ context.Context, s *kit.Service) (runner, error) {
			return mediasvc.New(media, s)
		}},
		{name: receiptsvc.Name, stage: 1, cfg: &receipts, wire: func(_ context.Context, s *kit.Service) (runner, error) {
			return receiptsvc.New(receipts, s)
		}},
		{name: gateway.Name, stage: 0, cfg: &gw, wire: func(_ context.Context, s *kit.Service) (runner, error) {
			return gateway.New(gw, s)
		}},
	}
}

// targetAll selects every service.
const targetAll = "all"

// selectTargets returns the components named by targets, in start order.
func selectTargets(all []*component, targets []string) ([]*component, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("-target: name at least one of %s", targetNames(all))
	}
	want := map[string]bool{}
	for _, t := range targets {
		t = strings.TrimSpace(t)
		if t == targetAll {
			return all, nil
		}
		if !slices.ContainsFunc(all, func(c *component) bool { return c.name == t }) {
			return nil, fmt.Errorf("-target: unknown target %q (known: %s)", t, targetNames(all))
		}
		want[t] = true
	}
	var out []*component
	for _, c := range all {
		if want[c.name] {
			out = append(out, c)
		}
	}
	return out, nil
}

func targetNames(all []*component) string {
	names := []string{targetAll}
	for _, c := range all {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}
