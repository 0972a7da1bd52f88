package module

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
)

// Config is the whole configuration of the gateway.
type Config struct {
	kit.BaseConfig
	// Public is the listener clients reach; internal APIs are never served on it.
	Public kit.HTTPConfig

	Region        string
	ID            string
	AdvertiseAddr string

	RouterURL   string
	AuthURL     string
	MessagesURL string
	ReceiptsURL string
	GroupsURL   string
	MediaURL    string

	AllowedOrigins    config.StringList
	MaxConns          int
	MaxDevicesPerUser int
	SendQueue         int
	WriteTimeout      time.Duration
	PingInterval      time.Duration
	IdleTimeout       time.Duration
	AuthTimeout       time.Duration
	ExpiryGrace       time.Duration
	UpstreamTimeout   time.Duration
	DrainTimeout      time.Duration
	DrainSpread       time.Duration
	RouterFlush       time.Duration
	RateLimits        string
	MaxFrameBytes     int
	MaxBodyChars      int
	ReaderGoroutines  bool
	// WebDir serves the web client from a directory instead of the
	// embedded copy (development).
	WebDir string
	// WebMediaOrigins are where media downloads may be redirected (the S3
	// public endpoint): the page's CSP lets it fetch from them.
	WebMediaOrigins config.StringList
}

// RegisterFlags registers every flag of the gateway.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7100")
	c.Public.RegisterFlags(fs, "public.", "127.0.0.1:8080")
	fs.StringVar(&c.Region, "gateway.region", "local", "region this gateway serves; must match its router's")
	fs.StringVar(&c.ID, "gateway.id", "", "gateway id in the router (default: host name plus a random suffix, new at every start)")
	fs.StringVar(&c.AdvertiseAddr, "gateway.advertise-addr", "", "host:port the router pushes to (default: the internal listener's address)")
	fs.StringVar(&c.RouterURL, "gateway.router-url", "http://127.0.0.1:7106", "the region's router")
	fs.StringVar(&c.AuthURL, "gateway.auth-url", "http://127.0.0.1:7101", "authsvc: token keys (JWKS) and the /api/v1/auth relay")
	fs.StringVar(&c.MessagesURL, "gateway.messages-url", "", "messagesvc: send, sync, history and typing frames; /api/v1/messages (empty: not offered)")
	fs.StringVar(&c.ReceiptsURL, "gateway.receipts-url", "", "receiptsvc: received and read frames (empty: not offered)")
	fs.StringVar(&c.GroupsURL, "gateway.groups-url", "", "groupsvc: /api/v1/groups (empty: not offered)")
	fs.StringVar(&c.MediaURL, "gateway.media-url", "", "mediasvc: /api/v1/media (empty: not offered)")
	c.AllowedOrigins = config.StringList{"http://127.0.0.1:8080", "http://localhost:8080"}
	fs.Var(&c.AllowedOrigins, "gateway.allowed-origins", "browser origins allowed to open a WebSocket, comma-separated (native clients send none)")
	fs.IntVar(&c.MaxConns, "gateway.max-conns", 19_000, "connections this process accepts; beyond it upgrades get 503 (one process holds at most ~19,900 with 20,000 files)")
	fs.IntVar(&c.MaxDevicesPerUser, "gateway.max-devices-per-user", 10, "connected devices per user on this gateway")
	fs.IntVar(&c.SendQueue, "gateway.send-queue", 256, "frames queued per connection before it is closed as a slow consumer")
	fs.DurationVar(&c.WriteTimeout, "gateway.write-timeout", 10*time.Second, "time allowed to write one batch to a client")
	fs.DurationVar(&c.PingInterval, "gateway.ping-interval", 25*time.Second, "quiet time before the gateway pings a client (also advertised to clients)")
	fs.DurationVar(&c.IdleTimeout, "gateway.idle-timeout", 70*time.Second, "quiet time after which a connection is closed")
	fs.DurationVar(&c.AuthTimeout, "gateway.auth-timeout", 10*time.Second, "time allowed between upgrade and the auth frame")
	fs.DurationVar(&c.ExpiryGrace, "gateway.expiry-grace", 30*time.Second, "how long a session may outlive its token without a refresh")
	fs.DurationVar(&c.UpstreamTimeout, "gateway.upstream-timeout", 5*time.Second, "timeout of relaying one frame to its service")
	fs.DurationVar(&c.DrainTimeout, "gateway.drain-timeout", 30*time.Second, "how long a drain waits for clients to leave before cutting them")
	fs.DurationVar(&c.DrainSpread, "gateway.drain-spread", 10*time.Second, "drained clients are told to reconnect at random within this window")
	fs.DurationVar(&c.RouterFlush, "gateway.router-flush", 20*time.Millisecond, "attach/detach calls to the router are batched over this window")
	fs.StringVar(&c.RateLimits, "gateway.rate-limits", "frames=600:60,send=120:20,typing=30:5,history=60:10",
		"per-connection token buckets, action=per_minute:burst")
	fs.IntVar(&c.MaxFrameBytes, "gateway.max-frame-bytes", protocol.DefaultLimits().MaxFrameBytes, "largest client frame")
	fs.IntVar(&c.MaxBodyChars, "gateway.max-body-chars", protocol.DefaultLimits().MaxBodyChars, "longest message body, in characters")
	fs.Var(&c.WebMediaOrigins, "gateway.web-media-origins", "origins the web client may fetch media from, comma-separated: S3's public endpoint when mediasvc redirects downloads to presigned URLs (e.g. https://s3.example.com)")
	fs.StringVar(&c.WebDir, "gateway.web-dir", "", "serve the web client from this directory (gateway/web), re-read on every request, instead of the embedded copy (development)")
	fs.BoolVar(&c.ReaderGoroutines, "gateway.reader-goroutines", false,
		"one reader goroutine per connection instead of the epoll poller (more memory per idle connection; the fallback where epoll is missing)")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	errsOut := []error{c.BaseConfig.Validate(), c.Public.Validate("public.")}
	for name, u := range map[string]string{"gateway.router-url": c.RouterURL, "gateway.auth-url": c.AuthURL,
		"gateway.messages-url": c.MessagesURL, "gateway.receipts-url": c.ReceiptsURL,
		"gateway.groups-url": c.GroupsURL, "gateway.media-url": c.MediaURL} {
		if u == "" && (name == "gateway.router-url" || name == "gateway.auth-url") {
			errsOut = append(errsOut, fmt.Errorf("%s is required", name))
			continue
		}
		if p, err := url.Parse(u); u != "" && (err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https")) {
			errsOut = append(errsOut, fmt.Errorf("%s: %q is not an http(s) URL", name, u))
		}
	}
	for _, o := range c.AllowedOrigins {
		if p, err := url.Parse(o); err != nil || p.Host == "" || o == "*" {
			errsOut = append(errsOut, fmt.Errorf("gateway.allowed-origins: %q is not scheme://host[:port] (wildcards are not allowed)", o))
		}
	}
	for _, o := range c.WebMediaOrigins {
		if p, err := url.Parse(o); err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") || (p.Path != "" && p.Path != "/") {
			errsOut = append(errsOut, fmt.Errorf("gateway.web-media-origins: %q is not scheme://host[:port]", o))
		}
	}
	if c.MaxConns < 1 || c.MaxDevicesPerUser < 1 || c.SendQueue < 1 {
		errsOut = append(errsOut, errors.New("gateway.max-conns, gateway.max-devices-per-user and gateway.send-queue must be positive"))
	}
	if c.IdleTimeout <= c.PingInterval {
		errsOut = append(errsOut, errors.New("gateway.idle-timeout must be longer than gateway.ping-interval"))
	}
	if _, err := c.rates(); err != nil {
		errsOut = append(errsOut, err)
	}
	if err := c.limits().Validate(); err != nil {
		errsOut = append(errsOut, err)
	}
	return errors.Join(errsOut...)
}

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

func (c *Config) limits() protocol.Limits {
	l := protocol.DefaultLimits()
	l.MaxFrameBytes, l.MaxBodyChars = c.MaxFrameBytes, c.MaxBodyChars
	return l
}

func (c *Config) rates() (map[string]protocol.RateLimit, error) {
	out := map[string]protocol.RateLimit{}
	for _, part := range strings.Split(c.RateLimits, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, spec, ok := strings.Cut(part, "=")
		perMin, burst, ok2 := strings.Cut(spec, ":")
		pm, err1 := strconv.Atoi(perMin)
		b, err2 := strconv.Atoi(burst)
		known := name == protocol.RateFrames || name == protocol.RateSend || name == protocol.RateTyping || name == protocol.RateHistory
		if !ok || !ok2 || err1 != nil || err2 != nil || pm < 1 || b < 1 || !known {
			return nil, fmt.Errorf("gateway.rate-limits: %q is not action=per_minute:burst with action frames, send, typing or history", part)
		}
		out[name] = protocol.RateLimit{PerMinute: pm, Burst: b}
	}
	return out, nil
}
