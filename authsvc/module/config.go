package module

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"time"

	"github.com/parleychat/parley/authsvc/internal/password"
	"github.com/parleychat/parley/authsvc/internal/store/cassandra"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
)

// Config is the whole configuration of authsvc.
type Config struct {
	kit.BaseConfig
	Auth AuthConfig
}

// RegisterFlags registers every flag of authsvc.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7101")
	c.Auth.RegisterFlags(fs)
}

// Validate checks the configuration.
func (c *Config) Validate() error { return errors.Join(c.BaseConfig.Validate(), c.Auth.Validate()) }

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

// AuthConfig holds the -auth.* settings.
type AuthConfig struct {
	Issuer     string
	Audience   string
	AccessTTL  time.Duration
	RefreshTTL time.Duration

	KeyRotation        time.Duration
	KeyReload          time.Duration
	KeyActivationDelay time.Duration

	// NodeID is this replica's ids node (0–1023); -1 picks one at random.
	NodeID int
	// BootstrapAdmin names an existing account promoted to admin at startup.
	BootstrapAdmin string

	Store     StoreConfig
	Argon2    Argon2Config
	RateLimit RateLimitConfig
}

// StoreConfig selects and configures the store.
type StoreConfig struct {
	Backend   string // embedded or cassandra
	DataDir   string
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

// Argon2Config sets the password hashing cost.
type Argon2Config struct {
	MemoryKiB     uint
	Iterations    uint
	Parallelism   uint
	MaxConcurrent int
}

// RateLimitConfig bounds sign-in attempts.
type RateLimitConfig struct {
	Backend       string // memory or redis
	RedisAddrs    config.StringList
	RedisPassword config.Secret
	RedisPrefix   string
	AccountLimit  int
	AccountWindow time.Duration
	AddrLimit     int
	AddrWindow    time.Duration
}

// RegisterFlags registers the -auth.* flags.
func (c *AuthConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Issuer, "auth.issuer", authtoken.DefaultIssuer, "iss claim of access tokens")
	fs.StringVar(&c.Audience, "auth.audience", authtoken.DefaultAudience, "aud claim of access tokens")
	fs.DurationVar(&c.AccessTTL, "auth.access-ttl", 15*time.Minute, "lifetime of access tokens")
	fs.DurationVar(&c.RefreshTTL, "auth.refresh-ttl", 30*24*time.Hour, "lifetime of a refresh token (each refresh issues a new one)")
	fs.DurationVar(&c.KeyRotation, "auth.key-rotation", 24*time.Hour, "signing keys older than this are replaced")
	fs.DurationVar(&c.KeyReload, "auth.key-reload", 15*time.Second, "how often signing keys are reloaded from the store (replicas pick up each other's rotations)")
	fs.DurationVar(&c.KeyActivationDelay, "auth.key-activation-delay", time.Minute, "how long a new key is published before it signs; keep it above key-reload plus the verifiers' refetch interval (10s)")
	fs.IntVar(&c.NodeID, "auth.node-id", -1, "ids node of this replica, unique among live replicas (0–1023; -1 picks one at random)")
	fs.StringVar(&c.BootstrapAdmin, "auth.bootstrap-admin", "", "existing username to promote to admin at startup")

	fs.StringVar(&c.Store.Backend, "auth.store.backend", "embedded", "store: embedded (bbolt file in -auth.data-dir) or cassandra")
	fs.StringVar(&c.Store.DataDir, "auth.data-dir", "./data/authsvc", "directory of the embedded store")
	fs.Var(&c.Store.Cassandra.Hosts, "auth.cassandra.hosts", "comma-separated Cassandra contact points (host or host:port)")
	fs.StringVar(&c.Store.Cassandra.DC, "auth.cassandra.dc", "datacenter1", "local Cassandra data center")
	fs.StringVar(&c.Store.Cassandra.Keyspace, "auth.cassandra.keyspace", "parley_auth", "Cassandra keyspace")
	fs.StringVar(&c.Store.Cassandra.Replication, "auth.cassandra.replication", "", "replication map used when the keyspace is created (default: NetworkTopologyStrategy, 1 replica in -auth.cassandra.dc)")
	fs.DurationVar(&c.Store.Cassandra.Timeout, "auth.cassandra.timeout", 5*time.Second, "timeout of one Cassandra request")
	fs.DurationVar(&c.Store.Cassandra.ConnectTimeout, "auth.cassandra.connect-timeout", 10*time.Second, "timeout of one Cassandra connection attempt")
	fs.BoolVar(&c.Store.Cassandra.Migrate, "auth.cassandra.migrate", true, "apply schema migrations at startup (else run `authsvc migrate`)")

	d := password.DefaultParams()
	fs.UintVar(&c.Argon2.MemoryKiB, "auth.argon2.memory-kib", uint(d.MemoryKiB), "Argon2id memory per hash, KiB")
	fs.UintVar(&c.Argon2.Iterations, "auth.argon2.iterations", uint(d.Time), "Argon2id passes")
	fs.UintVar(&c.Argon2.Parallelism, "auth.argon2.parallelism", uint(d.Threads), "Argon2id lanes")
	fs.IntVar(&c.Argon2.MaxConcurrent, "auth.argon2.max-concurrent", runtime.NumCPU(), "hashes running at once; peak memory is this times memory-kib")

	fs.StringVar(&c.RateLimit.Backend, "auth.ratelimit.backend", "memory", "sign-in rate limiter: memory (one replica) or redis (shared)")
	fs.Var(&c.RateLimit.RedisAddrs, "auth.redis.addrs", "comma-separated Redis addresses (one: standalone; several: Cluster)")
	fs.Var(&c.RateLimit.RedisPassword, "auth.redis.password", "Redis password (secret)")
	fs.StringVar(&c.RateLimit.RedisPrefix, "auth.redis.key-prefix", "parley:auth:", "prefix of authsvc's Redis keys")
	fs.IntVar(&c.RateLimit.AccountLimit, "auth.ratelimit.account-limit", 10, "sign-in attempts per username per account-window")
	fs.DurationVar(&c.RateLimit.AccountWindow, "auth.ratelimit.account-window", 5*time.Minute, "window of the per-username limit")
	fs.IntVar(&c.RateLimit.AddrLimit, "auth.ratelimit.addr-limit", 30, "sign-in attempts per client address per addr-window")
	fs.DurationVar(&c.RateLimit.AddrWindow, "auth.ratelimit.addr-window", time.Minute, "window of the per-address limit")
}

// Validate checks the -auth.* settings.
func (c *AuthConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Issuer == "" || c.Audience == "" {
		bad("auth.issuer and auth.audience must not be empty")
	}
	if c.AccessTTL < time.Minute || c.AccessTTL > 24*time.Hour {
		bad("auth.access-ttl must be between 1m and 24h")
	}
	if c.RefreshTTL <= c.AccessTTL {
		bad("auth.refresh-ttl must be longer than auth.access-ttl")
	}
	if c.KeyRotation <= c.KeyActivationDelay || c.KeyReload <= 0 || c.KeyActivationDelay < 0 {
		bad("auth.key-rotation must exceed auth.key-activation-delay (≥ 0), and auth.key-reload must be positive")
	}
	if c.NodeID < -1 || c.NodeID > ids.MaxNode {
		bad("auth.node-id must be -1 or 0..%d", ids.MaxNode)
	}
	switch c.Store.Backend {
	case "embedded":
		if c.Store.DataDir == "" {
			bad("auth.data-dir is required with the embedded store")
		}
	case "cassandra":
		if err := c.cassandra().Validate(); err != nil {
			bad("auth.cassandra: %w", err)
		}
	default:
		bad("auth.store.backend: %q is not embedded or cassandra", c.Store.Backend)
	}
	if err := c.argon2().Validate(); err != nil || c.Argon2.MaxConcurrent < 1 {
		bad("auth.argon2: parameters out of range (memory-kib ≥ 8×parallelism, 1 ≤ iterations ≤ 16, max-concurrent ≥ 1)")
	}
	switch c.RateLimit.Backend {
	case "memory":
	case "redis":
		if len(c.RateLimit.RedisAddrs) == 0 {
			bad("auth.redis.addrs is required with -auth.ratelimit.backend=redis")
		}
	default:
		bad("auth.ratelimit.backend: %q is not memory or redis", c.RateLimit.Backend)
	}
	if c.RateLimit.AccountLimit < 1 || c.RateLimit.AddrLimit < 1 || c.RateLimit.AccountWindow <= 0 || c.RateLimit.AddrWindow <= 0 {
		bad("auth.ratelimit limits and windows must be positive")
	}
	return errors.Join(errs...)
}

func (c *AuthConfig) cassandra() cassandra.Config {
	cc := c.Store.Cassandra
	return cassandra.Config{Hosts: cc.Hosts, DC: cc.DC, Keyspace: cc.Keyspace, Replication: cc.Replication,
		Timeout: cc.Timeout, ConnectTimeout: cc.ConnectTimeout}
}

func (c *AuthConfig) argon2() password.Params {
	a := c.Argon2
	if a.MemoryKiB > 1<<30 || a.Iterations > 1<<8 || a.Parallelism > 255 {
		return password.Params{} // fails Validate
	}
	return password.Params{MemoryKiB: uint32(a.MemoryKiB), Time: uint32(a.Iterations), Threads: uint8(a.Parallelism)}
}
