// Package module assembles messagesvc (messages, inboxes, delivery state)
// from its parts. It is the module's one exported package, so the
// all-in-one binary can run it too.
package module

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/clients"
	"github.com/parleychat/parley/messagesvc/internal/delivery/httpapi"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/messagesvc/internal/store/cassandra"
	"github.com/parleychat/parley/messagesvc/internal/store/embedded"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/svcauth"
)

// Name is the service name used in logs, metrics and service tokens.
const Name = "messagesvc"

// Module is a running messagesvc.
type Module struct {
	svc      *kit.Service
	internal *kit.Server
	store    store.Store
	pusher   *usecase.Pusher
	workers  int
}

// openStore is the one switch between the store backends.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (store.Store, error) {
	switch cfg.Backend {
	case "cassandra":
		cc := cfg.Cassandra
		cluster := cassandra.NewCluster(cc.Hosts, cc.DC, "", cc.Timeout)
		session, err := cassandra.Connect(cluster)
		if err != nil {
			return nil, err
		}
		if cc.Migrate {
			replication := cc.Replication
			if replication == "" {
				replication = cassandra.DefaultReplication(cc.DC)
			}
			if err := cassandra.Migrate(ctx, session, cc.Keyspace, replication); err != nil {
				session.Close()
				return nil, fmt.Errorf("cassandra migrations: %w", err)
			}
		}
		return cassandra.New(session, cc.Keyspace)
	case "embedded":
		return embedded.Open(embedded.Config{Dir: cfg.DataDir}, logger)
	}
	return nil, fmt.Errorf("unknown store backend %q", cfg.Backend)
}

// New wires messagesvc from its configuration.
func New(ctx context.Context, cfg Config, svc *kit.Service) (*Module, error) {
	node := cfg.NodeID
	if node < 0 {
		node = rand.IntN(ids.MaxNode + 1)
		svc.Logger.Warn("messages.node-id not set: picked one at random; give each replica its own", slog.Int("node", node))
	}
	gen, err := ids.NewGenerator(node)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg, svc.Logger)
	if err != nil {
		return nil, err
	}
	svc.Ops.AddProbe("store", st.Ping)

	rt := &svcauth.Transport{Signer: svc.Signer, Base: clients.NewTransport()}
	var groups usecase.Groups // nil: group conversations are unavailable
	if cfg.GroupsURL != "" {
		groups = clients.NewGroups(kit.NewClient(cfg.GroupsURL, rt, cfg.CallTimeout), cfg.Group.CacheTTL)
	}
	access := usecase.NewAccess(clients.NewUsers(kit.NewClient(cfg.AuthURL, rt, cfg.CallTimeout)), groups)
	pusher := usecase.NewPusher(clients.NewRouter(kit.NewClient(cfg.RouterURL, rt, cfg.PushTimeout)),
		cfg.PushQueue, cfg.PushTimeout, svc.Logger, svc.Ops.Registry)
	limits := cfg.limits()
	receipts := usecase.NewReceipts(st, access, gen, pusher)
	send := usecase.NewSendMessage(st, access, gen, pusher)
	if cfg.MediaURL != "" {
		send.WithMedia(clients.NewMedia(kit.NewClient(cfg.MediaURL, rt, cfg.CallTimeout)))
	}
	syncUC, convs := usecase.NewSync(st, limits), usecase.NewConversations(st, receipts)
	engine, api := svc.InternalEngine()
	wireGroups(cfg.Group, groups, api, groupWiring{store: st, access: access, ids: gen, pusher: pusher, send: send,
		sync: syncUC, convs: convs, receipts: receipts, logger: svc.Logger})
	httpapi.RegisterReaders(api, usecase.NewMessageReaders(st, access))
	httpapi.Register(api, httpapi.UseCases{
		Send:          send,
		Sync:          syncUC,
		History:       usecase.NewHistory(st, access, limits),
		Typing:        usecase.NewTyping(access, pusher),
		Receipts:      receipts,
		Conversations: convs,
		Limits:        limits,
	})
	internal, err := kit.Listen("internal", cfg.Internal, engine, svc.Logger)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return &Module{svc: svc, internal: internal, store: st, pusher: pusher, workers: cfg.PushWorkers}, nil
}

// Run serves until ctx ends, then stops gracefully: in-flight requests
// finish, queued pushes are sent, and the store is closed last.
func (m *Module) Run(ctx context.Context) error {
	pushCtx, stopPush := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.pusher.Run(pushCtx, m.workers)
	}()
	err := kit.Serve(ctx, func(context.Context) { m.svc.Ops.SetDraining(true) }, m.internal)
	stopPush()
	waitOrGiveUp(&wg, 5*time.Second)
	if cerr := m.store.Close(); err == nil {
		err = cerr
	}
	return err
}

func waitOrGiveUp(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// Run is the process entry: configuration from args and the environment.
func Run(ctx context.Context, args []string) error {
	var cfg Config
	svc, err := kit.Boot(Name, args, &cfg)
	if err != nil {
		return err
	}
	m, err := New(ctx, cfg, svc)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}
