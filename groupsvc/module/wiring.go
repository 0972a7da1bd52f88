package module

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/groupsvc/internal/clients"
	"github.com/parleychat/parley/groupsvc/internal/store/cassandra"
	"github.com/parleychat/parley/groupsvc/internal/store/embedded"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/svcauth"
)

// store is what a backend provides.
type store interface {
	usecase.GroupStore
	usecase.LimitStore
	Ping(ctx context.Context) error
	Close() error
}

var (
	_ store = (*embedded.Store)(nil)
	_ store = (*cassandra.Store)(nil)
)

// openStore is the one switch between the backends.
func openStore(ctx context.Context, cfg GroupsConfig, logger *slog.Logger) (store, error) {
	switch cfg.Backend {
	case "cassandra":
		cc := cfg.cassandra()
		if cfg.Cassandra.Migrate {
			if err := cassandra.Migrate(ctx, cc, logger); err != nil {
				return nil, fmt.Errorf("cassandra migrations: %w", err)
			}
		}
		return cassandra.Open(cc, logger)
	case "embedded":
		return embedded.Open(embedded.Config{Dir: cfg.DataDir}, logger)
	}
	return nil, fmt.Errorf("unknown store backend %q", cfg.Backend)
}

// app is groupsvc's parts, wired.
type app struct {
	store store
	uc    *usecase.Service
}

func (a *app) close() error { return a.store.Close() }

// build wires the parts of groupsvc.
func build(ctx context.Context, cfg GroupsConfig, signer *svcauth.Signer, logger *slog.Logger, reg prometheus.Registerer) (*app, error) {
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	node := cfg.NodeID
	if node < 0 {
		node = rand.IntN(ids.MaxNode + 1)
		logger.Info("picked a random ids node; set -groups.node-id to a unique value per replica", slog.Int("node", node))
	}
	gen, err := ids.NewGenerator(node)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	rt := &svcauth.Transport{Signer: signer, Base: clients.NewTransport()}
	deps := usecase.Deps{Groups: st, Limits: st, IDs: gen, Now: time.Now, Logger: logger, Metrics: usecase.NewMetrics(reg)}
	if cfg.AuthURL != "" {
		deps.Users = clients.NewUsers(kit.NewClient(cfg.AuthURL, rt, cfg.AuthTimeout))
	} else {
		logger.Warn("no -groups.auth-url: added users are not checked for existence")
	}
	if cfg.MessagesURL != "" {
		deps.Messages = clients.NewMessages(kit.NewClient(cfg.MessagesURL, rt, cfg.MessagesTimeout))
	} else {
		logger.Warn("no -groups.messages-url: group events are dropped (members see no system messages)")
	}
	return &app{store: st, uc: usecase.New(cfg.usecase(), deps)}, nil
}
