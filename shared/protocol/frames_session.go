package protocol

// Auth starts the session; it must be the first frame on a connection. The
// token is optional when the upgrade request already carried one (header or
// subprotocol); when both are present the frame's token is used. The reply
// is Welcome, or an error followed by close 4401.
type Auth struct {
	Header
	Token string `json:"token,omitempty"`
}

func (*Auth) FrameType() string { return TypeAuth }

func (f *Auth) appendFields(dst []byte) []byte { return optStringField(dst, "token", f.Token) }

func (f *Auth) Validate(lim Limits) error {
	c := newChecker(f, lim)
	c.token("token", "max_token_bytes", f.Token, lim.MaxTokenBytes)
	return c.result()
}

// Refresh replaces the session's access token before it expires, so expiry
// never forces a reconnect. The token must be for the same user and device.
// The reply is Refreshed.
type Refresh struct {
	Header
	Token string `json:"token"`
}

func (*Refresh) FrameType() string { return TypeRefresh }

func (f *Refresh) appendFields(dst []byte) []byte { return stringField(dst, "token", f.Token) }

func (f *Refresh) Validate(lim Limits) error {
	c := newChecker(f, lim)
	c.required("token", f.Token != "")
	c.token("token", "max_token_bytes", f.Token, lim.MaxTokenBytes)
	return c.result()
}

// Ping asks for a Pong. Browsers cannot send WebSocket pings, so this is how
// a client checks that the connection and the gateway's loop are alive.
type Ping struct {
	Header
}

func (*Ping) FrameType() string { return TypePing }

func (f *Ping) appendFields(dst []byte) []byte { return dst }

func (f *Ping) Validate(lim Limits) error {
	c := newChecker(f, lim)
	return c.result()
}

// Welcome answers Auth: who the session is for, when it expires, and the
// limits the gateway will enforce.
type Welcome struct {
	Header
	UserID   UserID `json:"user_id"`
	DeviceID string `json:"device_id"`
	// SessionExpiresAtMs is when the access token expires; refresh before it.
	SessionExpiresAtMs UnixMillis `json:"session_expires_at_ms"`
	// ServerTimeMs lets the client correct for clock skew.
	ServerTimeMs UnixMillis `json:"server_time_ms"`
	// PingIntervalMs is how often the client should ping when otherwise idle.
	PingIntervalMs int64                `json:"ping_interval_ms"`
	Limits         Limits               `json:"limits"`
	RateLimits     map[string]RateLimit `json:"rate_limits,omitempty"`
}

// RateLimit is a token bucket: Burst frames at once, refilled at PerMinute.
type RateLimit struct {
	PerMinute int `json:"per_minute"`
	Burst     int `json:"burst"`
}

// Rate-limited actions named in Welcome.RateLimits.
const (
	RateFrames  = "frames"  // every client frame
	RateSend    = "send"    // send frames
	RateTyping  = "typing"  // typing frames
	RateHistory = "history" // history and sync frames
)

func (*Welcome) FrameType() string { return TypeWelcome }

func (f *Welcome) appendFields(dst []byte) []byte {
	dst = idField(dst, "user_id", f.UserID)
	dst = stringField(dst, "device_id", f.DeviceID)
	dst = intField(dst, "session_expires_at_ms", f.SessionExpiresAtMs)
	dst = intField(dst, "server_time_ms", f.ServerTimeMs)
	dst = intField(dst, "ping_interval_ms", f.PingIntervalMs)
	dst = f.Limits.appendJSON(appendKey(dst, "limits"))
	if len(f.RateLimits) > 0 {
		dst = append(appendKey(dst, "rate_limits"), '{')
		for i, k := range sortedKeys(f.RateLimits) {
			if i > 0 {
				dst = append(dst, ',')
			}
			r := f.RateLimits[k]
			dst = append(appendString(dst, k), `:{"per_minute":`...)
			dst = appendInt(dst, r.PerMinute)
			dst = append(intField(dst, "burst", r.Burst), '}')
		}
		dst = append(dst, '}')
	}
	return dst
}

// Refreshed answers Refresh with the new expiry.
type Refreshed struct {
	Header
	SessionExpiresAtMs UnixMillis `json:"session_expires_at_ms"`
}

func (*Refreshed) FrameType() string { return TypeRefreshed }

func (f *Refreshed) appendFields(dst []byte) []byte {
	return intField(dst, "session_expires_at_ms", f.SessionExpiresAtMs)
}

// Pong answers Ping.
type Pong struct {
	Header
	ServerTimeMs UnixMillis `json:"server_time_ms"`
}

func (*Pong) FrameType() string { return TypePong }

func (f *Pong) appendFields(dst []byte) []byte {
	return intField(dst, "server_time_ms", f.ServerTimeMs)
}

// GoAway announces that the gateway will close this connection (drain,
// shutdown, rebalancing). The client stops sending new requests, may wait
// for outstanding replies, and reconnects after ReconnectAfterMs, which the
// server has already jittered per connection so that a drained gateway's
// clients do not all return at once.
type GoAway struct {
	Header
	Reason string `json:"reason"`
	// ReconnectAfterMs is the delay before reconnecting, counted from receipt.
	ReconnectAfterMs int64 `json:"reconnect_after_ms"`
	// CloseInMs is when the server will close the socket (close code 4000).
	CloseInMs int64 `json:"close_in_ms"`
}

// GoAway reasons.
const (
	GoAwayDrain     = "drain"     // gateway is being drained (scale-down, deploy)
	GoAwayShutdown  = "shutdown"  // process is stopping
	GoAwayRebalance = "rebalance" // load is being moved to other gateways
)

func (*GoAway) FrameType() string { return TypeGoAway }

func (f *GoAway) appendFields(dst []byte) []byte {
	dst = stringField(dst, "reason", f.Reason)
	dst = intField(dst, "reconnect_after_ms", f.ReconnectAfterMs)
	return intField(dst, "close_in_ms", f.CloseInMs)
}
