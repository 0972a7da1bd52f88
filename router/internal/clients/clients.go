// Package clients holds the router's adapters for the services it calls:
// gateways (pushes) and peer regions' routers.
package clients

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/router/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/routerapi"
)

var (
	_ usecase.Pusher = (*GatewayPusher)(nil)
	_ usecase.Peer   = (*PeerRouter)(nil)
)

// NewTransport returns the HTTP transport for internal calls: keep-alive
// connections to every gateway, so a push never pays a TCP handshake.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// GatewayPusher pushes batches to gateways' internal push endpoint.
type GatewayPusher struct {
	rt      http.RoundTripper
	timeout time.Duration

	mu      sync.Mutex
	clients map[string]*kit.Client
}

// NewGatewayPusher returns a pusher whose requests go through rt (a
// svcauth.Transport in production).
func NewGatewayPusher(rt http.RoundTripper, timeout time.Duration) *GatewayPusher {
	return &GatewayPusher{rt: rt, timeout: timeout, clients: map[string]*kit.Client{}}
}

func (p *GatewayPusher) client(addr string) *kit.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.clients[addr]
	if c == nil {
		c = kit.NewClient("http://"+addr, p.rt, p.timeout)
		p.clients[addr] = c
	}
	return c
}

// Push implements usecase.Pusher.
func (p *GatewayPusher) Push(ctx context.Context, addr string, batch usecase.PushBatch) (usecase.PushResult, error) {
	var res routerapi.PushResult
	err := p.client(addr).Do(ctx, http.MethodPost, routerapi.PathPush, batch, &res)
	return res, err
}

// PeerRouter is another region's router.
type PeerRouter struct {
	region string
	client *kit.Client
}

// NewPeerRouter returns the peer of region at baseURL.
func NewPeerRouter(region, baseURL string, rt http.RoundTripper, timeout time.Duration) *PeerRouter {
	return &PeerRouter{region: region, client: kit.NewClient(baseURL, rt, timeout)}
}

// Region implements usecase.Peer.
func (p *PeerRouter) Region() string { return p.region }

// Lookup implements usecase.Peer; the peer answers for its own region only.
func (p *PeerRouter) Lookup(ctx context.Context, users []ids.ID) (map[ids.ID][]entity.Route, error) {
	var res routerapi.LookupResponse
	err := p.client.Do(ctx, http.MethodPost, routerapi.PathLookup, routerapi.LookupRequest{Users: users, LocalOnly: true}, &res)
	return res.Routes, err
}

// Deliver implements usecase.Peer; the peer delivers in its own region only.
func (p *PeerRouter) Deliver(ctx context.Context, items []usecase.DeliveryItem) ([]usecase.DeliveryOutcome, error) {
	var res routerapi.DeliverResponse
	err := p.client.Do(ctx, http.MethodPost, routerapi.PathDeliver, routerapi.DeliverRequest{Items: items, LocalOnly: true}, &res)
	return res.Outcomes, err
}
