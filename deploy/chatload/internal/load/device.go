package load

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/deploy/chatload/internal/account"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/wsclient"
)

// Device is one simulated client device: one account, one connection at a
// time, a stored inbox cursor, and the protocol's reconnect, resume and
// refresh behaviour.
type Device struct {
	env *Env
	// Idx is the user's index in the run (user Prefix+Idx).
	Idx int
	Acc *account.Account

	mu       sync.Mutex
	gw       int
	c        *wsclient.Client
	up       chan struct{} // closed while connected and caught up
	cursor   string
	goaway   time.Duration
	welcome  *protocol.Welcome
	acks     map[protocol.ConversationID][]protocol.MessageID
	ackTimer bool
	// ackSent remembers recent received frames by request id: the server
	// answers them only on failure, and a retryable failure is sent again.
	ackSent map[string]ackBatch
	reqSeq  atomic.Uint64

	// Times relative to Env.Base (ns), for the reconnect scenario: when the
	// connection was lost, back (welcome), caught up (sync done) and when
	// the first live push arrived after that.
	DownAt, UpAt, CaughtUpAt, FirstLiveAt atomic.Int64
	// Generation counts connections made.
	Generation atomic.Int64
}

// NewDevice returns a device of user idx that starts at gateway idx mod n.
func NewDevice(env *Env, idx int, acc *account.Account) *Device {
	env.init()
	return &Device{env: env, Idx: idx, Acc: acc, gw: idx % len(env.Gateways), up: make(chan struct{})}
}

// UserID is the device's user.
func (d *Device) UserID() protocol.UserID { return d.Acc.UserID }

// Gateway is the index of the gateway the device uses (or last used).
func (d *Device) Gateway() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gw
}

// Client returns the current connection (nil before the first one).
func (d *Device) Client() *wsclient.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.c
}

// Welcome returns the current session's welcome.
func (d *Device) Welcome() *protocol.Welcome {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.welcome
}

// Cursor returns the stored inbox cursor.
func (d *Device) Cursor() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cursor
}

func (d *Device) setCursor(c string) {
	if c == "" {
		return
	}
	d.mu.Lock()
	d.cursor = c
	d.mu.Unlock()
}

// Connect opens a connection, trying each gateway once starting with the
// current one, authenticates and, with sync, catches up from the stored
// cursor (the server pushes nothing live before that).
func (d *Device) Connect(ctx context.Context, sync bool) error {
	e := d.env
	tok, _ := d.Acc.Token()
	var lastErr error
	start := time.Now()
	for k := range e.Gateways {
		d.mu.Lock()
		g := (d.gw + k) % len(e.Gateways)
		d.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		c, err := wsclient.Connect(cctx, e.Gateways[g], wsclient.Options{Token: tok, Dialer: e.dialer(d.Idx),
			PushBuffer: 1, OnPush: d.onPush})
		cancel()
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		e.Rec.Latency("connect").Record(time.Since(start))
		d.mu.Lock()
		d.gw, d.c, d.welcome, d.goaway = g, c, c.Welcome(), 0
		d.mu.Unlock()
		d.Generation.Add(1)
		d.UpAt.Store(int64(e.Since(time.Now())))
		e.c.connects.Add(1)
		e.c.connected.Add(1)
		if sync {
			if err := d.Sync(ctx); err != nil {
				_ = c.CloseWith(errs.CloseServerError, "sync failed")
				e.c.connected.Add(-1)
				return err
			}
		}
		d.CaughtUpAt.Store(int64(e.Since(time.Now())))
		d.mu.Lock()
		if d.c == c {
			select {
			case <-d.up:
			default:
				close(d.up)
			}
		}
		d.mu.Unlock()
		return nil
	}
	e.c.connectErrs.Add(1)
	return lastErr
}

// WaitUp returns the connection once the device is connected and caught up.
func (d *Device) WaitUp(ctx context.Context) (*wsclient.Client, error) {
	for {
		d.mu.Lock()
		up, c := d.up, d.c
		d.mu.Unlock()
		select {
		case <-up:
			if c != nil && c.Err() == nil {
				return c, nil
			}
			// Closed but not yet noticed by Supervise: wait a moment.
			if !sleepCtx(ctx, 10*time.Millisecond) {
				return nil, ctx.Err()
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Sync asks for every event after the stored cursor, page by page, until
// the server says it is caught up.
func (d *Device) Sync(ctx context.Context) error {
	c := d.Client()
	if c == nil {
		return errors.New("not connected")
	}
	for {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		f, err := c.Request(sctx, &protocol.Sync{Cursor: d.Cursor(), Limit: 100})
		cancel()
		if err != nil {
			d.env.c.syncErrs.Add(1)
			return err
		}
		p, ok := f.(*protocol.SyncPage)
		if !ok {
			d.env.c.syncErrs.Add(1)
			return errors.New("sync answered by " + f.FrameType())
		}
		d.env.c.syncPages.Add(1)
		now := time.Now()
		for i := range p.Messages {
			m := &p.Messages[i]
			if d.env.Handler.OnMessage(d, m, false, now) && m.SenderID != d.UserID() {
				d.queueAck(m.ConversationID, m.MessageID)
			}
		}
		for i := range p.Receipts {
			d.env.Handler.OnReceipt(d, &p.Receipts[i], now)
		}
		d.setCursor(p.Cursor)
		if !p.More {
			return nil
		}
	}
}

func (d *Device) onPush(p wsclient.Push) {
	e := d.env
	now := time.Now()
	switch f := p.Frame.(type) {
	case *protocol.MessagePush:
		d.noteLive()
		ours := e.Handler.OnMessage(d, &f.Message, true, now)
		d.setCursor(f.Cursor)
		if ours && f.SenderID != d.UserID() { // nobody acknowledges their own message
			d.queueAck(f.ConversationID, f.MessageID)
		}
	case *protocol.Receipt:
		d.noteLive()
		e.Handler.OnReceipt(d, f, now)
		d.setCursor(f.Cursor)
	case *protocol.ReadState:
		e.c.readStates.Add(1)
		d.setCursor(f.Cursor)
	case *protocol.GoAway:
		e.c.goaways.Add(1)
		d.mu.Lock()
		d.goaway = time.Duration(f.ReconnectAfterMs) * time.Millisecond
		d.mu.Unlock()
	case *protocol.Error:
		if d.retryAck(f) {
			return
		}
		e.c.errorFrames.Add(1)
		e.Rec.Counter("error_frames." + string(f.Code)).Add(1)
		e.logf("device %d: error frame %s: %s", d.Idx, f.Code, f.Message)
	case nil:
		e.c.unknownFrames.Add(1)
	}
}

func (d *Device) noteLive() {
	if d.FirstLiveAt.Load() == 0 {
		d.FirstLiveAt.CompareAndSwap(0, int64(d.env.Since(time.Now())))
	}
}

// queueAck batches received acknowledgements for AckDelay, as a client
// that stores messages in small batches would.
func (d *Device) queueAck(conv protocol.ConversationID, id protocol.MessageID) {
	if d.env.AckDelay <= 0 {
		return
	}
	d.mu.Lock()
	if d.acks == nil {
		d.acks = map[protocol.ConversationID][]protocol.MessageID{}
	}
	for _, have := range d.acks[conv] {
		if have == id {
			d.mu.Unlock()
			return // a live copy and a synced copy in one batch: ack once
		}
	}
	d.acks[conv] = append(d.acks[conv], id)
	start := !d.ackTimer
	d.ackTimer = true
	d.mu.Unlock()
	if start {
		time.AfterFunc(d.env.AckDelay, d.flushAcks)
	}
}

type ackBatch struct {
	conv    protocol.ConversationID
	ids     []protocol.MessageID
	at      time.Time
	attempt int
}

// maxAckAttempts bounds how often a refused received frame is sent again,
// so an overloaded server is not fed a retry storm.
const maxAckAttempts = 4

// retryAck queues again the ids of a received frame the server refused
// with a retryable error.
func (d *Device) retryAck(f *protocol.Error) bool {
	d.mu.Lock()
	b, ok := d.ackSent[f.ID]
	delete(d.ackSent, f.ID)
	d.mu.Unlock()
	if !ok || !f.Retryable || b.attempt+1 >= maxAckAttempts {
		if ok {
			d.env.Rec.Counter("received_frames_failed." + string(f.Code)).Add(1)
		}
		return false
	}
	d.env.Rec.Counter("received_frames_retried." + string(f.Code)).Add(1)
	wait := max(time.Duration(f.RetryAfterMs)*time.Millisecond, 200*time.Millisecond<<b.attempt)
	time.AfterFunc(wait, func() { d.sendAcks(b.conv, b.ids, b.attempt+1) })
	return true
}

func (d *Device) flushAcks() {
	d.mu.Lock()
	acks, c, cursor := d.acks, d.c, d.cursor
	d.acks, d.ackTimer = nil, false
	now := time.Now()
	if d.ackSent == nil {
		d.ackSent = map[string]ackBatch{}
	}
	for id, b := range d.ackSent {
		if now.Sub(b.at) > time.Minute { // long answered by silence
			delete(d.ackSent, id)
		}
	}
	d.mu.Unlock()
	if c == nil {
		return
	}
	for conv, msgIDs := range acks {
		d.sendAcks2(c, cursor, conv, msgIDs, 0)
	}
}

// sendAcks sends received frames for ids on the current connection.
func (d *Device) sendAcks(conv protocol.ConversationID, msgIDs []protocol.MessageID, attempt int) {
	d.mu.Lock()
	c, cursor := d.c, d.cursor
	d.mu.Unlock()
	if c != nil {
		d.sendAcks2(c, cursor, conv, msgIDs, attempt)
	}
}

func (d *Device) sendAcks2(c *wsclient.Client, cursor string, conv protocol.ConversationID, msgIDs []protocol.MessageID, attempt int) {
	now := time.Now()
	for len(msgIDs) > 0 {
		n := min(len(msgIDs), 100)
		f := &protocol.Received{ConversationID: conv, MessageIDs: msgIDs[:n], Cursor: cursor}
		f.ID = "k" + strconv.FormatUint(d.reqSeq.Add(1), 10)
		d.mu.Lock()
		d.ackSent[f.ID] = ackBatch{conv: conv, ids: msgIDs[:n:n], at: now, attempt: attempt}
		d.mu.Unlock()
		if c.WriteRaw(websocket.TextMessage, protocol.Encode(f)) == nil {
			d.env.c.acksSent.Add(1)
		}
		msgIDs = msgIDs[n:]
	}
}

// Fire sends a frame that is answered only on failure (read, received).
func (d *Device) Fire(f protocol.ClientFrame) error {
	c := d.Client()
	if c == nil {
		return errors.New("not connected")
	}
	f.FrameHeader().ID = "f" + strconv.FormatUint(d.reqSeq.Add(1), 10)
	return c.WriteRaw(websocket.TextMessage, protocol.Encode(f))
}

// Supervise keeps the device connected until ctx ends: it reconnects after
// a reconnectable close (when Env.Reconnect), with the delay the close code
// or goaway calls for, and renews the access token before it expires.
// It closes the connection when ctx ends.
func (d *Device) Supervise(ctx context.Context, sync bool) {
	e := d.env
	backoff := 500 * time.Millisecond
	refresh := d.refreshTimer()
	defer func() { refresh.Stop() }()
	for {
		c := d.Client()
		if c == nil {
			return
		}
		select {
		case <-ctx.Done():
			_ = c.Close()
			e.c.connected.Add(-1)
			return
		case <-refresh.C:
			d.refresh(ctx)
			refresh = d.refreshTimer()
			continue
		case <-c.Done():
		}
		e.c.disconnects.Add(1)
		e.c.connected.Add(-1)
		d.DownAt.Store(int64(e.Since(time.Now())))
		d.FirstLiveAt.Store(0)
		d.mu.Lock()
		d.up = make(chan struct{})
		goaway := d.goaway
		d.mu.Unlock()
		var ce *wsclient.CloseError
		if !e.Reconnect || (errors.As(c.Err(), &ce) && !ce.Reconnect) {
			e.logf("device %d: closed for good: %v", d.Idx, c.Err())
			return
		}
		e.logf("device %d: connection lost: %v", d.Idx, c.Err())
		// Full jitter, doubling from 0.5 s (PROTOCOL.md); a goaway's delay
		// replaces the first step.
		delay := time.Duration(rand.Int64N(int64(backoff)))
		if goaway > 0 {
			delay = goaway
		}
		for {
			if !sleepCtx(ctx, delay) {
				return
			}
			err := d.Connect(ctx, sync)
			if err == nil {
				e.c.reconnects.Add(1)
				backoff = 500 * time.Millisecond
				break
			}
			if ctx.Err() != nil {
				return
			}
			e.logf("device %d: reconnect: %v", d.Idx, err)
			backoff = min(backoff*2, 30*time.Second)
			delay = time.Duration(rand.Int64N(int64(backoff)))
			if he := (*wsclient.HandshakeError)(nil); errors.As(err, &he) {
				// A refused upgrade (full or draining gateway): next gateway.
				d.mu.Lock()
				d.gw = (d.gw + 1) % len(e.Gateways)
				d.mu.Unlock()
			}
			if errs.CodeOf(err) == errs.TokenExpired || errs.CodeOf(err) == errs.Unauthenticated {
				d.refresh(ctx)
			}
		}
	}
}

// refreshTimer fires when 80 % of the token's lifetime has passed.
func (d *Device) refreshTimer() *time.Timer {
	_, exp := d.Acc.Token()
	left := time.Until(exp)
	return time.NewTimer(max(left-left/5, time.Second))
}

// refresh renews the access token through the API and hands it to the
// open session with a refresh frame.
func (d *Device) refresh(ctx context.Context) {
	e := d.env
	if err := e.api(d.Idx).Renew(ctx, d.Acc); err != nil {
		e.c.refreshErrs.Add(1)
		e.logf("device %d: renew token: %v", d.Idx, err)
		return
	}
	tok, _ := d.Acc.Token()
	if c := d.Client(); c != nil && c.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := c.Refresh(rctx, tok); err != nil {
			e.c.refreshErrs.Add(1)
			return
		}
	}
	e.c.refreshes.Add(1)
}

// Ping measures one protocol ping round trip.
func (d *Device) Ping(ctx context.Context) (time.Duration, error) {
	c := d.Client()
	if c == nil {
		return 0, errors.New("not connected")
	}
	return c.Ping(ctx)
}

// Drop closes the socket without a close handshake, as a lost network
// does; Supervise then reconnects.
func (d *Device) Drop() {
	if c := d.Client(); c != nil {
		_ = c.CloseWith(errs.CloseServerError, "chatload drop")
	}
}
