// Package conn wraps one client WebSocket: a bounded send queue drained by a
// short-lived writer goroutine, so an idle connection holds no writer
// goroutine and no write buffer, and a slow client only ever hurts itself.
package conn

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// Options bounds one connection's queue and writes.
type Options struct {
	// MaxQueue is how many frames may wait; one more closes the connection
	// as a slow consumer (it reconnects and resumes from its cursor).
	MaxQueue int
	// WriteTimeout bounds one flush of the queue.
	WriteTimeout time.Duration
	// OnClosed (may be nil) is called once, after the socket is closed.
	OnClosed func(*Conn)
}

// Identity is who a connection belongs to, fixed at authentication.
type Identity struct {
	UserID   ids.ID
	DeviceID string
	Roles    []string
}

// item is one queued outgoing message.
type item struct {
	prepared *websocket.PreparedMessage
	data     []byte
	control  int // websocket.PingMessage or websocket.CloseMessage when set
}

// Conn is one client connection. Enqueue and the Close methods are safe for
// concurrent use; only the reader goroutine reads.
type Conn struct {
	ID  uint64
	ws  *websocket.Conn
	opt Options

	// lastReadNs is when anything (frame, ping, pong) last arrived.
	lastReadNs  atomic.Int64
	lastPingNs  atomic.Int64
	expiresAtNs atomic.Int64
	identity    atomic.Pointer[Identity]

	// aborted tells a running writer to stop after its current message:
	// Abort writes the close frame itself.
	aborted atomic.Bool

	mu      sync.Mutex
	queue   []item
	writing bool
	closing bool // no more enqueues; a close frame may still be queued
	// closingFlag mirrors closing for lock-free reads: the sweeper checks
	// every connection and must not take each one's lock.
	closingFlag atomic.Bool
	closed      bool // socket closed
	done        chan struct{}

	onSlow func(*Conn)
}

// New wraps ws. onSlow (may be nil) is told when the queue overflows.
func New(id uint64, ws *websocket.Conn, opt Options, onSlow func(*Conn)) *Conn {
	c := &Conn{ID: id, ws: ws, opt: opt, onSlow: onSlow, done: make(chan struct{})}
	c.TouchRead(time.Now())
	return c
}

// WS exposes the socket to the reader goroutine.
func (c *Conn) WS() *websocket.Conn { return c.ws }

// Done is closed once the socket is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// SetIdentity records who authenticated on this connection and until when.
func (c *Conn) SetIdentity(id Identity, expiresAt time.Time) {
	c.identity.Store(&id)
	c.expiresAtNs.Store(expiresAt.UnixNano())
}

// Identity returns the authenticated identity, or nil before auth.
func (c *Conn) Identity() *Identity { return c.identity.Load() }

// ExtendSession moves the session expiry after a refresh.
func (c *Conn) ExtendSession(expiresAt time.Time) { c.expiresAtNs.Store(expiresAt.UnixNano()) }

// ExpiresAt returns the session expiry (zero before auth).
func (c *Conn) ExpiresAt() time.Time {
	if ns := c.expiresAtNs.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// TouchRead records inbound traffic.
func (c *Conn) TouchRead(now time.Time) { c.lastReadNs.Store(now.UnixNano()) }

// LastRead returns when inbound traffic last arrived.
func (c *Conn) LastRead() time.Time { return time.Unix(0, c.lastReadNs.Load()) }

// SendPrepared queues a message encoded once for many connections.
func (c *Conn) SendPrepared(pm *websocket.PreparedMessage) bool {
	return c.enqueue(item{prepared: pm})
}

// Send queues an encoded frame for this connection only.
func (c *Conn) Send(data []byte) bool { return c.enqueue(item{data: data}) }

// Ping queues a WebSocket ping unless one was sent within interval.
func (c *Conn) Ping(now time.Time, interval time.Duration) {
	if now.Sub(time.Unix(0, c.lastPingNs.Load())) < interval {
		return
	}
	c.lastPingNs.Store(now.UnixNano())
	c.enqueue(item{control: websocket.PingMessage})
}

// enqueue adds it to the queue and starts a writer if none runs. It returns
// false when the connection is closing or was just closed for overflowing.
func (c *Conn) enqueue(it item) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.opt.MaxQueue {
		c.mu.Unlock()
		if c.onSlow != nil {
			c.onSlow(c)
		}
		c.Abort(errs.CloseSlowConsumer, "send queue full")
		return false
	}
	c.queue = append(c.queue, it)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.flush()
	}
	return true
}

// CloseAfterFlush stops new sends, writes what is queued, then a close frame
// with code, then closes the socket.
func (c *Conn) CloseAfterFlush(code errs.CloseCode, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.closingFlag.Store(true)
	c.queue = append(c.queue, item{control: websocket.CloseMessage, data: websocket.FormatCloseMessage(int(code), reason)})
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.flush()
	}
}

// Abort drops the queue, sends a close frame with code, and closes the
// socket. It returns at once: the caller may be a fan-out that must not wait
// for this client. A writer stuck on a full socket stops after its current
// message, and the close frame waits for it up to WriteTimeout, so a client
// that is slow but still reading learns the close code (4001: reconnect and
// resume) instead of seeing a cut connection; one that is gone is cut when
// the deadline passes.
func (c *Conn) Abort(code errs.CloseCode, reason string) {
	c.mu.Lock()
	already := c.closing && len(c.queue) == 0 && !c.writing
	c.closing = true
	c.closingFlag.Store(true)
	c.queue = nil
	c.mu.Unlock()
	c.aborted.Store(true)
	if already && c.isClosed() {
		return
	}
	go func() {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(code), reason), time.Now().Add(c.opt.WriteTimeout))
		c.closeSocket()
	}()
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Conn) closeSocket() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.closing = true
	c.closingFlag.Store(true)
	c.queue = nil
	c.mu.Unlock()
	_ = c.ws.Close()
	close(c.done)
	if c.opt.OnClosed != nil {
		c.opt.OnClosed(c)
	}
}

// Closing reports whether the connection takes no more sends.
func (c *Conn) Closing() bool {
	return c.closingFlag.Load()
}

// flush writes the queue until it is empty, then exits: the writer
// goroutine lives only while there is something to write.
func (c *Conn) flush() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		// Control frames carry their own deadline; a lone keep-alive ping
		// then costs no extra timer update.
		if !onlyControl(batch) {
			if err := c.ws.SetWriteDeadline(time.Now().Add(c.opt.WriteTimeout)); err != nil {
				c.closeSocket()
				return
			}
		}
		for _, it := range batch {
			if c.aborted.Load() {
				return // Abort writes the close frame and closes the socket
			}
			if err := c.write(it); err != nil {
				c.closeSocket()
				return
			}
			if it.control == websocket.CloseMessage {
				c.closeSocket()
				return
			}
		}
	}
}

func (c *Conn) write(it item) error {
	switch {
	case it.prepared != nil:
		return c.ws.WritePreparedMessage(it.prepared)
	case it.control != 0:
		return c.ws.WriteControl(it.control, it.data, time.Now().Add(c.opt.WriteTimeout))
	default:
		return c.ws.WriteMessage(websocket.TextMessage, it.data)
	}
}

func onlyControl(batch []item) bool {
	for _, it := range batch {
		if it.control == 0 {
			return false
		}
	}
	return true
}
