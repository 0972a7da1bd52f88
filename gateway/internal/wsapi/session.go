package wsapi

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/parleychat/parley/gateway/internal/conn"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/frameapi"
	"github.com/parleychat/parley/shared/protocol"
)

// session is the reader side of one connection: it owns the connection's
// protocol state, so nothing in it needs a lock.
type session struct {
	s            *Server
	c            *conn.Conn
	upgradeToken string
	strikes      int
	// limiters holds the token bucket of each action in rateActions, made
	// on the action's first frame: a bucket starts full either way, and an
	// idle session then holds none (four limiters and a map built at auth
	// cost about 560 bytes per connection).
	limiters [len(rateActions)]*rate.Limiter

	// gate and state are set when the poller, not a reader goroutine,
	// watches the socket (see poll.go).
	gate  *frameGate
	state atomic.Int32
}

// rateActions are the rate-limited actions, in the order of session.limiters.
var rateActions = [...]string{protocol.RateFrames, protocol.RateSend, protocol.RateTyping, protocol.RateHistory}

func newSession(s *Server, c *conn.Conn, upgradeToken string) *session {
	return &session{s: s, c: c, upgradeToken: upgradeToken}
}

// configure sets gorilla's limits and keep-alive handlers.
func (ss *session) configure() {
	ws := ss.c.WS()
	// Frames a bit above the limit get a payload_too_large error frame;
	// far above it, gorilla closes with 1009 without reading them.
	ws.SetReadLimit(int64(4 * ss.s.cfg.Limits.MaxFrameBytes))
	ws.SetPongHandler(func(string) error { ss.c.TouchRead(time.Now()); return nil })
	ws.SetPingHandler(func(data string) error { return ss.pong([]byte(data)) })
}

// pong answers a client's ping.
func (ss *session) pong(data []byte) error {
	ss.c.TouchRead(time.Now())
	err := ss.c.WS().WriteControl(websocket.PongMessage, data, time.Now().Add(time.Second))
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	return err
}

// readLoop is the reader of a connection the poller does not watch.
func (ss *session) readLoop() {
	ss.configure()
	ws := ss.c.WS()
	for {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			ss.noteReadError(err)
			return
		}
		ss.processAside(kind, data)
	}
}

// processAside handles one frame on a short-lived goroutine and waits for
// it, so frames are still handled one at a time, in order. The reader
// goroutine lives as long as the connection, parked in a read nearly all
// the time; decoding, token verification and upstream calls need deep
// stacks, and a stack that grew stays grown (Go halves a stack only while
// less than a quarter of it is in use). Kept off the reader, that work
// leaves an idle reader in 4 KiB of stack instead of 8 KiB, a third of an
// idle connection's memory, for about a microsecond per client frame.
func (ss *session) processAside(kind int, data []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ss.process(kind, data)
	}()
	<-done
}

// process handles one client message.
func (ss *session) process(kind int, data []byte) {
	ss.c.TouchRead(time.Now())
	if ss.c.Closing() {
		// The connection is being closed (failed auth, abuse, drain,
		// replacement): frames still in flight are not acted on, so an
		// auth right behind a rejected frame cannot start a session.
		return
	}
	if kind != websocket.TextMessage {
		ss.reject("", errs.New(errs.InvalidArgument, "binary messages are not supported: send JSON text frames"))
		return
	}
	frame, err := protocol.Decode(data, ss.s.cfg.Limits)
	if err != nil {
		ss.reject(protocol.PeekID(data, ss.s.cfg.Limits), err)
		return
	}
	ss.s.metrics.framesIn.WithLabelValues(frame.FrameType()).Inc()
	ss.handle(frame, data)
}

func (ss *session) noteReadError(err error) {
	if errors.Is(err, websocket.ErrReadLimit) {
		ss.s.hubMetrics.Closed("frame_too_large")
		ss.c.Abort(errs.CloseMessageTooBig, "frame too large")
		return
	}
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) && !ss.c.Closing() {
		ss.s.logger.Debug("connection read ended", slog.Uint64("conn", ss.c.ID), slog.Any("err", err))
	}
	ss.c.Abort(errs.CloseNormal, "")
}

// reject answers a bad frame with an error and closes the connection after
// MaxStrikes bad frames in a row.
func (ss *session) reject(id string, err error) {
	ss.s.metrics.rejected.WithLabelValues(string(errs.CodeOf(err))).Inc()
	ss.send(protocol.ErrorFrame(id, err))
	ss.strikes++
	if ss.strikes >= ss.s.cfg.MaxStrikes {
		ss.s.hubMetrics.Closed("abuse")
		ss.c.CloseAfterFlush(errs.CloseProtocolAbuse, "too many bad frames")
	}
}

func (ss *session) send(f protocol.Frame) {
	ss.s.metrics.framesOut.WithLabelValues(f.FrameType()).Inc()
	ss.c.Send(protocol.Encode(f))
}

func (ss *session) handle(frame protocol.Frame, raw []byte) {
	id := frame.FrameHeader().ID
	identity := ss.c.Identity()
	if identity == nil {
		auth, ok := frame.(*protocol.Auth)
		if !ok {
			ss.fail(id, errs.New(errs.Unauthenticated, "the first frame must be auth"))
			return
		}
		ss.authenticate(auth)
		return
	}
	if err := ss.allow(frame.FrameType()); err != nil {
		ss.reject(id, err)
		return
	}
	switch f := frame.(type) {
	case *protocol.Auth:
		ss.reject(id, errs.New(errs.FailedPrecondition, "already authenticated: use refresh to extend the session"))
	case *protocol.Ping:
		ss.strikes = 0
		ss.send(&protocol.Pong{Header: protocol.Header{ID: id}, ServerTimeMs: protocol.MillisOf(time.Now())})
	case *protocol.Refresh:
		ss.refresh(f, identity)
	default:
		ss.relay(frame.FrameType(), id, raw, identity)
	}
}

// fail sends an error and closes the connection with the code's close code.
func (ss *session) fail(id string, err error) {
	ss.s.metrics.rejected.WithLabelValues(string(errs.CodeOf(err))).Inc()
	ss.send(protocol.ErrorFrame(id, err))
	ss.c.CloseAfterFlush(errs.Lookup(errs.CodeOf(err)).Close, string(errs.CodeOf(err)))
}

func (ss *session) verify(token string) (authtoken.Claims, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return ss.s.verifier.Verify(ctx, token)
}

func (ss *session) authenticate(f *protocol.Auth) {
	token := f.Token
	if token == "" {
		token = ss.upgradeToken
	}
	// The session outlives the auth frame: keep no copy of the token.
	ss.upgradeToken = ""
	if token == "" {
		ss.fail(f.ID, errs.New(errs.Unauthenticated, "no access token: put it in the auth frame or the upgrade request"))
		return
	}
	claims, err := ss.verify(token)
	if err != nil {
		ss.fail(f.ID, err)
		return
	}
	ss.c.SetIdentity(conn.Identity{UserID: claims.UserID, DeviceID: claims.DeviceID, Roles: claims.Roles}, claims.ExpiresAt)
	replaced, err := ss.s.hub.Bind(ss.c)
	if err != nil {
		ss.fail(f.ID, err)
		return
	}
	if replaced != nil {
		ss.s.hubMetrics.Closed("replaced")
		replaced.CloseAfterFlush(errs.CloseNormal, "replaced by a newer connection of this device")
	}
	ss.strikes = 0
	now := time.Now()
	ss.send(&protocol.Welcome{
		Header:             protocol.Header{ID: f.ID},
		UserID:             protocol.UserID(claims.UserID),
		DeviceID:           claims.DeviceID,
		SessionExpiresAtMs: protocol.MillisOf(claims.ExpiresAt),
		ServerTimeMs:       protocol.MillisOf(now),
		PingIntervalMs:     ss.s.cfg.Sweep.PingInterval.Milliseconds(),
		Limits:             ss.s.cfg.Limits,
		RateLimits:         ss.s.cfg.Rates,
	})
}

func (ss *session) refresh(f *protocol.Refresh, identity *conn.Identity) {
	claims, err := ss.verify(f.Token)
	if err != nil {
		ss.reject(f.ID, err)
		return
	}
	if claims.UserID != identity.UserID || claims.DeviceID != identity.DeviceID {
		ss.reject(f.ID, errs.New(errs.PermissionDenied, "the new token is for another user or device"))
		return
	}
	ss.strikes = 0
	ss.c.ExtendSession(claims.ExpiresAt)
	ss.send(&protocol.Refreshed{Header: protocol.Header{ID: f.ID}, SessionExpiresAtMs: protocol.MillisOf(claims.ExpiresAt)})
}

// allow applies the per-connection token buckets: every frame, and the
// action's own bucket.
func (ss *session) allow(frameType string) error {
	for _, i := range [...]int{0, actionOf(frameType)} {
		if l := ss.limiter(i); l != nil && !l.Allow() {
			name := rateActions[i]
			wait := time.Duration(float64(time.Second) / float64(l.Limit()))
			return &errs.Error{Code: errs.RateLimited, Message: "too many " + name + " frames: slow down",
				RetryAfterMs: wait.Milliseconds(), Details: map[string]string{"limit": name}}
		}
	}
	return nil
}

// limiter returns the bucket of rateActions[i], nil when i < 0 or the
// action is not limited.
func (ss *session) limiter(i int) *rate.Limiter {
	if i < 0 {
		return nil
	}
	if ss.limiters[i] == nil {
		r, ok := ss.s.cfg.Rates[rateActions[i]]
		if !ok {
			return nil
		}
		ss.limiters[i] = rate.NewLimiter(rate.Limit(float64(r.PerMinute)/60), r.Burst)
	}
	return ss.limiters[i]
}

// actionOf returns the index in rateActions of a frame type's own bucket,
// or -1.
func actionOf(frameType string) int {
	switch frameType {
	case protocol.TypeSend:
		return 1
	case protocol.TypeTyping:
		return 2
	case protocol.TypeHistory, protocol.TypeSync:
		return 3
	}
	return -1
}

// relay hands a frame to the service that owns its type. Frames of one
// connection are relayed one at a time, in order, so a device's sends keep
// their order end to end.
func (ss *session) relay(frameType, id string, raw []byte, identity *conn.Identity) {
	up := ss.s.upstreams[frameType]
	if up == nil {
		// A gateway deployed without this service is not the client's
		// fault: answer unavailable without a strike, or a client retrying
		// would be closed as abusive.
		err := errs.Newf(errs.Unavailable, "%s is not available on this gateway", frameType)
		ss.s.metrics.rejected.WithLabelValues(string(err.Code)).Inc()
		ss.send(protocol.ErrorFrame(id, err))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ss.s.cfg.UpstreamTimeout)
	defer cancel()
	start := time.Now()
	reply, err := up.Handle(ctx, frameapi.Request{UserID: identity.UserID, DeviceID: identity.DeviceID,
		GatewayID: ss.s.cfg.GatewayID, Frame: raw})
	ss.s.metrics.upstreamSeconds.WithLabelValues(frameType).Observe(time.Since(start).Seconds())
	if err != nil {
		ss.s.metrics.rejected.WithLabelValues(string(errs.CodeOf(err))).Inc()
		ss.send(protocol.ErrorFrame(id, err))
		return
	}
	ss.strikes = 0
	if len(reply) > 0 {
		ss.s.metrics.framesOut.WithLabelValues("reply").Inc()
		ss.c.Send(reply)
	}
}
