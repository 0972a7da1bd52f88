// Package wsclient is a small Go client for the Parley WebSocket protocol
// (shared/protocol/PROTOCOL.md), shared by tests and the load tool.
//
// A Client holds one connection. One reader goroutine decodes every server
// frame: a reply (a frame whose id matches a request in flight) goes to the
// request that waits for it, everything else (pushes, and replies nobody
// waits for) goes to Pushes or to Options.OnPush, in arrival order. Writes
// are serialised, so every method is safe for concurrent use.
//
//	c, err := wsclient.Connect(ctx, "ws://127.0.0.1:8080/v1/ws", wsclient.Options{Token: tok})
//	if err != nil { … }
//	defer c.Close()
//	ack, err := c.Send(ctx, conv, "c-1", "hello")
//	for p := range c.Pushes() { … }   // ends when the connection does
//	var ce *wsclient.CloseError
//	if errors.As(c.Err(), &ce) && ce.Reconnect { … }
//
// When the connection ends, Err reports why as a *CloseError carrying the
// close code and whether the protocol tells the client to reconnect
// (errs.Close(code).Reconnect). An upgrade the server refuses over HTTP (a
// draining or full gateway answers 503) is a *HandshakeError.
package wsclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/protocol"
)

// Subprotocol is the protocol version every client offers.
const Subprotocol = "parley.v1"

// TokenSubprotocolPrefix carries the token at upgrade the way browsers must
// (they cannot set headers on a WebSocket).
const TokenSubprotocolPrefix = "parley.bearer."

// TokenMode says how the access token reaches the gateway.
type TokenMode int

const (
	// TokenInAuthFrame sends the token in the auth frame (the default).
	TokenInAuthFrame TokenMode = iota
	// TokenInSubprotocol offers parley.bearer.<token> next to parley.v1 at
	// upgrade, as browsers do; the auth frame then carries no token.
	TokenInSubprotocol
	// TokenInHeader sends Authorization: Bearer <token> at upgrade, as native
	// apps do; the auth frame then carries no token.
	TokenInHeader
)

// Options configure a connection. The zero value is usable for Dial.
type Options struct {
	// Token is the access token; Connect needs one.
	Token string
	// TokenMode says where Token travels.
	TokenMode TokenMode
	// Origin, when set, is sent as the Origin header (what a browser does).
	Origin string
	// Header holds extra upgrade request headers.
	Header http.Header
	// Dialer dials the socket; nil means a dialer with 1 KiB buffers and a
	// 10 s handshake timeout (small buffers keep a load tool's many idle
	// connections cheap). Its Subprotocols are replaced by the protocol's.
	Dialer *websocket.Dialer
	// PushBuffer is the capacity of the Pushes channel (default 256). When
	// it is full the reader waits, so a program that stops draining Pushes
	// stops reading the socket, exactly like a slow device.
	PushBuffer int
	// OnPush, when set, receives every push on the reader goroutine instead
	// of the Pushes channel. It must not block for long.
	OnPush func(Push)
	// WriteTimeout bounds one write (default 10 s).
	WriteTimeout time.Duration
}

// Push is a server frame that answered no request in flight: a push
// (message, receipt, goaway, an error without id …) or a late reply.
type Push struct {
	// Frame is the decoded frame, or nil when its type is unknown to this
	// version of the protocol package: the protocol says to skip those.
	Frame protocol.Frame
	// Raw is the frame as received.
	Raw []byte
}

// CloseError says how the connection ended.
type CloseError struct {
	// Code is the WebSocket close code; 1006 (abnormal closure) when the
	// connection ended without a close frame (network loss), which clients
	// treat like 4002.
	Code errs.CloseCode
	// Text is the close frame's reason text, or the transport error.
	Text string
	// Reconnect is errs.Close(Code).Reconnect: whether a well-behaved client
	// connects again (with the delay the code calls for).
	Reconnect bool
	cause     error
}

// CloseAbnormal is the code reported for a connection lost without a close frame.
const CloseAbnormal errs.CloseCode = websocket.CloseAbnormalClosure

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket closed: %d %s (%s, reconnect=%t)", e.Code, e.Text, errs.Close(e.Code).Reason, e.Reconnect)
}

// Unwrap returns the transport error behind an abnormal closure.
func (e *CloseError) Unwrap() error { return e.cause }

func newCloseError(err error) *CloseError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		code := errs.CloseCode(ce.Code)
		return &CloseError{Code: code, Text: ce.Text, Reconnect: errs.Close(code).Reconnect, cause: err}
	}
	return &CloseError{Code: CloseAbnormal, Text: err.Error(), Reconnect: true, cause: err}
}

// HandshakeError is an upgrade the server answered over HTTP instead of
// switching protocols, such as 503 unavailable from a draining gateway.
type HandshakeError struct {
	StatusCode int
	// Err is the error body the server sent (code unavailable, say), or an
	// error derived from the status when the body was not one of ours.
	Err *errs.Error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket upgrade refused: HTTP %d: %v", e.StatusCode, e.Err)
}

// Unwrap lets errs.CodeOf and errs.As see the server's error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// Client is one connection to a gateway.
type Client struct {
	ws      *websocket.Conn
	opt     Options
	pushes  chan Push
	done    chan struct{}
	closing chan struct{}

	nextID atomic.Uint64

	writeMu sync.Mutex

	mu      sync.Mutex
	pending map[string]chan reply
	err     error
	welcome *protocol.Welcome

	closeOnce sync.Once
	// localClose is the close frame this side sent, reported when the
	// socket ends before the server's answer is read.
	localClose atomic.Pointer[CloseError]
}

type reply struct {
	frame protocol.Frame
	raw   []byte
	err   error
}

// Dial opens the WebSocket (the token travels at upgrade when Options say
// so) without authenticating; call Auth next. It fails unless the server
// selects the parley.v1 subprotocol.
func Dial(ctx context.Context, url string, opt Options) (*Client, error) {
	if opt.PushBuffer <= 0 {
		opt.PushBuffer = 256
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 10 * time.Second
	}
	d := opt.Dialer
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024,
			Proxy: http.ProxyFromEnvironment}
	}
	dd := *d
	dd.Subprotocols = []string{Subprotocol}
	header := http.Header{}
	for k, v := range opt.Header {
		header[k] = v
	}
	if opt.Origin != "" {
		header.Set("Origin", opt.Origin)
	}
	switch opt.TokenMode {
	case TokenInSubprotocol:
		dd.Subprotocols = append(dd.Subprotocols, TokenSubprotocolPrefix+opt.Token)
	case TokenInHeader:
		header.Set("Authorization", "Bearer "+opt.Token)
	}
	ws, resp, err := dd.DialContext(ctx, url, header)
	if err != nil {
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			return nil, handshakeError(resp)
		}
		return nil, err
	}
	if ws.Subprotocol() != Subprotocol {
		_ = ws.Close()
		return nil, fmt.Errorf("wsclient: server selected subprotocol %q, want %q", ws.Subprotocol(), Subprotocol)
	}
	c := &Client{ws: ws, opt: opt, pushes: make(chan Push, opt.PushBuffer), done: make(chan struct{}),
		closing: make(chan struct{}), pending: map[string]chan reply{}}
	go c.readLoop()
	return c, nil
}

func handshakeError(resp *http.Response) *HandshakeError {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Code         errs.Code         `json:"code"`
			Message      string            `json:"message"`
			RetryAfterMs int64             `json:"retry_after_ms"`
			Details      map[string]string `json:"details"`
		} `json:"error"`
	}
	he := &HandshakeError{StatusCode: resp.StatusCode}
	if json.Unmarshal(data, &body) == nil && errs.Known(body.Error.Code) {
		he.Err = &errs.Error{Code: body.Error.Code, Message: body.Error.Message,
			RetryAfterMs: body.Error.RetryAfterMs, Details: body.Error.Details}
	} else {
		he.Err = errs.Newf(errs.FromHTTPStatus(resp.StatusCode), "upgrade answered HTTP %d", resp.StatusCode)
	}
	return he
}

// Connect dials and authenticates: it returns once the server answered the
// auth frame with welcome. On a refused token the error is the server's
// (*errs.Error, e.g. unauthenticated or token_expired) and the connection is
// closed.
func Connect(ctx context.Context, url string, opt Options) (*Client, error) {
	c, err := Dial(ctx, url, opt)
	if err != nil {
		return nil, err
	}
	token := opt.Token
	if opt.TokenMode != TokenInAuthFrame {
		token = ""
	}
	if _, err := c.Auth(ctx, token); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Auth sends the auth frame (token empty when the upgrade carried it) and
// waits for welcome.
func (c *Client) Auth(ctx context.Context, token string) (*protocol.Welcome, error) {
	f, err := c.Request(ctx, &protocol.Auth{Token: token})
	if err != nil {
		return nil, err
	}
	w, ok := f.(*protocol.Welcome)
	if !ok {
		return nil, fmt.Errorf("wsclient: auth answered by %s, want welcome", f.FrameType())
	}
	c.mu.Lock()
	c.welcome = w
	c.mu.Unlock()
	return w, nil
}

// Welcome returns the welcome frame of the session, or nil before Auth.
func (c *Client) Welcome() *protocol.Welcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome
}

// Subprotocol returns the subprotocol the server selected.
func (c *Client) Subprotocol() string { return c.ws.Subprotocol() }

// Request sends f and waits for the frame answering it. An empty id is
// filled from a per-connection counter. An error frame is returned as its
// *errs.Error (so errs.CodeOf works on it); a connection that ends first
// gives a *CloseError; ctx ending gives ctx.Err().
func (c *Client) Request(ctx context.Context, f protocol.ClientFrame) (protocol.Frame, error) {
	h := f.FrameHeader()
	if h.ID == "" {
		h.ID = c.NewID()
	}
	return c.RequestRaw(ctx, h.ID, protocol.Encode(f))
}

// RequestRaw sends data, an encoded frame whose id is id, as is, and waits
// for the answer to id like Request. Tests use it to send frames Encode
// would never produce.
func (c *Client) RequestRaw(ctx context.Context, id string, data []byte) (protocol.Frame, error) {
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	if _, dup := c.pending[id]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("wsclient: request id %q already in flight", id)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.WriteRaw(websocket.TextMessage, data); err != nil {
		c.forget(id)
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		if e, ok := r.frame.(*protocol.Error); ok {
			return nil, e.Err()
		}
		return r.frame, nil
	case <-ctx.Done():
		c.forget(id)
		return nil, ctx.Err()
	}
}

func (c *Client) forget(id string) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// NewID returns a request id unused on this connection.
func (c *Client) NewID() string { return strconv.FormatUint(c.nextID.Add(1), 10) }

// WriteRaw writes one WebSocket message of the given type
// (websocket.TextMessage or BinaryMessage) without waiting for anything.
func (c *Client) WriteRaw(messageType int, data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opt.WriteTimeout))
	if err := c.ws.WriteMessage(messageType, data); err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.err != nil {
			return c.err
		}
		return err
	}
	return nil
}

// Ping sends a protocol ping and returns the round-trip time to its pong.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	f, err := c.Request(ctx, &protocol.Ping{})
	if err != nil {
		return 0, err
	}
	if _, ok := f.(*protocol.Pong); !ok {
		return 0, fmt.Errorf("wsclient: ping answered by %s, want pong", f.FrameType())
	}
	return time.Since(start), nil
}

// Refresh replaces the session's token and returns the new expiry.
func (c *Client) Refresh(ctx context.Context, token string) (*protocol.Refreshed, error) {
	f, err := c.Request(ctx, &protocol.Refresh{Token: token})
	if err != nil {
		return nil, err
	}
	r, ok := f.(*protocol.Refreshed)
	if !ok {
		return nil, fmt.Errorf("wsclient: refresh answered by %s, want refreshed", f.FrameType())
	}
	return r, nil
}

// Send posts body to a conversation and waits for its ack. Retry a failed
// send with the same clientMsgID: the server acks it once.
func (c *Client) Send(ctx context.Context, conv protocol.ConversationID, clientMsgID, body string) (*protocol.Ack, error) {
	f, err := c.Request(ctx, &protocol.Send{ConversationID: conv, ClientMsgID: clientMsgID, Body: body})
	if err != nil {
		return nil, err
	}
	a, ok := f.(*protocol.Ack)
	if !ok {
		return nil, fmt.Errorf("wsclient: send answered by %s, want ack", f.FrameType())
	}
	return a, nil
}

// Pushes returns the frames that answered no request, in arrival order. It
// is closed when the connection ends (unless Options.OnPush took them).
func (c *Client) Pushes() <-chan Push { return c.pushes }

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is open, then a *CloseError.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Wait waits until the connection ends or ctx does, and returns the
// connection's *CloseError (or ctx.Err()).
func (c *Client) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends close 1000, waits up to a second for the server's answer, and
// closes the socket. It is safe to call more than once, and from OnPush
// (which then waits the full second: the answer is read by the goroutine
// running OnPush). Use Wait to learn how the connection ended.
func (c *Client) Close() error {
	return c.CloseWith(errs.CloseNormal, "")
}

// CloseWith is Close with a chosen close code and reason.
func (c *Client) CloseWith(code errs.CloseCode, reason string) error {
	c.closeOnce.Do(func() {
		c.localClose.Store(&CloseError{Code: code, Text: reason, Reconnect: errs.Close(code).Reconnect})
		close(c.closing)
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(code), reason), time.Now().Add(time.Second))
		select {
		case <-c.done:
		case <-time.After(time.Second):
		}
		_ = c.ws.Close()
	})
	return nil
}

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			ce := newCloseError(err)
			if local := c.localClose.Load(); local != nil && ce.Code == CloseAbnormal {
				ce = local // closed here; the server's answer was not read
			}
			c.finish(ce)
			return
		}
		if kind != websocket.TextMessage {
			continue // the protocol has no binary frames yet
		}
		f, derr := protocol.DecodeServerFrame(data)
		if derr == nil {
			if id := f.FrameHeader().ID; id != "" {
				c.mu.Lock()
				ch := c.pending[id]
				delete(c.pending, id)
				c.mu.Unlock()
				if ch != nil {
					ch <- reply{frame: f, raw: data}
					continue
				}
			}
		} else {
			f = nil // unknown type (or broken frame): handed on raw, to be skipped
		}
		p := Push{Frame: f, Raw: data}
		if c.opt.OnPush != nil {
			c.opt.OnPush(p)
			continue
		}
		select {
		case c.pushes <- p:
		case <-c.closing:
			// Nobody drains pushes any more; keep reading to see the close.
		}
	}
}

// finish records why the connection ended and fails the requests in flight.
func (c *Client) finish(err *CloseError) {
	_ = c.ws.Close()
	c.mu.Lock()
	c.err = err
	pending := c.pending
	c.pending = map[string]chan reply{}
	c.mu.Unlock()
	for _, ch := range pending {
		ch <- reply{err: err}
	}
	close(c.pushes)
}
