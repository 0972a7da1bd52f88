package module

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"time"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/store/cassandra"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
)

// Config is the whole configuration of groupsvc.
type Config struct {
	kit.BaseConfig
	Groups GroupsConfig
}

// RegisterFlags registers every flag of groupsvc.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7104")
	c.Groups.RegisterFlags(fs)
}

// Validate checks the configuration.
func (c *Config) Validate() error { return errors.Join(c.BaseConfig.Validate(), c.Groups.Validate()) }

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

// GroupsConfig holds the -groups.* settings.
type GroupsConfig struct {
	Backend   string // embedded or cassandra
	DataDir   string
	Cassandra CassandraConfig

	DefaultLimit int
	Ceiling      int
	MaxCeiling   int
	MaxBatch     int

	AuthURL          string
	AuthTimeout      time.Duration
	MessagesURL      string
	MessagesTimeout  time.Duration
	DispatchInterval time.Duration

	// NodeID is this replica's ids node (0–1023); -1 picks one at random.
	NodeID int
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

// RegisterFlags registers the -groups.* flags.
func (c *GroupsConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Backend, "groups.store.backend", "embedded", "store: embedded (bbolt file in -groups.data-dir) or cassandra")
	fs.StringVar(&c.DataDir, "groups.data-dir", "./data/groupsvc", "directory of the embedded store")
	fs.Var(&c.Cassandra.Hosts, "groups.cassandra.hosts", "comma-separated Cassandra contact points (host or host:port)")
	fs.StringVar(&c.Cassandra.DC, "groups.cassandra.dc", "datacenter1", "local Cassandra data center")
	fs.StringVar(&c.Cassandra.Keyspace, "groups.cassandra.keyspace", "parley_groups", "Cassandra keyspace")
	fs.StringVar(&c.Cassandra.Replication, "groups.cassandra.replication", "", "replication map used when the keyspace is created (default: NetworkTopologyStrategy, 1 replica in -groups.cassandra.dc)")
	fs.DurationVar(&c.Cassandra.Timeout, "groups.cassandra.timeout", 5*time.Second, "timeout of one Cassandra request")
	fs.DurationVar(&c.Cassandra.ConnectTimeout, "groups.cassandra.connect-timeout", 10*time.Second, "timeout of one Cassandra connection attempt")
	fs.BoolVar(&c.Cassandra.Migrate, "groups.cassandra.migrate", true, "apply schema migrations at startup (else run `groupsvc migrate`)")

	fs.IntVar(&c.DefaultLimit, "groups.default-limit", 256, "size limit of groups whose owners set none, until a platform admin sets one")
	fs.IntVar(&c.Ceiling, "groups.ceiling", 1024, "largest size limit a group may have, until a platform admin sets one")
	fs.IntVar(&c.MaxCeiling, "groups.max-ceiling", 10000, "largest ceiling platform admins may set (messagesvc takes group events naming up to 10,000 users)")
	fs.IntVar(&c.MaxBatch, "groups.max-batch", 100, "most users one create or add request names")

	fs.StringVar(&c.AuthURL, "groups.auth-url", "http://127.0.0.1:7101", "authsvc, asked whether added users exist; empty: not checked")
	fs.DurationVar(&c.AuthTimeout, "groups.auth-timeout", 2*time.Second, "timeout of one call to authsvc")
	fs.StringVar(&c.MessagesURL, "groups.messages-url", "http://127.0.0.1:7102", "messagesvc, which takes group events; empty: events are dropped")
	fs.DurationVar(&c.MessagesTimeout, "groups.messages-timeout", 5*time.Second, "timeout of one group event post")
	fs.DurationVar(&c.DispatchInterval, "groups.dispatch-interval", time.Second, "how often the outbox is scanned for events left behind (retries, other replicas' crashes)")
	fs.IntVar(&c.NodeID, "groups.node-id", -1, "ids node of this replica, unique among live replicas (0–1023; -1 picks one at random)")
}

// Validate checks the -groups.* settings.
func (c *GroupsConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Backend {
	case "embedded":
		if c.DataDir == "" {
			bad("groups.data-dir is required with the embedded store")
		}
	case "cassandra":
		if err := c.cassandra().Validate(); err != nil {
			bad("groups.cassandra: %w", err)
		}
	default:
		bad("groups.store.backend: %q is not embedded or cassandra", c.Backend)
	}
	if c.MaxCeiling < entity.MinLimit {
		bad("groups.max-ceiling must be at least %d", entity.MinLimit)
	}
	if err := c.limits().Validate(c.MaxCeiling); err != nil {
		bad("groups.default-limit and groups.ceiling: %v", err)
	}
	if c.MaxBatch < 1 || c.MaxBatch > 1000 {
		bad("groups.max-batch must be between 1 and 1000")
	}
	for name, u := range map[string]string{"groups.auth-url": c.AuthURL, "groups.messages-url": c.MessagesURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") {
			bad("%s: %q is not an http(s) URL", name, u)
		}
	}
	if c.AuthTimeout <= 0 || c.MessagesTimeout <= 0 || c.DispatchInterval <= 0 {
		bad("groups.auth-timeout, groups.messages-timeout and groups.dispatch-interval must be positive")
	}
	if c.NodeID < -1 || c.NodeID > ids.MaxNode {
		bad("groups.node-id must be -1 or 0..%d", ids.MaxNode)
	}
	return errors.Join(errs...)
}

func (c *GroupsConfig) limits() entity.PlatformLimits {
	return entity.PlatformLimits{Default: c.DefaultLimit, Ceiling: c.Ceiling}
}

func (c *GroupsConfig) cassandra() cassandra.Config {
	cc := c.Cassandra
	return cassandra.Config{Hosts: cc.Hosts, DC: cc.DC, Keyspace: cc.Keyspace, Replication: cc.Replication,
		Timeout: cc.Timeout, ConnectTimeout: cc.ConnectTimeout}
}

func (c *GroupsConfig) usecase() usecase.Config {
	return usecase.Config{Limits: c.limits(), HardMax: c.MaxCeiling, MaxBatch: c.MaxBatch}
}
