// Package redisstore is the production registry: one Redis (standalone or
// Cluster) per region.
//
// Layout, under a key prefix P:
//
//	P{gw}:exp   sorted set  gateway id → expiry (unix ms)
//	P{gw}:info  hash        gateway id → JSON entity.Gateway
//	Pu:<user>   hash        device id → gateway id   (key TTL ConnKeyTTL)
//
// The two gateway keys share a hash tag so one MULTI updates both on a
// Cluster. A connection is live while its gateway is: heartbeats touch one
// key per gateway, never one per connection, and a dead gateway's
// connections drop out of lookups the moment its expiry passes. Stale
// device fields are pruned when a lookup meets them; the per-user key TTL
// bounds what a user who never returns leaves behind, so gateways re-attach
// their connections well within ConnKeyTTL.
package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/router/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

var _ store.Registry = (*Registry)(nil)

// ConnKeyTTL bounds how long a user's connection hash outlives its last attach.
const ConnKeyTTL = 24 * time.Hour

// gatewayCacheTTL bounds how stale the in-process view of live gateways is.
// It adds at most this much to the time a dead gateway keeps routing.
const gatewayCacheTTL = 500 * time.Millisecond

// detachScript deletes a device field only if it still names the gateway,
// so a late detach from an old gateway never removes a newer connection.
var detachScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`)

// Registry is a store.Registry on Redis.
type Registry struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time

	mu        sync.Mutex
	live      map[string]entity.Gateway
	fetchedAt time.Time
}

// New returns a registry on rdb with keys under prefix (e.g. "parley:eu:").
func New(rdb redis.UniversalClient, prefix string) *Registry {
	return &Registry{rdb: rdb, prefix: prefix, now: time.Now}
}

func (r *Registry) expKey() string          { return r.prefix + "{gw}:exp" }
func (r *Registry) infoKey() string         { return r.prefix + "{gw}:info" }
func (r *Registry) connKey(u ids.ID) string { return r.prefix + "u:" + strconv.FormatInt(int64(u), 10) }
func unavailable(err error, what string) error {
	return errs.Wrap(err, errs.Unavailable, "routing store unavailable: "+what)
}
func msOf(t time.Time) string   { return strconv.FormatInt(t.UnixMilli(), 10) }
func (r *Registry) invalidate() { r.mu.Lock(); r.fetchedAt = time.Time{}; r.mu.Unlock() }

// Announce implements store.Registry.
func (r *Registry) Announce(ctx context.Context, g entity.Gateway, ttl time.Duration) (bool, error) {
	now := r.now()
	g.ExpiresAt = now.Add(ttl)
	info, err := json.Marshal(g)
	if err != nil {
		return false, errs.Wrap(err, errs.Internal, "encode gateway")
	}
	var prev *redis.FloatCmd
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		prev = p.ZScore(ctx, r.expKey(), g.ID)
		p.ZAdd(ctx, r.expKey(), redis.Z{Score: float64(g.ExpiresAt.UnixMilli()), Member: g.ID})
		p.HSet(ctx, r.infoKey(), g.ID, info)
		return nil
	})
	if err != nil && err != redis.Nil {
		return false, unavailable(err, "announce")
	}
	known := prev.Err() == nil && int64(prev.Val()) > now.UnixMilli()
	if !known {
		r.invalidate()
		r.pruneGateways(ctx, now)
	}
	return known, nil
}

// pruneGateways drops expired gateways' entries; best effort, the expiry
// score alone already keeps them out of lookups.
func (r *Registry) pruneGateways(ctx context.Context, now time.Time) {
	dead, err := r.rdb.ZRangeByScore(ctx, r.expKey(), &redis.ZRangeBy{Min: "-inf", Max: "(" + msOf(now)}).Result()
	if err != nil || len(dead) == 0 {
		return
	}
	_, _ = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, r.infoKey(), dead...)
		p.ZRem(ctx, r.expKey(), toAny(dead)...)
		return nil
	})
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Withdraw implements store.Registry.
func (r *Registry) Withdraw(ctx context.Context, gatewayID string) error {
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, r.expKey(), gatewayID)
		p.HDel(ctx, r.infoKey(), gatewayID)
		return nil
	})
	r.invalidate()
	if err != nil {
		return unavailable(err, "withdraw")
	}
	return nil
}

// Attach implements store.Registry.
func (r *Registry) Attach(ctx context.Context, gatewayID string, conns []entity.Conn) error {
	if len(conns) == 0 {
		return nil
	}
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range conns {
			k := r.connKey(c.UserID)
			p.HSet(ctx, k, c.DeviceID, gatewayID)
			p.Expire(ctx, k, ConnKeyTTL)
		}
		return nil
	})
	if err != nil {
		return unavailable(err, "attach")
	}
	return nil
}

// Detach implements store.Registry.
func (r *Registry) Detach(ctx context.Context, gatewayID string, conns []entity.Conn) error {
	if len(conns) == 0 {
		return nil
	}
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range conns {
			detachScript.Eval(ctx, p, []string{r.connKey(c.UserID)}, c.DeviceID, gatewayID)
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return unavailable(err, "detach")
	}
	return nil
}

// Lookup implements store.Registry: one pipelined round trip for all users,
// plus a gateway-list refresh at most every gatewayCacheTTL.
func (r *Registry) Lookup(ctx context.Context, users []ids.ID) (map[ids.ID][]entity.Route, error) {
	out := make(map[ids.ID][]entity.Route, len(users))
	if len(users) == 0 {
		return out, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(users))
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range users {
			cmds[i] = p.HGetAll(ctx, r.connKey(u))
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err, "lookup")
	}
	live, err := r.liveGateways(ctx, false)
	if err != nil {
		return nil, err
	}
	if r.mentionsUnknown(cmds, live) {
		// A gateway newer than our cached view: refresh once rather than
		// treat its connections as dead.
		if live, err = r.liveGateways(ctx, true); err != nil {
			return nil, err
		}
	}
	now := r.now()
	var stale []entity.Route
	for i, u := range users {
		if _, done := out[u]; done {
			continue
		}
		for device, gid := range cmds[i].Val() {
			route := entity.Route{Conn: entity.Conn{UserID: u, DeviceID: device}, GatewayID: gid}
			g, ok := live[gid]
			if !ok || !now.Before(g.ExpiresAt) {
				stale = append(stale, route)
				continue
			}
			route.Region, route.Addr = g.Region, g.Addr
			out[u] = append(out[u], route)
		}
	}
	r.pruneConns(ctx, stale)
	return out, nil
}

func (r *Registry) mentionsUnknown(cmds []*redis.MapStringStringCmd, live map[string]entity.Gateway) bool {
	for _, c := range cmds {
		for _, gid := range c.Val() {
			if _, ok := live[gid]; !ok {
				return true
			}
		}
	}
	return false
}

// pruneConns removes fields that point at dead gateways; best effort.
func (r *Registry) pruneConns(ctx context.Context, stale []entity.Route) {
	if len(stale) == 0 {
		return
	}
	_, _ = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range stale {
			detachScript.Eval(ctx, p, []string{r.connKey(s.UserID)}, s.DeviceID, s.GatewayID)
		}
		return nil
	})
}

// liveGateways returns the cached live gateways, refetching when the cache
// is older than gatewayCacheTTL or force is set.
func (r *Registry) liveGateways(ctx context.Context, force bool) (map[string]entity.Gateway, error) {
	now := r.now()
	r.mu.Lock()
	if !force && r.live != nil && now.Sub(r.fetchedAt) < gatewayCacheTTL {
		live := r.live
		r.mu.Unlock()
		return live, nil
	}
	r.mu.Unlock()

	var alive *redis.StringSliceCmd
	var infos *redis.MapStringStringCmd
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		alive = p.ZRangeByScore(ctx, r.expKey(), &redis.ZRangeBy{Min: "(" + msOf(now), Max: "+inf"})
		infos = p.HGetAll(ctx, r.infoKey())
		return nil
	})
	if err != nil {
		return nil, unavailable(err, "gateways")
	}
	live := make(map[string]entity.Gateway, len(alive.Val()))
	for _, id := range alive.Val() {
		var g entity.Gateway
		if raw, ok := infos.Val()[id]; ok && json.Unmarshal([]byte(raw), &g) == nil {
			live[id] = g
		}
	}
	r.mu.Lock()
	r.live, r.fetchedAt = live, now
	r.mu.Unlock()
	return live, nil
}

// Gateways implements store.Registry.
func (r *Registry) Gateways(ctx context.Context) ([]entity.Gateway, error) {
	live, err := r.liveGateways(ctx, true)
	if err != nil {
		return nil, err
	}
	out := make([]entity.Gateway, 0, len(live))
	for _, g := range live {
		out = append(out, g)
	}
	return out, nil
}

// Ping implements store.Registry.
func (r *Registry) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return unavailable(err, "ping")
	}
	return nil
}

// String names the registry in logs.
func (r *Registry) String() string { return fmt.Sprintf("redis registry (prefix %q)", r.prefix) }
