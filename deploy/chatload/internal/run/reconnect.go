package run

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/load"
)

// reconnect connects pairs, keeps traffic flowing, takes the clients of one
// gateway away (SIGKILL or SIGTERM to the gateway, or the clients drop their
// sockets), and measures how long until every one of them is back
// (authenticated on another gateway), caught up (sync finished) and routed
// (a live push reached it; each victim's partner sends it a probe once it
// has caught up). The run fails if any victim is not back in time or any
// acknowledged message is lost.
func (s *scenario) reconnect(ctx context.Context) error {
	convs, err := s.buildConvs(ctx)
	if err != nil {
		return err
	}
	t := load.NewTracker(s.env, convs, s.c.BodyBytes, s.c.Inflight)
	t.CheckReceivedReceipts = s.c.AckDelay > 0
	s.m.start()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if ok := s.connectAll(ctx, runCtx, true); ok < len(s.devs) {
		return fmt.Errorf("%d of %d clients could not connect", len(s.devs)-ok, len(s.devs))
	}
	s.phase("connected")
	var victims []int
	for i, d := range s.devs {
		if d.Gateway() == s.c.ReconnectGateway {
			victims = append(victims, i)
		}
	}
	s.res.Figures["victims"] = float64(len(victims))
	if len(victims) == 0 {
		return fmt.Errorf("no client is on gateway %d", s.c.ReconnectGateway)
	}
	total := max(s.c.Duration, s.c.Warmup+s.c.ReconnectTimeout/2)
	drainCtx, stopDrain := context.WithTimeout(ctx, total+s.c.Drain+time.Minute)
	defer stopDrain()
	t.SetDrain(drainCtx)
	driven := make(chan struct{})
	go func() {
		defer close(driven)
		_, n, _ := s.c.shard()
		s.res.Steps = t.Drive(ctx, drainCtx, []load.Step{{Rate: s.c.Rate / float64(n), Duration: total}}, load.Bounds{MaxErrs: -1})
	}()
	sleepCtx(ctx, s.c.Warmup)
	gen0 := make([]int64, len(victims))
	for k, i := range victims {
		gen0[k] = s.devs[i].Generation.Load()
	}
	kill := time.Now()
	killNs := int64(s.env.Since(kill))
	switch s.c.ReconnectMode {
	case "kill", "term":
		// The driver (not a shard) owns the action: only shard 0 or a lone
		// process signals.
		if i, _, _ := s.c.shard(); i == 0 {
			sig := syscall.SIGKILL
			if s.c.ReconnectMode == "term" {
				sig = syscall.SIGTERM
			}
			if err := syscall.Kill(s.c.ReconnectPID, sig); err != nil {
				return fmt.Errorf("signal gateway pid %d: %w", s.c.ReconnectPID, err)
			}
		}
	case "drop":
		for _, i := range victims {
			s.devs[i].Drop()
		}
	}
	s.logf("reconnect: %s of gateway %d at %s: %d victims", s.c.ReconnectMode, s.c.ReconnectGateway, kill.Format("15:04:05.000"), len(victims))
	back := s.rec.Latency("reconnect_back")
	caught := s.rec.Latency("reconnect_caught_up")
	routed := s.rec.Latency("reconnect_routed")
	done := make([]bool, len(victims))
	probed := make([]bool, len(victims))
	left := len(victims)
	deadline := kill.Add(s.c.ReconnectTimeout)
	var last time.Duration
	for left > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		for k, i := range victims {
			d := s.devs[i]
			if done[k] || d.Generation.Load() <= gen0[k] {
				continue
			}
			up, cu, live := d.UpAt.Load(), d.CaughtUpAt.Load(), d.FirstLiveAt.Load()
			if cu <= killNs || up <= killNs {
				continue
			}
			if !probed[k] {
				probed[k] = true
				// The partner's sender (senders are per member, in order).
				t.Probe(t.Senders[i^1])
			}
			if live <= killNs {
				continue
			}
			done[k] = true
			left--
			back.Record(time.Duration(up - killNs))
			caught.Record(time.Duration(cu - killNs))
			r := time.Duration(max(live, cu) - killNs)
			routed.Record(r)
			last = max(last, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.res.Figures["victims_back"] = float64(len(victims) - left)
	s.res.Figures["all_back_routed_caught_up_s"] = last.Seconds()
	s.logf("reconnect: %d of %d victims back, routed and caught up; last after %.2fs", len(victims)-left, len(victims), last.Seconds())
	if left > 0 {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d of %d clients not back, routed and caught up within %v", left, len(victims), s.c.ReconnectTimeout))
	}
	<-driven
	v := t.Finish(ctx, s.c.Drain, func(line string) { s.logf("%s", line) },
		func() { s.phase("worked") })
	s.res.Verdict = &v
	if v.LateBySync > 0 {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("%d deliveries reached a connected device only through the final sync (not pushed live after its sync completed)", v.LateBySync))
	}
	if v.Lost > 0 {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d of %d acknowledged deliveries never arrived", v.Lost, v.Expected))
	}
	if v.MissingReceived > 0 {
		s.res.Failures = append(s.res.Failures, fmt.Sprintf("%d delivered messages never got a received receipt at the sender", v.MissingReceived))
	}
	s.closeAll(cancel)
	return nil
}
