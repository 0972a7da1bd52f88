// Package usecase holds receiptsvc's one use case: coalescing client
// acknowledgements into batches that messagesvc records.
package usecase

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/messageapi"
	"github.com/parleychat/parley/shared/protocol"
)

// Sink records a batch of acknowledgements; it returns one error (or nil)
// per item, in order. messagesvc is the sink in production.
type Sink interface {
	Record(ctx context.Context, items []messageapi.ReceiptItem) ([]error, error)
}

// key identifies acknowledgements that merge into one: received acks of one
// device in one conversation (ids united, cursor maximised), and read
// watermarks of one user in one conversation (maximised).
type key struct {
	kind   string
	user   ids.ID
	device string // received only
	conv   protocol.ConversationID
}

type pending struct {
	item    messageapi.ReceiptItem
	waiters []chan error
}

// Coalescer batches acknowledgements arriving within a window into one
// call to messagesvc, and merges those with the same key: a user reading on
// two devices, or a client re-sending an ack, costs one write. (A single
// connection has one ack in flight at a time: the gateway relays its frames
// in order and waits for each.)
type Coalescer struct {
	sink     Sink
	window   time.Duration
	maxBatch int
	timeout  time.Duration

	mu      sync.Mutex
	pending map[key]*pending
	order   []key
	timer   *time.Timer

	metrics *metrics
}

// New returns a coalescer flushing every window or at maxBatch items.
func New(sink Sink, window time.Duration, maxBatch int, timeout time.Duration, reg prometheus.Registerer) *Coalescer {
	return &Coalescer{sink: sink, window: window, maxBatch: maxBatch, timeout: timeout,
		pending: map[key]*pending{}, metrics: newMetrics(reg)}
}

// Submit adds an acknowledgement and waits until the batch holding it is
// recorded, returning its outcome, so the client hears of a failure.
func (c *Coalescer) Submit(ctx context.Context, it messageapi.ReceiptItem) error {
	k := key{kind: it.Kind, user: it.UserID, conv: it.ConversationID}
	if it.Kind == messageapi.KindReceived {
		k.device = it.DeviceID
	}
	done := make(chan error, 1)
	c.mu.Lock()
	p := c.pending[k]
	if p == nil {
		p = &pending{item: it}
		c.pending[k] = p
		c.order = append(c.order, k)
	} else {
		c.metrics.merged.Inc()
		merge(&p.item, it)
	}
	p.waiters = append(p.waiters, done)
	c.metrics.acks.WithLabelValues(it.Kind).Inc()
	var flushNow []*pending
	if len(c.order) >= c.maxBatch {
		flushNow = c.takeLocked()
	} else if c.timer == nil {
		c.timer = time.AfterFunc(c.window, c.flushTimer)
	}
	c.mu.Unlock()
	if flushNow != nil {
		go c.record(flushNow)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errs.Wrap(ctx.Err(), errs.DeadlineExceeded, "acknowledgement not recorded in time; send it again")
	}
}

// merge folds b into a (same key).
func merge(a *messageapi.ReceiptItem, b messageapi.ReceiptItem) {
	switch a.Kind {
	case messageapi.KindReceived:
		for _, id := range b.MessageIDs {
			if !slices.Contains(a.MessageIDs, id) {
				a.MessageIDs = append(a.MessageIDs, id)
			}
		}
		// Cursors are opaque here; the newer ack carries the newer one,
		// and messagesvc never moves a stored cursor backwards anyway.
		if b.Cursor != "" {
			a.Cursor = b.Cursor
		}
	case messageapi.KindRead:
		if b.UpTo > a.UpTo {
			a.UpTo, a.DeviceID = b.UpTo, b.DeviceID
		}
	}
}

func (c *Coalescer) flushTimer() {
	c.mu.Lock()
	batch := c.takeLocked()
	c.mu.Unlock()
	c.record(batch)
}

// takeLocked removes everything pending; c.mu is held.
func (c *Coalescer) takeLocked() []*pending {
	batch := make([]*pending, 0, len(c.order))
	for _, k := range c.order {
		batch = append(batch, c.pending[k])
	}
	c.pending, c.order = map[key]*pending{}, nil
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	return batch
}

func (c *Coalescer) record(batch []*pending) {
	if len(batch) == 0 {
		return
	}
	items := make([]messageapi.ReceiptItem, len(batch))
	for i, p := range batch {
		items[i] = p.item
	}
	c.metrics.batchItems.Observe(float64(len(items)))
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	results, err := c.sink.Record(ctx, items)
	for i, p := range batch {
		itemErr := err
		if err == nil && i < len(results) {
			itemErr = results[i]
		}
		for _, w := range p.waiters {
			w <- itemErr
		}
	}
}

type metrics struct {
	acks       *prometheus.CounterVec
	merged     prometheus.Counter
	batchItems prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "receipts_acks_total",
			Help: "Acknowledgements received from clients, by kind."}, []string{"kind"}),
		merged: prometheus.NewCounter(prometheus.CounterOpts{Name: "receipts_merged_total",
			Help: "Acknowledgements merged into one already pending."}),
		batchItems: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "receipts_batch_items",
			Help: "Items per batch recorded by messagesvc.", Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
	}
	reg.MustRegister(m.acks, m.merged, m.batchItems)
	return m
}
