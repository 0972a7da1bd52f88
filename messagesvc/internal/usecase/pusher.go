package usecase

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
)

// Pusher hands frames to the router in the background, many per call.
// Every pushed thing is already in the inboxes, but a device that is
// connected reads its inbox only when it reconnects: a lost push leaves it
// behind until then. So a full queue holds the request back for a moment
// (queueWait) before a push is dropped, and a failed router call is tried
// again (sendAttempts); devices drop the duplicates a retry can cause by
// message id.
type Pusher struct {
	router    Router
	queue     chan []routerapi.DeliveryItem
	logger    *slog.Logger
	timeout   time.Duration
	queueWait time.Duration
	now       func() time.Time

	dropped prometheus.Counter
	batches prometheus.Histogram
	wg      sync.WaitGroup
}

// pushBatchItems bounds one deliver call.
const pushBatchItems = 256

// NewPusher returns a pusher with queue capacity for pending pushes.
func NewPusher(router Router, capacity int, timeout time.Duration, logger *slog.Logger, reg prometheus.Registerer) *Pusher {
	p := &Pusher{router: router, queue: make(chan []routerapi.DeliveryItem, capacity), logger: logger,
		timeout: timeout, queueWait: min(timeout, time.Second), now: time.Now}
	p.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "messages_push_dropped_total",
		Help: "Pushes dropped because the push queue was full (the inbox still has them)."})
	p.batches = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "messages_push_batch_items",
		Help: "Delivery items per router call.", Buckets: prometheus.ExponentialBuckets(1, 2, 9)})
	reg.MustRegister(p.dropped, p.batches)
	return p
}

// Run sends queued pushes with workers goroutines until ctx ends, then
// flushes what is queued.
func (p *Pusher) Run(ctx context.Context, workers int) {
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.work(ctx)
		}()
	}
	p.wg.Wait()
}

func (p *Pusher) work(ctx context.Context) {
	var next []routerapi.DeliveryItem // taken from the queue, did not fit the last batch
	for {
		batch := next
		next = nil
		if batch == nil {
			select {
			case items := <-p.queue:
				batch = items
			case <-ctx.Done():
				p.drain()
				return
			}
		}
		// Take whatever else is already waiting, up to a batch and to the
		// router's limit of users per call (a big group's message alone
		// carries thousands; a call over the limit is refused whole).
		users := countUsers(batch)
	more:
		for len(batch) < pushBatchItems {
			select {
			case items := <-p.queue:
				if n := countUsers(items); users+n > maxUsersPerCall {
					next = items
					break more
				} else {
					batch, users = append(batch, items...), users+n
				}
			default:
				break more
			}
		}
		p.send(batch)
	}
}

// maxUsersPerCall is the router's limit of users in one deliver call (and
// in one item): router/internal/usecase.MaxUsersPerCall.
const maxUsersPerCall = 10_000

func countUsers(items []routerapi.DeliveryItem) int {
	n := 0
	for _, it := range items {
		n += len(it.Users)
	}
	return n
}

func (p *Pusher) drain() {
	for {
		select {
		case items := <-p.queue:
			p.send(items)
		default:
			return
		}
	}
}

// sendAttempts bounds the router calls for one batch.
const sendAttempts = 3

func (p *Pusher) send(items []routerapi.DeliveryItem) {
	p.batches.Observe(float64(len(items)))
	var err error
	for attempt := 1; attempt <= sendAttempts; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		_, err = p.router.Deliver(ctx, items)
		cancel()
		if err == nil || !errs.CodeOf(err).Retryable() {
			break
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
	}
	if err != nil {
		p.logger.Warn("push via router failed; recipients will sync", slog.Int("items", len(items)), slog.Any("err", err))
	}
}

// enqueue queues items, waiting up to queueWait for room.
func (p *Pusher) enqueue(items []routerapi.DeliveryItem) {
	select {
	case p.queue <- items:
		return
	default:
	}
	wait := time.NewTimer(p.queueWait)
	defer wait.Stop()
	select {
	case p.queue <- items:
	case <-wait.C:
		p.dropped.Inc()
	}
}

// Message pushes a stored message to every member's devices but the sending
// one, each copy with that member's inbox cursor.
func (p *Pusher) Message(msg entity.Message, entries []entity.InboxEntry, from Sender) {
	now := p.now()
	items := make([]routerapi.DeliveryItem, 0, len(entries))
	for _, e := range entries {
		push := &protocol.MessagePush{Message: forUser(msg, protocol.UserID(e.UserID)), Cursor: ClientCursor(e.Seq, now)}
		var skip []routerapi.Conn
		if e.UserID == msg.SenderID {
			skip = []routerapi.Conn{{UserID: from.UserID, DeviceID: from.DeviceID}}
		}
		items = append(items, routerapi.DeliveryItem{Users: []ids.ID{e.UserID}, Frame: protocol.Encode(push), Skip: skip})
	}
	p.enqueue(items)
}

// Frame pushes one encoded frame to users, skipping the listed connections.
func (p *Pusher) Frame(frame protocol.Frame, users []ids.ID, skip ...routerapi.Conn) {
	if len(users) == 0 {
		return
	}
	p.enqueue([]routerapi.DeliveryItem{{Users: users, Frame: protocol.Encode(frame), Skip: skip}})
}
