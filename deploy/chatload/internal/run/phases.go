package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/procstat"
	"github.com/parleychat/parley/deploy/chatload/internal/report"
)

// meter samples the measured processes at the run's phase points: before
// connecting, once everyone is connected, and when the work is done. CPU
// between the last two is the work's cost; RSS between the first two is the
// connections' memory.
type meter struct {
	procs     []procstat.Proc
	w0, wa    *procstat.Watch
	connect   []procstat.Usage
	work      []procstat.Usage
	ta, tb    time.Time
	started   bool
	connected bool
}

func (m *meter) start() {
	if !m.started {
		m.started = true
		m.w0 = procstat.Begin(m.procs)
	}
}

func (m *meter) markConnected() {
	m.start()
	m.connect = m.w0.End(0, 0)
	m.wa = procstat.Begin(m.procs)
	m.ta = time.Now()
	m.connected = true
}

func (m *meter) markWorked() {
	if !m.connected {
		m.markConnected()
	}
	m.work = m.wa.End(0, 0)
	m.tb = time.Now()
}

// apply puts the usage into res: CPU per op (ops done during the work
// phase; for idle, connection-seconds) and RSS growth per connection.
//
// Clients spread evenly over the gateways, so a gateway's per-connection
// figures divide by its share (connections ÷ gateways); other processes'
// divide by all connections. For idle runs ops are connection-seconds,
// likewise per gateway.
func (m *meter) apply(res *report.Result, conns, ops float64, idle bool) {
	if len(m.work) == 0 {
		return
	}
	gateways := 0.0
	for _, p := range m.procs {
		if strings.HasPrefix(p.Name, "gateway") {
			gateways++
		}
	}
	res.Processes = nil
	for i, u := range m.work {
		share := 1.0
		if gateways > 0 && strings.HasPrefix(u.Name, "gateway") {
			share = gateways
		}
		if ops > 0 {
			perOp := ops
			if idle {
				perOp = ops / share
			}
			u.CPUPerOpUS = u.CPUSeconds / perOp * 1e6
		}
		if i < len(m.connect) {
			cu := m.connect[i]
			u.RSSBefore = cu.RSSBefore
			if conns > 0 && cu.Error == "" {
				u.RSSPerConnB = float64(cu.RSSAfter-cu.RSSBefore) / (conns / share)
				res.Figures["connect_cpu_us_per_conn."+u.Name] = cu.CPUSeconds / (conns / share) * 1e6
			}
		}
		res.Processes = append(res.Processes, u)
	}
	res.Figures["work_seconds"] = m.tb.Sub(m.ta).Seconds()
}

// barrier lines the driver's child processes up at the phase points: each
// child announces a phase with a file and waits for the driver's release,
// so the driver samples the servers when every child is there.
type barrier struct {
	dir   string
	shard int
}

func (b *barrier) arrive(ctx context.Context, phase string) error {
	if err := os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("%s.%d", phase, b.shard)), nil, 0o644); err != nil {
		return err
	}
	return waitFile(ctx, filepath.Join(b.dir, "release."+phase), 0)
}

func waitFile(ctx context.Context, path string, timeout time.Duration) error {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("%s did not appear within %v", path, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// phase marks a phase point: alone, the process samples the servers
// itself; as a driver's child, it waits for every other child.
func (s *scenario) phase(name string) {
	if name == "connected" {
		// The client side's memory with every connection open (all
		// processes together once the driver adds the shards up).
		if me, err := procstat.Read(os.Getpid()); err == nil {
			s.res.Figures["client_rss_mib_connected"] = float64(me.RSSBytes) / (1 << 20)
		}
	}
	if s.bar != nil {
		if err := s.bar.arrive(context.Background(), name); err != nil {
			s.logf("barrier %s: %v", name, err)
		}
		return
	}
	switch name {
	case "connected":
		s.m.markConnected()
	case "worked":
		s.m.markWorked()
	}
}

// opsFor is what CPU per op divides by: connection-seconds when idle,
// deliveries otherwise.
func opsFor(scenario string, res *report.Result, m *meter) (conns, ops float64) {
	conns = res.Figures["connections"]
	if scenario == "idle" {
		return conns, conns * m.tb.Sub(m.ta).Seconds()
	}
	return conns, float64(res.Counters["delivered"])
}
