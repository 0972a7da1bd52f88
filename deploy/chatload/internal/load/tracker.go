package load

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/report"
	"github.com/parleychat/parley/deploy/chatload/internal/stats"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/wsclient"
)

// Conv is a conversation of the run: a 1:1 pair or a group.
type Conv struct {
	ID      protocol.ConversationID
	Members []*Device
	pos     map[protocol.UserID]int
	// readUpTo is each member's read watermark sent (receipts scenario).
	readUpTo []atomic.Int64
}

// NewConv builds a conversation of members (a 1:1 one when id is empty).
func NewConv(id protocol.ConversationID, members []*Device) (*Conv, error) {
	if id == "" {
		if len(members) != 2 {
			return nil, errors.New("a 1:1 conversation has two members")
		}
		var err error
		if id, err = protocol.DirectConversation(members[0].UserID(), members[1].UserID()); err != nil {
			return nil, err
		}
	}
	c := &Conv{ID: id, Members: members, pos: map[protocol.UserID]int{}, readUpTo: make([]atomic.Int64, len(members))}
	for i, m := range members {
		c.pos[m.UserID()] = i
	}
	return c, nil
}

const (
	pending uint8 = iota
	acked
	failed
)

// rec is one message sent.
type rec struct {
	intended    int64 // ns since base: when the schedule wanted it sent
	written     int64 // ns since base: when the send frame was written
	ackAt       int64
	readAt      int64
	msgID       protocol.MessageID
	seenID      protocol.MessageID // first message id seen for it (ack or delivery)
	state       uint8
	step        uint8
	recvReceipt bool
	readReceipt bool
	delivered   []uint8 // per member position
	nDelivered  int32
}

// Sender is one member sending into one conversation.
type Sender struct {
	mu     sync.Mutex
	idx    int
	Dev    *Device
	Conv   *Conv
	myPos  int
	msgs   []rec
	readTo protocol.MessageID // highest read receipt seen
}

type ref struct {
	s   *Sender
	seq int
}

// Tracker sends messages on a schedule and accounts for every one: sent,
// acknowledged, delivered to each other member (once, or duplicated), lost.
type Tracker struct {
	env     *Env
	Senders []*Sender
	// Read makes recipients mark each message read on delivery and checks
	// that the read receipt reaches the sender (receipts scenario).
	Read bool
	// CheckReceivedReceipts expects a received receipt for every delivered
	// 1:1 message (needs Env.AckDelay > 0).
	CheckReceivedReceipts bool
	BodyBytes             int
	MaxInflight           int

	byMsgID  sync.Map // protocol.MessageID → ref, set at ack
	drainCtx context.Context
	sends    sync.WaitGroup
	sem      chan struct{}
	step     atomic.Int32
	steps    []*stats.Histogram
	stepErr  []atomic.Int64

	sent, ackedN, failedN, retries, delivered, deliveredLive, deliveredSync, dups, visibleDups, echoes, stale,
	system, recvReceipts, readReceipts, readsSent *atomic.Int64
	e2e, e2eRaw, ackLat, recvLat, readLat *stats.Latency
}

// NewTracker makes one sender per member of every conversation.
func NewTracker(env *Env, convs []*Conv, bodyBytes, maxInflight int) *Tracker {
	r := env.Rec
	t := &Tracker{env: env, BodyBytes: bodyBytes, MaxInflight: max(1, maxInflight),
		sent: r.Counter("sent"), ackedN: r.Counter("acked"), failedN: r.Counter("send_failed"), retries: r.Counter("send_retries"),
		delivered: r.Counter("delivered"), deliveredLive: r.Counter("delivered_live"), deliveredSync: r.Counter("delivered_by_sync"),
		dups: r.Counter("duplicates"), visibleDups: r.Counter("visible_duplicates"), echoes: r.Counter("own_echoes"),
		stale: r.Counter("stale_messages"), system: r.Counter("system_messages"), recvReceipts: r.Counter("received_receipts"),
		readReceipts: r.Counter("read_receipts"), readsSent: r.Counter("reads_sent"),
		e2e: r.Latency("e2e"), e2eRaw: r.Latency("e2e_uncorrected"), ackLat: r.Latency("ack"),
		recvLat: r.Latency("delivered_receipt"), readLat: r.Latency("read_receipt")}
	t.sem = make(chan struct{}, t.MaxInflight)
	t.steps = make([]*stats.Histogram, MaxSteps)
	t.stepErr = make([]atomic.Int64, MaxSteps)
	for i := range t.steps {
		t.steps[i] = stats.NewHistogram()
	}
	for _, c := range convs {
		for i, m := range c.Members {
			t.Senders = append(t.Senders, &Sender{idx: len(t.Senders), Dev: m, Conv: c, myPos: i})
		}
	}
	env.Handler = t
	return t
}

// body tags a message with the run, sender and sequence so the recipient
// can find its record; padding brings it to BodyBytes.
func (t *Tracker) body(si, seq int) string {
	b := "cl/" + t.env.RunID + "/" + strconv.Itoa(si) + "/" + strconv.Itoa(seq) + "/"
	if n := t.BodyBytes - len(b); n > 0 {
		b += strings.Repeat("x", n)
	}
	return b
}

func (t *Tracker) parse(body string) (s *Sender, seq int, ok bool) {
	parts := strings.SplitN(body, "/", 5)
	if len(parts) < 5 || parts[0] != "cl" || parts[1] != t.env.RunID {
		return nil, 0, false
	}
	si, err1 := strconv.Atoi(parts[2])
	seq, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || si < 0 || si >= len(t.Senders) {
		return nil, 0, false
	}
	return t.Senders[si], seq, true
}

// OnMessage accounts for one message a device received.
func (t *Tracker) OnMessage(d *Device, m *protocol.Message, live bool, now time.Time) bool {
	if m.Kind != protocol.KindUser {
		t.system.Add(1)
		return true
	}
	if m.SenderID == d.UserID() {
		t.echoes.Add(1) // the sender's own copy
		return false
	}
	s, seq, ok := t.parse(m.Body)
	if !ok {
		t.stale.Add(1) // an earlier run's message, synced again
		return false
	}
	pos, member := s.Conv.pos[d.UserID()]
	s.mu.Lock()
	if !member || seq >= len(s.msgs) {
		s.mu.Unlock()
		t.stale.Add(1)
		return false
	}
	r := &s.msgs[seq]
	if r.seenID == 0 {
		r.seenID = m.MessageID
	} else if r.seenID != m.MessageID {
		t.visibleDups.Add(1) // one send stored twice under two ids
	}
	first := r.delivered[pos] == 0
	r.delivered[pos]++
	var lat, raw time.Duration
	step := r.step
	if first {
		r.nDelivered++
		lat = now.Sub(t.env.Base) - time.Duration(r.intended)
		raw = now.Sub(t.env.Base) - time.Duration(r.written)
	}
	s.mu.Unlock()
	if !first {
		t.dups.Add(1)
		return true
	}
	t.delivered.Add(1)
	if live {
		t.deliveredLive.Add(1)
	} else {
		t.deliveredSync.Add(1)
	}
	t.e2e.Record(lat)
	if raw > 0 {
		t.e2eRaw.Record(raw)
	}
	if int(step) < len(t.steps) {
		t.steps[step].Record(lat)
	}
	if t.Read {
		t.markRead(d, s.Conv, pos, m.MessageID, s, seq)
	}
	return true
}

// markRead moves the reader's watermark, as a user reading the chat would.
func (t *Tracker) markRead(d *Device, c *Conv, pos int, id protocol.MessageID, s *Sender, seq int) {
	w := &c.readUpTo[pos]
	for {
		cur := w.Load()
		if int64(id) <= cur {
			return
		}
		if w.CompareAndSwap(cur, int64(id)) {
			break
		}
	}
	s.mu.Lock()
	s.msgs[seq].readAt = int64(t.env.Since(time.Now()))
	s.mu.Unlock()
	if d.Fire(&protocol.Read{ConversationID: c.ID, UpTo: id}) == nil {
		t.readsSent.Add(1)
	}
}

// OnReceipt accounts for a receipt reaching a sender's device.
func (t *Tracker) OnReceipt(d *Device, r *protocol.Receipt, now time.Time) {
	switch r.State {
	case protocol.ReceiptReceived:
		for _, id := range r.MessageIDs {
			v, ok := t.byMsgID.Load(id)
			if !ok {
				continue
			}
			f := v.(ref)
			f.s.mu.Lock()
			m := &f.s.msgs[f.seq]
			first := !m.recvReceipt
			m.recvReceipt = true
			lat := now.Sub(t.env.Base) - time.Duration(m.intended)
			f.s.mu.Unlock()
			if first {
				t.recvReceipts.Add(1)
				t.recvLat.Record(lat)
			}
		}
	case protocol.ReceiptRead:
		v, ok := t.byMsgID.Load(r.UpTo)
		if !ok {
			return
		}
		f := v.(ref)
		f.s.mu.Lock()
		if r.UpTo > f.s.readTo {
			f.s.readTo = r.UpTo
		}
		m := &f.s.msgs[f.seq]
		first := !m.readReceipt && m.readAt > 0
		m.readReceipt = true
		lat := now.Sub(t.env.Base) - time.Duration(m.readAt)
		f.s.mu.Unlock()
		if first {
			t.readReceipts.Add(1)
			t.readLat.Record(lat)
		}
	}
}

// MaxSteps bounds a ramp.
const MaxSteps = 32

// Step is one rate of a ramp.
type Step struct {
	Rate     float64
	Duration time.Duration
}

// Bounds end a ramp: a step whose p99 or error count passes them fails.
type Bounds struct {
	MaxP99   time.Duration
	MaxErrs  int64
	Settle   time.Duration
	Progress func(string)
}

// Drive sends at each step's total rate, round-robin over the senders, on
// an open-loop schedule: a send is due at its planned instant whatever
// happened to earlier ones, and its latency counts from that instant, which
// corrects for coordinated omission. The ramp stops after the first step
// that breaks the bounds. drainCtx bounds retries of failed sends.
func (t *Tracker) Drive(ctx, drainCtx context.Context, steps []Step, b Bounds) []report.Step {
	if len(steps) > MaxSteps {
		steps = steps[:MaxSteps]
	}
	var out []report.Step
	k := 0
	for si, st := range steps {
		if ctx.Err() != nil || st.Rate <= 0 {
			break
		}
		t.step.Store(int32(si))
		sent0, del0 := t.sent.Load(), t.delivered.Load()
		interval := time.Duration(float64(time.Second) / st.Rate)
		start := time.Now()
		end := start.Add(st.Duration)
		for i := 0; ; i++ {
			due := start.Add(time.Duration(i) * interval)
			if !due.Before(end) || ctx.Err() != nil {
				break
			}
			if wait := time.Until(due); wait > time.Millisecond {
				if !sleepCtx(ctx, wait) {
					break
				}
			}
			select {
			case t.sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			s := t.Senders[k%len(t.Senders)]
			k++
			t.sends.Add(1)
			go t.send(drainCtx, s, due, uint8(si))
		}
		elapsed := time.Since(start)
		if len(steps) > 1 && b.Settle > 0 {
			sleepCtx(ctx, b.Settle)
		}
		res := report.Step{Rate: st.Rate, Seconds: elapsed.Seconds(), Sent: t.sent.Load() - sent0,
			Errors: t.stepErr[si].Load(), Latency: t.steps[si].Summary(), Delivered: t.delivered.Load() - del0, Passed: true}
		switch {
		case b.MaxErrs >= 0 && res.Errors > b.MaxErrs:
			res.Passed, res.Why = false, fmt.Sprintf("%d errors", res.Errors)
		case b.MaxP99 > 0 && res.Latency.P99Ms > float64(b.MaxP99)/float64(time.Millisecond):
			res.Passed, res.Why = false, fmt.Sprintf("p99 %.1f ms > %v", res.Latency.P99Ms, b.MaxP99)
		case res.Latency.Count < res.Sent*9/10:
			res.Passed, res.Why = false, fmt.Sprintf("only %d of %d delivered within the step", res.Latency.Count, res.Sent)
		}
		out = append(out, res)
		if b.Progress != nil {
			b.Progress(fmt.Sprintf("step %.0f/s: sent %d, errors %d, e2e %s, passed=%t %s", st.Rate, res.Sent, res.Errors, res.Latency, res.Passed, res.Why))
		}
		if !res.Passed {
			break
		}
	}
	return out
}

// SetDrain sets the context that bounds probes' retries; call it before
// Drive when using Probe.
func (t *Tracker) SetDrain(ctx context.Context) { t.drainCtx = ctx }

// Probe sends one message from s now, outside the schedule (during Drive).
func (t *Tracker) Probe(s *Sender) {
	t.sends.Add(1)
	t.sem <- struct{}{}
	t.env.Rec.Counter("probes").Add(1)
	go t.send(t.drainCtx, s, time.Now(), 0)
}

// send delivers one message: it waits for the device's connection, sends,
// and retries retryable failures with the same client message id (the
// server acknowledges it once) until ctx ends.
func (t *Tracker) send(ctx context.Context, s *Sender, due time.Time, step uint8) {
	defer t.sends.Done()
	defer func() { <-t.sem }()
	e := t.env
	s.mu.Lock()
	seq := len(s.msgs)
	s.msgs = append(s.msgs, rec{intended: int64(due.Sub(e.Base)), step: step, delivered: make([]uint8, len(s.Conv.Members))})
	s.mu.Unlock()
	t.sent.Add(1)
	cid := e.RunID + "." + strconv.Itoa(s.idx) + "." + strconv.Itoa(seq)
	body := t.body(s.idx, seq)
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		c, err := s.Dev.WaitUp(ctx)
		var ack *protocol.Ack
		if err == nil {
			if attempt == 0 {
				s.mu.Lock()
				s.msgs[seq].written = int64(e.Since(time.Now()))
				s.mu.Unlock()
			}
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			ack, err = c.Send(sctx, s.Conv.ID, cid, body)
			cancel()
		}
		if err == nil {
			t.onAck(s, seq, ack)
			return
		}
		// An error frame from the server carries its code; anything else
		// is the connection failing under the request (closed, write
		// error, timeout), which a client retries after reconnecting.
		code := errs.CodeOf(err)
		_, fromServer := errs.As(err)
		var ce *wsclient.CloseError
		if !fromServer {
			code = "transport"
			if errors.As(err, &ce) {
				code = "connection_closed"
			}
		}
		retryable := !fromServer || code.Retryable()
		if ctx.Err() != nil || !retryable {
			s.mu.Lock()
			s.msgs[seq].state = failed
			s.mu.Unlock()
			t.failedN.Add(1)
			t.stepErr[step].Add(1)
			if ctx.Err() != nil {
				code = "not_acked_by_deadline"
			}
			e.Rec.Counter("send_failed." + string(code)).Add(1)
			e.logf("send %s: %v", cid, err)
			return
		}
		t.retries.Add(1)
		t.stepErr[step].Add(1)
		e.Rec.Counter("send_retries." + string(code)).Add(1)
		wait := backoff
		if ee, ok := errs.As(err); ok && ee.RetryAfterMs > 0 {
			wait = time.Duration(ee.RetryAfterMs) * time.Millisecond
		}
		backoff = min(backoff*2, 5*time.Second)
		if !sleepCtx(ctx, wait) {
			continue // the next attempt sees ctx ended and gives up
		}
	}
}

func (t *Tracker) onAck(s *Sender, seq int, ack *protocol.Ack) {
	now := time.Now()
	s.mu.Lock()
	r := &s.msgs[seq]
	r.state, r.msgID, r.ackAt = acked, ack.MessageID, int64(t.env.Since(now))
	if r.seenID == 0 {
		r.seenID = ack.MessageID
	} else if r.seenID != ack.MessageID {
		t.visibleDups.Add(1)
	}
	lat := now.Sub(t.env.Base) - time.Duration(r.intended)
	s.mu.Unlock()
	t.byMsgID.Store(ack.MessageID, ref{s: s, seq: seq})
	t.ackedN.Add(1)
	t.ackLat.Record(lat)
}

// Outstanding counts acknowledged messages not yet delivered to every other
// member, and the devices still owed something.
func (t *Tracker) Outstanding() (missing int64, owed map[*Device]bool) {
	owed = map[*Device]bool{}
	for _, s := range t.Senders {
		s.mu.Lock()
		for i := range s.msgs {
			r := &s.msgs[i]
			if r.state != acked {
				continue
			}
			for p, n := range r.delivered {
				if p != s.myPos && n == 0 {
					missing++
					owed[s.Conv.Members[p]] = true
				}
			}
		}
		s.mu.Unlock()
	}
	return missing, owed
}

// Finish waits for outstanding sends, then up to drain for deliveries;
// devices still owed messages then sync from their stored cursor (what a
// reconnecting client does). Whatever is still missing is lost.
//
// delivered, when set, runs once the deliveries are done (or drain passed),
// before the final sync and the wait for receipts: the end of the measured
// work.
func (t *Tracker) Finish(ctx context.Context, drain time.Duration, progress func(string), delivered func()) report.Verdict {
	t.sends.Wait()
	deadline := time.Now().Add(drain)
	for {
		missing, _ := t.Outstanding()
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	if delivered != nil {
		delivered()
	}
	before := t.delivered.Load()
	if missing, owed := t.Outstanding(); missing > 0 {
		if progress != nil {
			progress(fmt.Sprintf("%d deliveries missing after %v: %d devices sync", missing, drain, len(owed)))
		}
		var wg sync.WaitGroup
		for d := range owed {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				if _, err := d.WaitUp(sctx); err == nil {
					_ = d.Sync(sctx)
				}
			}()
		}
		wg.Wait()
	}
	recovered := t.delivered.Load() - before
	if t.Read || t.CheckReceivedReceipts {
		t.awaitReceipts(ctx, deadline.Add(5*time.Second))
	}
	v := report.Verdict{Sent: t.sent.Load(), Acked: t.ackedN.Load(), Failed: t.failedN.Load(), Delivered: t.delivered.Load(),
		Duplicates: t.dups.Load(), VisibleDups: t.visibleDups.Load(), LateBySync: recovered}
	for _, s := range t.Senders {
		s.mu.Lock()
		var maxRead int64
		for p := range s.Conv.Members {
			if p != s.myPos {
				maxRead = max(maxRead, s.Conv.readUpTo[p].Load())
			}
		}
		for i := range s.msgs {
			r := &s.msgs[i]
			if r.state != acked {
				continue
			}
			for p, n := range r.delivered {
				if p == s.myPos {
					continue
				}
				v.Expected++
				if n == 0 {
					v.Lost++
				}
			}
			if t.CheckReceivedReceipts && r.nDelivered > 0 && !r.recvReceipt {
				v.MissingReceived++
			}
		}
		if t.Read && len(s.Conv.Members) == 2 && maxRead > int64(s.readTo) {
			if _, mine := t.byMsgID.Load(protocol.MessageID(maxRead)); mine {
				v.ReadReceiptsLost++
			}
		}
		s.mu.Unlock()
	}
	t.env.Rec.Counter("lost").Store(v.Lost)
	return v
}

// awaitReceipts gives receipts until deadline to arrive; senders still
// missing some then sync, since receipts are logged in their inboxes too.
func (t *Tracker) awaitReceipts(ctx context.Context, deadline time.Time) {
	missing := func() map[*Device]bool {
		owed := map[*Device]bool{}
		for _, s := range t.Senders {
			s.mu.Lock()
			for i := range s.msgs {
				r := &s.msgs[i]
				if r.state == acked && ((t.CheckReceivedReceipts && r.nDelivered > 0 && !r.recvReceipt) || (t.Read && r.readAt > 0 && protocol.MessageID(s.Conv.readUpTo[1-s.myPos%2].Load()) > s.readTo && len(s.Conv.Members) == 2)) {
					owed[s.Dev] = true
					break
				}
			}
			s.mu.Unlock()
		}
		return owed
	}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if len(missing()) == 0 {
			return
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	var wg sync.WaitGroup
	for d := range missing() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if _, err := d.WaitUp(sctx); err == nil {
				_ = d.Sync(sctx)
			}
		}()
	}
	wg.Wait()
}
