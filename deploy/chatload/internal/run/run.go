package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/account"
	"github.com/parleychat/parley/deploy/chatload/internal/load"
	"github.com/parleychat/parley/deploy/chatload/internal/procstat"
	"github.com/parleychat/parley/deploy/chatload/internal/report"
	"github.com/parleychat/parley/deploy/chatload/internal/stats"
)

// Main parses args, runs, and returns the exit code: 0 on success, 1 when
// the run found a correctness failure (or could not run), 2 on bad flags.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintln(stderr, "chatload:", err)
		return 2
	}
	settings := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "password" {
			settings[f.Name] = f.Value.String()
		}
	})
	if c.RunID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.RunID = hex.EncodeToString(b[:])
	}
	var (
		res *report.Result
		err error
	)
	if c.Procs > 1 && c.Shard == "" {
		res, err = drive(ctx, &c, args, settings, stderr)
	} else {
		res, err = runOne(ctx, &c, settings, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatload:", err)
		if res == nil {
			return 1
		}
		res.Failures = append(res.Failures, err.Error())
	}
	if err := save(&c, res); err != nil {
		fmt.Fprintln(stderr, "chatload:", err)
		return 1
	}
	if c.Shard == "" {
		printSummary(stderr, &c, res)
	}
	if len(res.Failures) > 0 {
		return 1
	}
	return 0
}

func save(c *Config, res *report.Result) error {
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return err
	}
	if err := res.Save(filepath.Join(c.Out, "result.json")); err != nil {
		return err
	}
	if c.Shard == "" {
		return res.SaveHTML(filepath.Join(c.Out, "report.html"))
	}
	return nil
}

func printSummary(w io.Writer, c *Config, r *report.Result) {
	fmt.Fprintf(w, "\n== chatload %s, run %s, %.1f s ==\n", r.Scenario, r.RunID, r.End.Sub(r.Start).Seconds())
	for _, k := range []string{"e2e", "ack", "delivered_receipt", "read_receipt", "ping", "connect"} {
		if s, ok := r.Latency[k]; ok {
			fmt.Fprintf(w, "%-18s %s\n", k, s)
		}
	}
	var keys []string
	for k := range r.Figures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%-34s %.4g\n", k, r.Figures[k])
	}
	for _, p := range r.Processes {
		fmt.Fprintf(w, "process %-14s cpu %.2fs  %.1f µs/op  rss %.1f→%.1f MiB  %.0f B/conn %s\n", p.Name, p.CPUSeconds, p.CPUPerOpUS,
			float64(p.RSSBefore)/(1<<20), float64(p.RSSAfter)/(1<<20), p.RSSPerConnB, p.Error)
	}
	for _, s := range r.Steps {
		fmt.Fprintf(w, "step %6.0f/s sent %d errors %d e2e p50 %.2f p99 %.2f p99.9 %.2f ms passed=%t %s\n", s.Rate, s.Sent, s.Errors,
			s.Latency.P50Ms, s.Latency.P99Ms, s.Latency.P999Ms, s.Passed, s.Why)
	}
	cs := r.Counters
	fmt.Fprintf(w, "sent %d acked %d failed %d delivered %d dup(before dedupe) %d visible-dup %d lost %d\n",
		cs["sent"], cs["acked"], cs["send_failed"], cs["delivered"], cs["duplicates"], cs["visible_duplicates"], cs["lost"])
	if v := r.Verdict; v != nil {
		fmt.Fprintf(w, "verdict: expected %d delivered %d lost %d late-by-final-sync %d missing-received-receipts %d read-receipts-lost %d\n",
			v.Expected, v.Delivered, v.Lost, v.LateBySync, v.MissingReceived, v.ReadReceiptsLost)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if len(r.Failures) == 0 {
		fmt.Fprintln(w, "RESULT: OK")
	} else {
		for _, f := range r.Failures {
			fmt.Fprintln(w, "FAILURE:", f)
		}
		fmt.Fprintln(w, "RESULT: FAILED")
	}
	fmt.Fprintf(w, "files: %s, %s\n", filepath.Join(c.Out, "result.json"), filepath.Join(c.Out, "report.html"))
}

// users returns the user indexes this shard owns and how they group:
// pairs, groups or single users.
func (c *Config) users() (owned []int, unit int) {
	i, n, _ := c.shard()
	switch c.Scenario {
	case "idle":
		for u := i; u < c.Users; u += n {
			owned = append(owned, u)
		}
		return owned, 1
	case "group":
		for g := i; g < c.Groups; g += n {
			for m := 0; m < c.GroupSize; m++ {
				owned = append(owned, g*c.GroupSize+m)
			}
		}
		return owned, c.GroupSize
	default:
		for p := i; p < c.Pairs; p += n {
			owned = append(owned, 2*p, 2*p+1)
		}
		return owned, 2
	}
}

// needValid is how long provisioned tokens must stay valid.
func (c *Config) needValid() time.Duration {
	d := c.Duration + c.Drain + c.MaxTokenMargin
	if rs, _ := c.rates(); len(rs) > 1 {
		d += time.Duration(len(rs)) * (c.StepDur + c.Settle)
	}
	return d
}

func (c *Config) sources() ([]net.IP, error) { return load.ParseSources(c.Sources) }

func (c *Config) apis() ([]*account.API, error) {
	base := c.API
	if base == "" {
		base = c.gatewayList()[0]
	}
	srcs, err := c.sources()
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return []*account.API{account.NewAPI(base, nil)}, nil
	}
	var out []*account.API
	for _, ip := range srcs {
		out = append(out, account.NewAPI(base, ip))
	}
	return out, nil
}

// provision loads the cache, makes sure every owned user has a valid
// token, and saves the cache (unless read-only).
func provision(ctx context.Context, c *Config, owned []int, stderr io.Writer) ([]*account.Account, error) {
	apis, err := c.apis()
	if err != nil {
		return nil, err
	}
	cache, err := account.Load(c.Accounts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	last := time.Now()
	accs, err := account.Provision(ctx, apis, cache, account.Options{Prefix: c.UserPrefix, Password: c.Password, Users: owned,
		ValidFor: c.needValid(), Concurrency: c.ProvisionConc, Progress: func(done, renewed, created int) {
			if time.Since(last) > 2*time.Second {
				last = time.Now()
				fmt.Fprintf(stderr, "provision: %d/%d accounts (%d renewed, %d created)\n", done, len(owned), renewed, created)
			}
		}})
	if !c.CacheReadOnly {
		if serr := cache.Save(c.Accounts); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return nil, err
	}
	if time.Since(start) > 2*time.Second {
		fmt.Fprintf(stderr, "provision: %d accounts ready in %.1fs\n", len(accs), time.Since(start).Seconds())
	}
	return accs, nil
}

func (c *Config) procs() ([]procstat.Proc, error) {
	gws, err := procstat.ParseList(c.GatewayPids, "gateway")
	if err != nil {
		return nil, err
	}
	others, err := procstat.ParseList(c.Pids, "proc")
	if err != nil {
		return nil, err
	}
	return append(gws, others...), nil
}

// runOne runs the scenario in this process (all of it, or one shard).
func runOne(ctx context.Context, c *Config, settings map[string]string, stderr io.Writer) (*report.Result, error) {
	owned, _ := c.users()
	accs, err := provision(ctx, c, owned, stderr)
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	srcs, _ := c.sources()
	apis, _ := c.apis()
	rec := stats.NewRecorder()
	env := &load.Env{Sources: srcs, APIs: apis, Rec: rec, RunID: c.RunID, Base: time.Now(), AckDelay: c.AckDelay,
		Reconnect: c.Reconnects, Verbose: c.Verbose}
	if _, n, _ := c.shard(); n > 1 {
		i, _, _ := c.shard()
		env.RunID = fmt.Sprintf("%s-%d", c.RunID, i)
	}
	for _, g := range c.gatewayList() {
		env.Gateways = append(env.Gateways, wsURL(g))
	}
	devs := make([]*load.Device, len(owned))
	for i, u := range owned {
		devs[i] = load.NewDevice(env, u, accs[i])
	}
	procs, err := c.procs()
	if err != nil {
		return nil, err
	}
	res := &report.Result{Scenario: c.Scenario, RunID: c.RunID, Shard: c.Shard, Start: time.Now(), Settings: settings,
		Figures: map[string]float64{}}
	self := procstat.Begin([]procstat.Proc{{Name: "chatload", PID: os.Getpid()}})
	rec.Start(time.Second, nil)
	stopProgress := progress(ctx, c, rec, stderr)
	s := &scenario{c: c, env: env, devs: devs, rec: rec, res: res, procs: procs, stderr: stderr, m: &meter{procs: procs}}
	if c.BarrierDir != "" {
		i, _, _ := c.shard()
		s.bar = &barrier{dir: c.BarrierDir, shard: i}
	}
	switch c.Scenario {
	case "idle":
		err = s.idle(ctx)
	case "direct", "receipts", "soak", "group":
		err = s.messaging(ctx)
	case "reconnect":
		err = s.reconnect(ctx)
	}
	stopProgress()
	rec.Stop()
	res.End = time.Now()
	if u := self.End(0, 0); len(u) == 1 {
		res.Figures["client_cpu_s"] = u[0].CPUSeconds
	}
	res.Fill(rec)
	if s.bar == nil {
		conns, ops := opsFor(c.Scenario, res, s.m)
		s.m.apply(res, conns, ops, c.Scenario == "idle")
	}
	if v, ok := res.Counters["lost"]; ok && v > 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("%d acknowledged deliveries lost", v))
	}
	if v := res.Counters["visible_duplicates"]; v > 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("%d user-visible duplicates (one send stored under two message ids)", v))
	}
	return res, err
}

// progress prints a live line every c.Progress until the returned func runs.
func progress(ctx context.Context, c *Config, rec *stats.Recorder, w io.Writer) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(c.Progress)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cs := rec.Counters()
			line := fmt.Sprintf("[%s %5.0fs] conn %d", c.Scenario, time.Since(start).Seconds(), cs["connected"])
			if cs["sent"] > 0 {
				line += fmt.Sprintf(" sent %d acked %d delivered %d dup %d failed %d retries %d", cs["sent"], cs["acked"], cs["delivered"],
					cs["duplicates"], cs["send_failed"], cs["send_retries"])
			}
			if s := rec.Series(); len(s) > 0 {
				last := s[len(s)-1]
				for _, k := range []string{"e2e", "ping", "connect"} {
					if l, ok := last.Latency[k]; ok {
						line += fmt.Sprintf(" %s p50 %.1fms p99 %.1fms", k, l.P50Ms, l.P99Ms)
						break
					}
				}
			}
			if cs["error_frames"]+cs["connect_errors"]+cs["disconnects"] > 0 {
				line += fmt.Sprintf(" errframes %d connerr %d disconnects %d", cs["error_frames"], cs["connect_errors"], cs["disconnects"])
			}
			if c.Shard != "" {
				line = "shard " + c.Shard + " " + line
			}
			fmt.Fprintln(w, line)
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}
