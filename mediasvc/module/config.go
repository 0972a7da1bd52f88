package module

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/imaging"
	"github.com/parleychat/parley/mediasvc/internal/objects/s3"
	"github.com/parleychat/parley/mediasvc/internal/store/cassandra"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/ratelimit"
)

// Config is the whole configuration of mediasvc.
type Config struct {
	kit.BaseConfig
	Media MediaConfig
}

// RegisterFlags registers every flag of mediasvc.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7105")
	c.Media.RegisterFlags(fs)
}

// Validate checks the configuration.
func (c *Config) Validate() error { return errors.Join(c.BaseConfig.Validate(), c.Media.Validate()) }

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

// MediaConfig holds the -media.* settings.
type MediaConfig struct {
	// DataDir holds the local objects and the embedded metadata file.
	DataDir  string
	Objects  ObjectsConfig
	Metadata MetadataConfig

	Limits         LimitsFlag
	PresignExpiry  time.Duration
	DownloadExpiry time.Duration

	CleanupInterval time.Duration
	CleanupAge      time.Duration
	// UnsentAge: see usecase.Config.UnsentAge (used with a messages URL).
	UnsentAge time.Duration

	MessagesURL     string
	MessagesTimeout time.Duration
	AttachCallers   config.StringList

	// UploadRate is each user's upload limit; Redis shares the counts
	// between replicas when addresses are set, else they are in memory.
	UploadRate    ratelimit.Limit
	RedisAddrs    config.StringList
	RedisPassword config.Secret
	RedisPrefix   string

	Thumbnail            imaging.Options
	ThumbnailConcurrency int

	// NodeID is this replica's ids node (0–1023); -1 picks one at random.
	NodeID int
}

// ObjectsConfig selects and configures the object store.
type ObjectsConfig struct {
	Backend           string // local or s3
	Endpoint          string
	AccessKey         string
	SecretKey         config.Secret
	Region            string
	Bucket            string
	Secure            bool
	PublicEndpoint    string
	PublicSecure      bool
	PartSize          SizeFlag
	Redirect          bool
	TrailingChecksums bool
}

// MetadataConfig selects and configures the metadata store.
type MetadataConfig struct {
	Backend   string // embedded or cassandra
	Cassandra CassandraConfig
}

// CassandraConfig configures the Cassandra backend.
type CassandraConfig struct {
	Hosts          config.StringList
	DC             string
	Keyspace       string
	Replication    string
	Timeout        time.Duration
	ConnectTimeout time.Duration
	Migrate        bool
}

// SizeFlag is a byte count flag: 16MiB, 1048576, …
type SizeFlag int64

// Set implements flag.Value.
func (s *SizeFlag) Set(v string) error {
	n, err := entity.ParseSize(v)
	*s = SizeFlag(n)
	return err
}

// String implements flag.Value.
func (s *SizeFlag) String() string {
	if s == nil {
		return "0"
	}
	return entity.FormatSize(int64(*s))
}

// LimitsFlag is the per-type limits flag: image/*=25MiB,video/mp4=200MiB,…
type LimitsFlag struct{ entity.Limits }

// Set implements flag.Value.
func (l *LimitsFlag) Set(v string) error {
	parsed, err := entity.ParseLimits(v)
	if err != nil {
		return err
	}
	l.Limits = parsed
	return nil
}

// String implements flag.Value.
func (l *LimitsFlag) String() string {
	if l == nil || l.Limits == nil {
		return ""
	}
	return l.Limits.String()
}

// RegisterFlags registers the -media.* flags.
func (c *MediaConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "media.data-dir", "./data/mediasvc", "directory of the local object store and the embedded metadata store")

	fs.StringVar(&c.Objects.Backend, "media.store.backend", "local", "object store: local (files in -media.data-dir) or s3")
	fs.StringVar(&c.Objects.Endpoint, "media.s3.endpoint", "", "S3 endpoint, host:port (IP endpoints and non-AWS hosts use path-style requests)")
	fs.StringVar(&c.Objects.AccessKey, "media.s3.access-key", "", "S3 access key")
	fs.Var(&c.Objects.SecretKey, "media.s3.secret-key", "S3 secret key (secret)")
	fs.StringVar(&c.Objects.Region, "media.s3.region", "us-east-1", "S3 region (also signs presigned URLs)")
	fs.StringVar(&c.Objects.Bucket, "media.s3.bucket", "parley-media", "S3 bucket, created if missing")
	fs.BoolVar(&c.Objects.Secure, "media.s3.secure", true, "use HTTPS to reach S3")
	fs.StringVar(&c.Objects.PublicEndpoint, "media.s3.public-endpoint", "", "host:port clients use to reach S3, if not -media.s3.endpoint (presigned URLs name it)")
	fs.BoolVar(&c.Objects.PublicSecure, "media.s3.public-secure", true, "presigned URLs for -media.s3.public-endpoint use HTTPS")
	c.Objects.PartSize = s3.DefaultPartSize
	fs.Var(&c.Objects.PartSize, "media.s3.part-size", "multipart part size of streamed uploads (≥ 5MiB); each upload in flight holds up to two parts in memory")
	fs.BoolVar(&c.Objects.TrailingChecksums, "media.s3.trailing-checksums", true, "end uploads with a CRC32C trailer S3 verifies; false for S3-compatible stores without trailing headers (the payload is then unchecked over plain HTTP)")
	fs.BoolVar(&c.Objects.Redirect, "media.s3.redirect", true, "serve content as a 302 to a presigned S3 URL; false streams it through mediasvc")

	fs.StringVar(&c.Metadata.Backend, "media.metadata.backend", "embedded", "metadata store: embedded (bbolt file in -media.data-dir) or cassandra")
	fs.Var(&c.Metadata.Cassandra.Hosts, "media.cassandra.hosts", "comma-separated Cassandra contact points (host or host:port)")
	fs.StringVar(&c.Metadata.Cassandra.DC, "media.cassandra.dc", "datacenter1", "local Cassandra data center")
	fs.StringVar(&c.Metadata.Cassandra.Keyspace, "media.cassandra.keyspace", "parley_media", "Cassandra keyspace")
	fs.StringVar(&c.Metadata.Cassandra.Replication, "media.cassandra.replication", "", "replication map used when the keyspace is created (default: NetworkTopologyStrategy, 1 replica in -media.cassandra.dc)")
	fs.DurationVar(&c.Metadata.Cassandra.Timeout, "media.cassandra.timeout", 5*time.Second, "timeout of one Cassandra request")
	fs.DurationVar(&c.Metadata.Cassandra.ConnectTimeout, "media.cassandra.connect-timeout", 10*time.Second, "timeout of one Cassandra connection attempt")
	fs.BoolVar(&c.Metadata.Cassandra.Migrate, "media.cassandra.migrate", true, "apply schema migrations at startup (else run `mediasvc migrate`)")

	c.Limits.Limits, _ = entity.ParseLimits(entity.DefaultLimits)
	fs.Var(&c.Limits, "media.limits", "per-type size limits, type=size,… (major/* sets every allowed type of it; 0 refuses a type); admins override them at runtime")
	fs.DurationVar(&c.PresignExpiry, "media.presign-expiry", 15*time.Minute, "lifetime of a presigned upload URL")
	fs.DurationVar(&c.DownloadExpiry, "media.download-expiry", 5*time.Minute, "lifetime of a presigned download URL")
	fs.DurationVar(&c.CleanupInterval, "media.cleanup.interval", 10*time.Minute, "how often the cleanup runs (0 disables it)")
	fs.DurationVar(&c.CleanupAge, "media.cleanup.age", 24*time.Hour, "uploads never attached (or never finalized) for this long are deleted")
	fs.DurationVar(&c.UnsentAge, "media.cleanup.unsent-age", 72*time.Hour, "attached media whose messages are all older than this and were never stored (a send that died after attaching) becomes an orphan; keep above messagesvc's 48h dedup window; 0 disables (needs -media.messages-url)")
	fs.StringVar(&c.MessagesURL, "media.messages-url", "", "messagesvc base URL, asked who may read attached media; empty: only uploaders read their media")
	fs.DurationVar(&c.MessagesTimeout, "media.messages-timeout", 2*time.Second, "timeout of one call to messagesvc")
	fs.IntVar(&c.UploadRate.Max, "media.ratelimit.uploads", 60, "uploads (streamed or presigned) one user may start per -media.ratelimit.window; 0 disables the limit")
	fs.DurationVar(&c.UploadRate.Window, "media.ratelimit.window", time.Minute, "window of the upload rate limit")
	fs.Var(&c.RedisAddrs, "media.redis.addrs", "Redis addresses for the upload rate limit, shared by every replica (one: standalone; several: Cluster); empty: counted in this process")
	fs.Var(&c.RedisPassword, "media.redis.password", "Redis password (secret)")
	fs.StringVar(&c.RedisPrefix, "media.redis.key-prefix", "parley:media:", "prefix of mediasvc's Redis keys")
	c.AttachCallers = config.StringList{"messagesvc"}
	fs.Var(&c.AttachCallers, "media.attach-callers", "services allowed to call /media/attach and /media/detach")
	d := imaging.DefaultOptions()
	fs.IntVar(&c.Thumbnail.Size, "media.thumbnail.size", d.Size, "longest side of thumbnails, pixels")
	fs.Int64Var(&c.Thumbnail.MaxPixels, "media.thumbnail.max-pixels", d.MaxPixels, "largest image (width×height) decoded for a thumbnail; about 4 bytes of memory per pixel")
	fs.IntVar(&c.Thumbnail.Quality, "media.thumbnail.quality", d.Quality, "JPEG quality of thumbnails")
	fs.IntVar(&c.ThumbnailConcurrency, "media.thumbnail.concurrency", 2, "images decoded at once")
	fs.IntVar(&c.NodeID, "media.node-id", -1, "ids node of this replica, unique among live replicas (0–1023; -1 picks one at random)")
}

// Validate checks the -media.* settings.
func (c *MediaConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	needDir := false
	switch c.Objects.Backend {
	case "local":
		needDir = true
	case "s3":
		if err := c.s3().Validate(); err != nil {
			bad("media.s3: %w", err)
		}
	default:
		bad("media.store.backend: %q is not local or s3", c.Objects.Backend)
	}
	switch c.Metadata.Backend {
	case "embedded":
		needDir = true
	case "cassandra":
		if err := c.cassandra().Validate(); err != nil {
			bad("media.cassandra: %w", err)
		}
	default:
		bad("media.metadata.backend: %q is not embedded or cassandra", c.Metadata.Backend)
	}
	if needDir && c.DataDir == "" {
		bad("media.data-dir is required with the local object store or the embedded metadata store")
	}
	if c.Limits.Max() == 0 {
		bad("media.limits: no type is allowed")
	}
	if c.PresignExpiry < time.Minute || c.PresignExpiry > 7*24*time.Hour {
		bad("media.presign-expiry must be between 1m and 168h")
	}
	if c.DownloadExpiry < 10*time.Second || c.DownloadExpiry > 7*24*time.Hour {
		bad("media.download-expiry must be between 10s and 168h")
	}
	if c.CleanupInterval < 0 || c.CleanupAge < time.Minute {
		bad("media.cleanup.interval must be ≥ 0 and media.cleanup.age ≥ 1m")
	}
	if c.UnsentAge != 0 && c.UnsentAge < 49*time.Hour {
		bad("media.cleanup.unsent-age must be 0 or ≥ 49h (above messagesvc's 48h dedup window)")
	}
	if c.MessagesURL != "" {
		if u, err := url.Parse(c.MessagesURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			bad("media.messages-url: %q is not an http(s) URL", c.MessagesURL)
		}
	}
	if c.UploadRate.Max < 0 || (c.UploadRate.Max > 0 && c.UploadRate.Window < time.Second) {
		bad("media.ratelimit.uploads must be ≥ 0 and media.ratelimit.window ≥ 1s")
	}
	if c.MessagesTimeout <= 0 {
		bad("media.messages-timeout must be positive")
	}
	if c.Thumbnail.Size < 16 || c.Thumbnail.Size > 2048 || c.Thumbnail.MaxPixels < 1 || c.Thumbnail.Quality < 1 ||
		c.Thumbnail.Quality > 100 || c.ThumbnailConcurrency < 1 {
		bad("media.thumbnail: size 16–2048, max-pixels ≥ 1, quality 1–100, concurrency ≥ 1")
	}
	if c.NodeID < -1 || c.NodeID > ids.MaxNode {
		bad("media.node-id must be -1 or 0..%d", ids.MaxNode)
	}
	return errors.Join(errs...)
}

func (c *MediaConfig) s3() s3.Config {
	o := c.Objects
	return s3.Config{Endpoint: o.Endpoint, AccessKey: o.AccessKey, SecretKey: o.SecretKey.Reveal(), Region: o.Region,
		Bucket: o.Bucket, Secure: o.Secure, PublicEndpoint: o.PublicEndpoint, PublicSecure: o.PublicSecure,
		PartSize: uint64(max(o.PartSize, 0)), NoTrailingChecksums: !o.TrailingChecksums}
}

func (c *MediaConfig) cassandra() cassandra.Config {
	cc := c.Metadata.Cassandra
	return cassandra.Config{Hosts: cc.Hosts, DC: cc.DC, Keyspace: cc.Keyspace, Replication: cc.Replication,
		Timeout: cc.Timeout, ConnectTimeout: cc.ConnectTimeout}
}

func (c *MediaConfig) usecase() usecase.Config {
	return usecase.Config{Limits: c.Limits.Limits, PresignExpiry: c.PresignExpiry, DownloadExpiry: c.DownloadExpiry,
		Redirect: c.Objects.Redirect, OrphanAge: c.CleanupAge, TombstoneRetention: 30 * 24 * time.Hour,
		Thumbnail: c.Thumbnail, ThumbnailConcurrency: c.ThumbnailConcurrency,
		LimitsCacheTTL: 10 * time.Second, CheckpointLag: time.Minute, UploadRate: c.UploadRate, UnsentAge: c.unsentAge()}
}

// unsentAge is only used when messagesvc can be asked: without it nothing
// can tell a message never stored from one that exists.
func (c *MediaConfig) unsentAge() time.Duration {
	if c.MessagesURL == "" {
		return 0
	}
	return c.UnsentAge
}
