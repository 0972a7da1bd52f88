package module

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"time"

	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
)

// Config is the whole configuration of messagesvc.
type Config struct {
	kit.BaseConfig

	// NodeID is this replica's ids node (0–1023); -1 picks one at random.
	// Replicas must not share one: ids would collide.
	NodeID int

	Backend   string
	DataDir   string
	Cassandra CassandraConfig

	RouterURL string
	AuthURL   string
	GroupsURL string
	Group     GroupConfig // config_groups.go
	// MediaURL is mediasvc, which attachments are attached through; empty:
	// attachment ids are stored as sent.
	MediaURL string

	PushQueue   int
	PushWorkers int
	PushTimeout time.Duration
	CallTimeout time.Duration

	MaxBodyChars  int
	MaxFrameBytes int
}

// CassandraConfig configures the Cassandra store.
type CassandraConfig struct {
	Hosts       config.StringList
	DC          string
	Keyspace    string
	Replication string
	Timeout     time.Duration
	Migrate     bool
}

// RegisterFlags registers every flag of messagesvc.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.BaseConfig.RegisterFlags(fs, "127.0.0.1:7102")
	fs.IntVar(&c.NodeID, "messages.node-id", -1, "ids node of this replica, 0-1023, distinct per replica (-1: random, logged)")
	fs.StringVar(&c.Backend, "messages.store.backend", "embedded", "store: embedded (bbolt file, one machine) or cassandra")
	fs.StringVar(&c.DataDir, "messages.data-dir", "./data/messagesvc", "directory of the embedded store")
	fs.Var(&c.Cassandra.Hosts, "messages.cassandra.hosts", "Cassandra contact points, host[:port], comma-separated")
	fs.StringVar(&c.Cassandra.DC, "messages.cassandra.dc", "datacenter1", "local data center (DC-aware, token-aware routing)")
	fs.StringVar(&c.Cassandra.Keyspace, "messages.cassandra.keyspace", "parley_messages", "keyspace")
	fs.StringVar(&c.Cassandra.Replication, "messages.cassandra.replication", "", "replication map used when the keyspace is created (default: NetworkTopologyStrategy, 1 replica in the local DC; production: 3 per DC)")
	fs.DurationVar(&c.Cassandra.Timeout, "messages.cassandra.timeout", 5*time.Second, "per request and per connection attempt")
	fs.BoolVar(&c.Cassandra.Migrate, "messages.cassandra.migrate", true, "apply schema migrations at startup")
	fs.StringVar(&c.RouterURL, "messages.router-url", "http://127.0.0.1:7106", "the region's router, for pushes")
	fs.StringVar(&c.AuthURL, "messages.auth-url", "http://127.0.0.1:7101", "authsvc, to check that recipients exist")
	fs.StringVar(&c.MediaURL, "messages.media-url", "", "mediasvc, to attach media to messages (empty: attachment ids are stored unchecked, without metadata)")
	fs.StringVar(&c.GroupsURL, "messages.groups-url", "", "groupsvc, for group membership (empty: group conversations unavailable)")
	c.Group.registerFlags(fs)
	fs.IntVar(&c.PushQueue, "messages.push-queue", 10_000, "pushes waiting for the router; beyond it pushes are dropped (recipients sync)")
	fs.IntVar(&c.PushWorkers, "messages.push-workers", 4, "concurrent router calls")
	fs.DurationVar(&c.PushTimeout, "messages.push-timeout", 3*time.Second, "timeout of one router call")
	fs.DurationVar(&c.CallTimeout, "messages.call-timeout", 3*time.Second, "timeout of calls to authsvc and groupsvc")
	fs.IntVar(&c.MaxBodyChars, "messages.max-body-chars", protocol.DefaultLimits().MaxBodyChars, "longest message body; keep equal to the gateways'")
	fs.IntVar(&c.MaxFrameBytes, "messages.max-frame-bytes", protocol.DefaultLimits().MaxFrameBytes, "largest frame; keep equal to the gateways'")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	errsOut := []error{c.BaseConfig.Validate()}
	if c.NodeID < -1 || c.NodeID > ids.MaxNode {
		errsOut = append(errsOut, fmt.Errorf("messages.node-id %d: want -1 or 0..%d", c.NodeID, ids.MaxNode))
	}
	switch c.Backend {
	case "embedded":
		if c.DataDir == "" {
			errsOut = append(errsOut, errors.New("messages.data-dir is required with the embedded store"))
		}
	case "cassandra":
		if len(c.Cassandra.Hosts) == 0 || c.Cassandra.DC == "" {
			errsOut = append(errsOut, errors.New("messages.cassandra.hosts and messages.cassandra.dc are required with the cassandra store"))
		}
	default:
		errsOut = append(errsOut, fmt.Errorf("messages.store.backend %q: want embedded or cassandra", c.Backend))
	}
	for name, u := range map[string]string{"messages.router-url": c.RouterURL, "messages.auth-url": c.AuthURL, "messages.groups-url": c.GroupsURL,
		"messages.media-url": c.MediaURL} {
		if u == "" && (name == "messages.groups-url" || name == "messages.media-url") {
			continue
		}
		if p, err := url.Parse(u); err != nil || p.Host == "" {
			errsOut = append(errsOut, fmt.Errorf("%s: %q is not an http(s) URL", name, u))
		}
	}
	if c.PushQueue < 1 || c.PushWorkers < 1 || c.PushTimeout <= 0 || c.CallTimeout <= 0 {
		errsOut = append(errsOut, errors.New("messages.push-queue, push-workers, push-timeout and call-timeout must be positive"))
	}
	errsOut = append(errsOut, c.Group.validate())
	if err := c.limits().Validate(); err != nil {
		errsOut = append(errsOut, err)
	}
	return errors.Join(errsOut...)
}

// Base returns the common service settings.
func (c *Config) Base() *kit.BaseConfig { return &c.BaseConfig }

func (c *Config) limits() protocol.Limits {
	l := protocol.DefaultLimits()
	l.MaxBodyChars, l.MaxFrameBytes = c.MaxBodyChars, c.MaxFrameBytes
	return l
}
