package run

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/load"
	"github.com/parleychat/parley/deploy/chatload/internal/procstat"
	"github.com/parleychat/parley/deploy/chatload/internal/report"
	"github.com/parleychat/parley/deploy/chatload/internal/stats"
)

// scenario is one process's run of a scenario.
type scenario struct {
	c      *Config
	env    *load.Env
	devs   []*load.Device
	rec    *stats.Recorder
	res    *report.Result
	procs  []procstat.Proc
	stderr io.Writer
	m      *meter
	// sync barriers with the driver (nil when running alone).
	bar *barrier
}

func (s *scenario) logf(format string, args ...any) {
	prefix := ""
	if s.c.Shard != "" {
		prefix = "shard " + s.c.Shard + " "
	}
	fmt.Fprintf(s.stderr, prefix+format+"\n", args...)
}

// connectAll connects every device at the configured rate (this process's
// share of it) and starts its supervisor; it returns how many connected.
func (s *scenario) connectAll(ctx, runCtx context.Context, doSync bool) int {
	_, n, _ := s.c.shard()
	rate := s.c.ConnRate / float64(n)
	interval := time.Duration(float64(time.Second) / rate)
	var ok atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, s.c.ConnConc))
	start := time.Now()
	for i, d := range s.devs {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > time.Millisecond {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			for attempt := 0; attempt < 5; attempt++ {
				if err = d.Connect(ctx, doSync); err == nil {
					break
				}
				time.Sleep(time.Duration(200*(attempt+1)) * time.Millisecond)
			}
			if err != nil {
				s.rec.Counter("connect_failed").Add(1)
				if s.c.Verbose {
					s.logf("connect user %d: %v", d.Idx, err)
				}
				return
			}
			ok.Add(1)
			go d.Supervise(runCtx, doSync)
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

// closeAll ends every connection (cancel of runCtx) and waits a little for
// the closes to go out.
func (s *scenario) closeAll(cancel context.CancelFunc) {
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for s.rec.Counter("connected").Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *scenario) idle(ctx context.Context) error {
	s.m.start()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	ok := s.connectAll(ctx, runCtx, s.c.IdleSync)
	dt := time.Since(t0)
	s.res.Figures["connections"] = float64(ok)
	s.res.Figures["connect_seconds"] = dt.Seconds()
	s.res.Figures["connect_rate_per_s"] = float64(ok) / dt.Seconds()
	if ok < len(s.devs) {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d of %d connections failed", len(s.devs)-ok, len(s.devs)))
	}
	s.logf("idle: %d connections in %.1fs; holding %v", ok, dt.Seconds(), s.c.Duration)
	time.Sleep(3 * time.Second) // let the gateways' memory settle before it is read
	s.phase("connected")
	disc0 := s.rec.Counter("disconnects").Load()
	ping := s.rec.Latency("ping")
	pingErrs := s.rec.Counter("ping_errors")
	holdCtx, stopHold := context.WithTimeout(ctx, s.c.Duration)
	var wg sync.WaitGroup
	for _, d := range s.devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !sleepCtx(holdCtx, time.Duration(rand.Int64N(int64(s.c.PingEvery)))) {
				return
			}
			t := time.NewTicker(s.c.PingEvery)
			defer t.Stop()
			for {
				pctx, c := context.WithTimeout(holdCtx, 2*s.c.PingEvery)
				rtt, err := d.Ping(pctx)
				c()
				if holdCtx.Err() != nil {
					return
				}
				if err != nil {
					pingErrs.Add(1)
				} else {
					ping.Record(rtt)
				}
				select {
				case <-holdCtx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
	stopHold()
	s.phase("worked")
	if d := s.rec.Counter("disconnects").Load() - disc0; d > 0 {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("%d connections were lost while idle", d))
		if !s.c.Reconnects {
			s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d idle connections lost", d))
		}
	}
	if e := pingErrs.Load(); e > 0 {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d pings unanswered", e))
	}
	s.closeAll(cancel)
	return nil
}

// buildConvs pairs the devices (or groups them) into conversations.
func (s *scenario) buildConvs(ctx context.Context) ([]*load.Conv, error) {
	var convs []*load.Conv
	if s.c.Scenario == "group" {
		return s.buildGroups(ctx)
	}
	for i := 0; i+1 < len(s.devs); i += 2 {
		c, err := load.NewConv("", []*load.Device{s.devs[i], s.devs[i+1]})
		if err != nil {
			return nil, err
		}
		convs = append(convs, c)
	}
	return convs, nil
}

func (s *scenario) steps() []load.Step {
	_, n, _ := s.c.shard()
	rates, _ := s.c.rates()
	var out []load.Step
	for _, r := range rates {
		d := s.c.Duration
		if len(rates) > 1 {
			d = s.c.StepDur
		}
		out = append(out, load.Step{Rate: r / float64(n), Duration: d})
	}
	return out
}

// messaging runs direct, receipts, group and soak: connect, send on the
// schedule, drain, verify.
func (s *scenario) messaging(ctx context.Context) error {
	convs, err := s.buildConvs(ctx)
	if err != nil {
		return err
	}
	t := load.NewTracker(s.env, convs, s.c.BodyBytes, s.c.Inflight)
	t.Read = s.c.Scenario == "receipts" || s.c.Scenario == "soak"
	t.CheckReceivedReceipts = s.c.AckDelay > 0 && s.c.Scenario != "group"
	s.m.start()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	ok := s.connectAll(ctx, runCtx, true)
	s.res.Figures["connections"] = float64(ok)
	s.res.Figures["connect_seconds"] = time.Since(t0).Seconds()
	if ok < len(s.devs) {
		return fmt.Errorf("%d of %d clients could not connect", len(s.devs)-ok, len(s.devs))
	}
	s.checkRateLimits()
	s.phase("connected")
	steps := s.steps()
	var sendFor time.Duration
	for _, st := range steps {
		sendFor += st.Duration + s.c.Settle
	}
	drainCtx, stopDrain := context.WithTimeout(ctx, sendFor+s.c.Drain+time.Minute)
	defer stopDrain()
	if s.c.Scenario == "soak" {
		go s.soakDrops(ctx, sendFor)
	}
	sendStart := time.Now()
	res := t.Drive(ctx, drainCtx, steps, load.Bounds{MaxP99: s.c.MaxP99, MaxErrs: s.c.MaxErrors, Settle: s.c.Settle,
		Progress: func(line string) { s.logf("%s", line) }})
	s.res.Steps = res
	sendDur := time.Since(sendStart)
	v := t.Finish(ctx, s.c.Drain, func(line string) { s.logf("%s", line) },
		func() { s.phase("worked") })
	s.res.Verdict = &v
	if v.LateBySync > 0 {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("%d deliveries reached a connected device only through the final sync (not pushed live after its sync completed)", v.LateBySync))
	}
	s.res.Figures["send_seconds"] = sendDur.Seconds()
	s.res.Figures["acked_per_s"] = float64(v.Acked) / sendDur.Seconds()
	s.res.Figures["deliveries_per_s"] = float64(v.Delivered) / sendDur.Seconds()
	if len(res) > 1 {
		best := 0.0
		for _, r := range res {
			if r.Passed {
				best = r.Rate // this process's share; the driver adds them up
			}
		}
		s.res.Figures["max_passing_rate"] = best
	}
	if v.Lost > 0 {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d of %d acknowledged deliveries never arrived (after drain %v and a final sync)", v.Lost, v.Expected, s.c.Drain))
	}
	if v.MissingReceived > 0 {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d delivered messages never got a received receipt at the sender", v.MissingReceived))
	}
	if v.ReadReceiptsLost > 0 {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d conversations: the sender never saw the last read receipt", v.ReadReceiptsLost))
	}
	if len(res) == 1 && v.Failed > 0 {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d sends failed (not acknowledged)", v.Failed))
	}
	s.closeAll(cancel)
	return nil
}

// checkRateLimits warns when a sender would exceed the gateway's per
// connection send limit (announced in welcome).
func (s *scenario) checkRateLimits() {
	w := s.devs[0].Welcome()
	if w == nil {
		return
	}
	_, n, _ := s.c.shard()
	rates, _ := s.c.rates()
	top := 0.0
	for _, r := range rates {
		top = max(top, r/float64(n))
	}
	perConn := top / float64(len(s.devs))
	if l, ok := w.RateLimits["send"]; ok && perConn*60 > float64(l.PerMinute) {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("each client sends %.1f/min, above the gateway's send limit %d/min: expect rate_limited retries (raise -gateway.rate-limits or add pairs)", perConn*60, l.PerMinute))
		s.logf("warning: %s", s.res.Notes[len(s.res.Notes)-1])
	}
}

// soakDrops drops a few random clients every interval; they reconnect and
// resume from their cursor.
func (s *scenario) soakDrops(ctx context.Context, total time.Duration) {
	end := time.Now().Add(total)
	for time.Now().Before(end) {
		if !sleepCtx(ctx, s.c.SoakDropEvery) {
			return
		}
		for i := 0; i < s.c.SoakDropCount && len(s.devs) > 0; i++ {
			s.devs[rand.IntN(len(s.devs))].Drop()
			s.rec.Counter("soak_drops").Add(1)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
