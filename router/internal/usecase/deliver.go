package usecase

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/parleychat/parley/router/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// Deliver pushes each item's frame to every live connection of its users,
// one batch per gateway however many items and users it carries. A user in
// an item's Unreached got it on no connection; delivery is best effort and
// the caller keeps the message durable, so nothing is lost by a failed push.
func (r *Routing) Deliver(ctx context.Context, items []DeliveryItem, localOnly bool) ([]DeliveryOutcome, error) {
	if err := validateItems(items); err != nil {
		return nil, err
	}
	start := time.Now()
	routes, err := r.registry.Lookup(ctx, allUsers(items))
	if err != nil {
		return nil, err
	}
	reached := r.pushLocal(ctx, items, routes)

	if !localOnly && len(r.peers) > 0 {
		var mu sync.Mutex
		r.eachPeer(ctx, "deliver", func(ctx context.Context, p Peer) error {
			remote, err := p.Deliver(ctx, items)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range items {
				if i >= len(remote) {
					break
				}
				reached[i].pushed += remote[i].Pushed
				unreachedThere := make(map[ids.ID]bool, len(remote[i].Unreached))
				for _, u := range remote[i].Unreached {
					unreachedThere[u] = true
				}
				for _, u := range items[i].Users {
					if !unreachedThere[u] {
						reached[i].users[u] = true
					}
				}
			}
			return nil
		})
	}

	out := make([]DeliveryOutcome, len(items))
	for i, it := range items {
		out[i].Pushed = reached[i].pushed
		for _, u := range uniqueUsers(it.Users) {
			if !reached[i].users[u] {
				out[i].Unreached = append(out[i].Unreached, u)
			}
		}
		r.metrics.recipients.WithLabelValues("reached").Add(float64(len(reached[i].users)))
		r.metrics.recipients.WithLabelValues("unreached").Add(float64(len(out[i].Unreached)))
	}
	r.metrics.deliverSeconds.Observe(time.Since(start).Seconds())
	return out, nil
}

type itemReach struct {
	pushed int
	users  map[ids.ID]bool
}

// gatewayBatch is what one gateway gets, and which item each of its push
// items came from.
type gatewayBatch struct {
	addr    string
	batch   PushBatch
	itemIdx []int
}

// pushLocal groups the items' connections by gateway and pushes all batches
// concurrently.
func (r *Routing) pushLocal(ctx context.Context, items []DeliveryItem, routes map[ids.ID][]entity.Route) []itemReach {
	reach := make([]itemReach, len(items))
	batches := map[string]*gatewayBatch{}
	for i, it := range items {
		reach[i].users = map[ids.ID]bool{}
		skip := make(map[entity.Conn]bool, len(it.Skip))
		for _, c := range it.Skip {
			skip[c] = true
		}
		perGateway := map[string][]entity.Conn{}
		for _, u := range uniqueUsers(it.Users) {
			for _, rt := range routes[u] {
				if skip[rt.Conn] {
					continue
				}
				perGateway[rt.Addr] = append(perGateway[rt.Addr], rt.Conn)
			}
		}
		for addr, conns := range perGateway {
			b := batches[addr]
			if b == nil {
				b = &gatewayBatch{addr: addr}
				batches[addr] = b
			}
			b.batch.Items = append(b.batch.Items, PushItem{Frame: it.Frame, Conns: conns})
			b.itemIdx = append(b.itemIdx, i)
		}
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, pushConcurrency)
	for _, b := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, ok := r.push(ctx, b)
			if !ok {
				return
			}
			missing := make(map[entity.Conn]bool, len(res.Missing))
			for _, c := range res.Missing {
				missing[c] = true
			}
			mu.Lock()
			defer mu.Unlock()
			for j, item := range b.batch.Items {
				i := b.itemIdx[j]
				for _, c := range item.Conns {
					if !missing[c] {
						reach[i].pushed++
						reach[i].users[c.UserID] = true
					}
				}
			}
		}()
	}
	wg.Wait()
	return reach
}

func (r *Routing) push(ctx context.Context, b *gatewayBatch) (PushResult, bool) {
	ctx, cancel := context.WithTimeout(ctx, r.pushTimeout)
	defer cancel()
	conns := 0
	for _, it := range b.batch.Items {
		conns += len(it.Conns)
	}
	start := time.Now()
	res, err := r.pusher.Push(ctx, b.addr, b.batch)
	r.metrics.pushSeconds.Observe(time.Since(start).Seconds())
	r.metrics.pushConns.Observe(float64(conns))
	if err != nil {
		r.metrics.pushes.WithLabelValues("failed").Inc()
		r.logger.Warn("push to gateway failed", slog.String("gateway", b.addr), slog.Int("conns", conns), slog.Any("err", err))
		return PushResult{}, false
	}
	r.metrics.pushes.WithLabelValues("ok").Inc()
	return res, true
}

func allUsers(items []DeliveryItem) []ids.ID {
	seen := map[ids.ID]bool{}
	var out []ids.ID
	for _, it := range items {
		for _, u := range it.Users {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}

func uniqueUsers(users []ids.ID) []ids.ID {
	if len(users) < 2 {
		return users
	}
	seen := make(map[ids.ID]bool, len(users))
	out := users[:0:0]
	for _, u := range users {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}
