// Package run is chatload's command line: flags, account provisioning, the
// scenarios, the driver that spreads clients over several processes, and
// the result files.
package run

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is every flag of chatload.
type Config struct {
	Scenario string
	Gateways string // comma-separated http(s) base URLs
	API      string
	Sources  string

	Users      int // idle: connections
	Pairs      int // direct, receipts, reconnect, soak
	Groups     int
	GroupSize  int
	Rate       float64 // total messages per second
	Ramp       string  // comma-separated rates
	StepDur    time.Duration
	Duration   time.Duration
	Warmup     time.Duration
	Drain      time.Duration
	MaxP99     time.Duration
	MaxErrors  int64
	BodyBytes  int
	AckDelay   time.Duration
	Inflight   int
	Settle     time.Duration
	ConnRate   float64
	ConnConc   int
	PingEvery  time.Duration
	IdleSync   bool
	Reconnects bool

	ReconnectMode    string
	ReconnectGateway int
	ReconnectPID     int
	ReconnectTimeout time.Duration

	SoakDropEvery time.Duration
	SoakDropCount int

	Accounts       string
	CacheReadOnly  bool
	UserPrefix     string
	Password       string
	ProvisionConc  int
	Pids           string
	GatewayPids    string
	Out            string
	Shard          string
	Procs          int
	Progress       time.Duration
	Verbose        bool
	RunID          string
	MaxTokenMargin time.Duration
	BarrierDir     string
}

// RegisterFlags registers chatload's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Scenario, "scenario", "direct", "idle, direct, group, receipts, reconnect or soak")
	fs.StringVar(&c.Gateways, "gateways", "http://127.0.0.1:8080", "gateway base URLs, comma-separated; clients are spread across them (WebSocket at /v1/ws)")
	fs.StringVar(&c.API, "api", "", "public API base URL for sign-up/sign-in (default: the first gateway)")
	fs.StringVar(&c.Sources, "sources", "", "local addresses to connect from, e.g. 127.0.0.2-127.0.0.9 (each source/gateway pair has ~28k ports)")

	fs.IntVar(&c.Users, "users", 1000, "idle: connections (users) held")
	fs.IntVar(&c.Pairs, "pairs", 100, "direct, receipts, reconnect, soak: 1:1 pairs (2 users each)")
	fs.IntVar(&c.Groups, "groups", 10, "group: number of groups")
	fs.IntVar(&c.GroupSize, "group-size", 10, "group: members per group")
	fs.Float64Var(&c.Rate, "rate", 100, "messages per second in total (all client processes together)")
	fs.StringVar(&c.Ramp, "ramp", "", "direct/group/receipts: comma-separated total rates, each held -step; stops at the first step past -max-p99 or -max-errors")
	fs.DurationVar(&c.StepDur, "step", 30*time.Second, "duration of one ramp step")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long the scenario sends (idle: holds) after connecting")
	fs.DurationVar(&c.Warmup, "warmup", 3*time.Second, "reconnect: traffic before the kill")
	fs.DurationVar(&c.Drain, "drain", 30*time.Second, "after sending stops, how long to wait for deliveries before the final sync")
	fs.DurationVar(&c.MaxP99, "max-p99", 0, "ramp bound on a step's end-to-end p99 (0: none)")
	fs.Int64Var(&c.MaxErrors, "max-errors", 0, "ramp bound on a step's send errors")
	fs.IntVar(&c.BodyBytes, "body-bytes", 64, "message body size")
	fs.DurationVar(&c.AckDelay, "ack-delay", 10*time.Millisecond, "recipients acknowledge received messages in batches over this window (0: no received acks)")
	fs.IntVar(&c.Inflight, "max-inflight", 20000, "sends in flight per process; the schedule waits beyond it (latency counts from the planned time)")
	fs.DurationVar(&c.Settle, "settle", 3*time.Second, "pause after each ramp step before judging it")
	fs.Float64Var(&c.ConnRate, "connect-rate", 2000, "new connections per second in total")
	fs.IntVar(&c.ConnConc, "connect-concurrency", 256, "connection attempts in flight per process")
	fs.DurationVar(&c.PingEvery, "ping-every", 25*time.Second, "idle: each connection sends a protocol ping this often (RTT histogram)")
	fs.BoolVar(&c.IdleSync, "idle.sync", false, "idle: sync after connecting (a real client does; costs messagesvc a call per connection)")
	fs.BoolVar(&c.Reconnects, "reconnect-clients", true, "clients whose connection is lost reconnect (backoff with jitter) and resume")

	fs.StringVar(&c.ReconnectMode, "reconnect.mode", "kill", "reconnect: kill (SIGKILL -reconnect.pid), term (SIGTERM: drain) or drop (clients drop their sockets)")
	fs.IntVar(&c.ReconnectGateway, "reconnect.gateway", 0, "reconnect: index in -gateways of the gateway whose clients are the victims")
	fs.IntVar(&c.ReconnectPID, "reconnect.pid", 0, "reconnect: pid of that gateway (kill, term)")
	fs.DurationVar(&c.ReconnectTimeout, "reconnect.timeout", 60*time.Second, "reconnect: how long the victims get to be back, routed and caught up")

	fs.DurationVar(&c.SoakDropEvery, "soak.drop-every", 30*time.Second, "soak: how often some clients drop their connection")
	fs.IntVar(&c.SoakDropCount, "soak.drop-count", 10, "soak: clients dropped each time")

	fs.StringVar(&c.Accounts, "accounts", "chatload-accounts.jsonl", "credentials cache (JSON lines, mode 0600): reused across runs")
	fs.BoolVar(&c.CacheReadOnly, "accounts.readonly", false, "never write the credentials cache (driver children)")
	fs.StringVar(&c.UserPrefix, "user-prefix", "cl", "usernames are <prefix><index>")
	fs.StringVar(&c.Password, "password", "chatload-password-1", "password of every load account")
	fs.IntVar(&c.ProvisionConc, "provision-concurrency", 32, "sign-ups/sign-ins in flight")
	fs.StringVar(&c.Pids, "pids", "", "processes to measure, name=pid,… (router=…, messagesvc=…, cassandra=<java pid>)")
	fs.StringVar(&c.GatewayPids, "gateway-pids", "", "gateway pids, comma-separated (named gateway-1, …): memory per connection and CPU per op")
	fs.StringVar(&c.Out, "out", "chatload-out", "directory for result.json and report.html")
	fs.StringVar(&c.Shard, "shard", "", "i/n: run only this process's share of users and rate")
	fs.IntVar(&c.Procs, "procs", 1, "driver mode: run N client processes (each -shard i/N) and merge their results")
	fs.DurationVar(&c.Progress, "progress", 2*time.Second, "progress line interval on stderr")
	fs.BoolVar(&c.Verbose, "v", false, "log connection problems")
	fs.StringVar(&c.RunID, "run-id", "", "run id tagging message bodies (default: random)")
	fs.StringVar(&c.BarrierDir, "barrier-dir", "", "internal: the driver's barrier directory (set for child processes)")
	fs.DurationVar(&c.MaxTokenMargin, "token-margin", 2*time.Minute, "renew cached access tokens that expire sooner than the run plus this")
}

// Validate checks the flags.
func (c *Config) Validate() error {
	var errs []error
	switch c.Scenario {
	case "idle", "direct", "group", "receipts", "reconnect", "soak":
	default:
		errs = append(errs, fmt.Errorf("unknown -scenario %q", c.Scenario))
	}
	if len(c.gatewayList()) == 0 {
		errs = append(errs, errors.New("-gateways is empty"))
	}
	if _, _, err := c.shard(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.rates(); err != nil {
		errs = append(errs, err)
	}
	if c.Procs < 1 {
		errs = append(errs, errors.New("-procs must be ≥ 1"))
	}
	if c.Scenario == "reconnect" && c.ReconnectMode != "drop" && c.ReconnectPID <= 0 {
		errs = append(errs, errors.New("-reconnect.pid is required with -reconnect.mode kill or term"))
	}
	return errors.Join(errs...)
}

func (c *Config) gatewayList() []string {
	var out []string
	for _, g := range strings.Split(c.Gateways, ",") {
		if g = strings.TrimRight(strings.TrimSpace(g), "/"); g != "" {
			out = append(out, g)
		}
	}
	return out
}

func wsURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + strings.TrimPrefix(base, "https://") + "/v1/ws"
	case strings.HasPrefix(base, "http://"):
		return "ws://" + strings.TrimPrefix(base, "http://") + "/v1/ws"
	}
	return base
}

// shard returns this process's index and the number of processes.
func (c *Config) shard() (int, int, error) {
	if c.Shard == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(c.Shard, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("bad -shard %q: want i/n with 0 ≤ i < n", c.Shard)
	}
	return i, n, nil
}

// rates returns the ramp's total rates, or just -rate.
func (c *Config) rates() ([]float64, error) {
	if c.Ramp == "" {
		return []float64{c.Rate}, nil
	}
	var out []float64
	for _, s := range strings.Split(c.Ramp, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("bad -ramp rate %q", s)
		}
		out = append(out, r)
	}
	if len(out) > 32 {
		return nil, errors.New("-ramp has more than 32 steps")
	}
	return out, nil
}
