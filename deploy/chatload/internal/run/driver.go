package run

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/report"
)

// maxConnsPerProcess keeps a client process under the machine's 20,000
// open files (one socket per connection plus the process's own).
const maxConnsPerProcess = 19_500

// drive is the driver mode: provision every account once, re-execute this
// binary as N child processes (-shard i/N), line them up at the phase
// points while sampling the server processes, and merge their results.
func drive(ctx context.Context, c *Config, args []string, settings map[string]string, stderr io.Writer) (*report.Result, error) {
	all := *c
	all.Shard = ""
	owned, _ := all.users()
	if per := (len(owned) + c.Procs - 1) / c.Procs; per > maxConnsPerProcess {
		return nil, fmt.Errorf("%d connections per process is above %d (20,000 open files per process): use more -procs", per, maxConnsPerProcess)
	}
	if _, err := provision(ctx, &all, owned, stderr); err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bdir := filepath.Join(c.Out, "barrier")
	_ = os.RemoveAll(bdir)
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return nil, err
	}
	procs, err := c.procs()
	if err != nil {
		return nil, err
	}
	m := &meter{procs: procs}
	m.start()
	start := time.Now()
	type child struct {
		cmd  *exec.Cmd
		done chan error
	}
	children := make([]*child, c.Procs)
	for i := range children {
		// Later flags win: the child runs one shard, measures nothing and
		// leaves the cache alone.
		cargs := append(append([]string(nil), args...), "-shard", fmt.Sprintf("%d/%d", i, c.Procs), "-procs", "1",
			"-out", filepath.Join(c.Out, "shard-"+strconv.Itoa(i)), "-accounts.readonly", "-barrier-dir", bdir,
			"-run-id", c.RunID, "-pids", "", "-gateway-pids", "")
		cmd := exec.CommandContext(ctx, exe, cargs...)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Start(); err != nil {
			for _, ch := range children[:i] {
				_ = ch.cmd.Process.Kill()
			}
			return nil, err
		}
		ch := &child{cmd: cmd, done: make(chan error, 1)}
		go func() { ch.done <- cmd.Wait() }()
		children[i] = ch
	}
	exited := map[int]error{}
	// arrived waits until every child announced phase (or exited).
	arrived := func(phase string) {
		for {
			n := 0
			for i, ch := range children {
				if _, gone := exited[i]; gone {
					n++
					continue
				}
				select {
				case err := <-ch.done:
					exited[i] = err
					n++
					continue
				default:
				}
				if _, err := os.Stat(filepath.Join(bdir, fmt.Sprintf("%s.%d", phase, i))); err == nil {
					n++
				}
			}
			if n == len(children) || ctx.Err() != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	release := func(phase string) { _ = os.WriteFile(filepath.Join(bdir, "release."+phase), nil, 0o644) }
	arrived("connected")
	m.markConnected()
	release("connected")
	arrived("worked")
	m.markWorked()
	release("worked")
	for i, ch := range children {
		if _, gone := exited[i]; !gone {
			exited[i] = <-ch.done
		}
	}
	var parts []*report.Result
	var failures []string
	for i := range children {
		r, err := report.Load(filepath.Join(c.Out, "shard-"+strconv.Itoa(i), "result.json"))
		if err != nil {
			failures = append(failures, fmt.Sprintf("shard %d: no result (%v, exit %v)", i, err, exited[i]))
			continue
		}
		parts = append(parts, r)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("no shard produced a result: %v", failures)
	}
	res := report.Merge(parts, map[string]bool{"connect_seconds": true, "send_seconds": true,
		"all_back_routed_caught_up_s": true, "work_seconds": true})
	res.Start, res.Settings = start, settings
	res.End = time.Now()
	res.Failures = append(res.Failures, failures...)
	// Rates merged by adding each shard's rate over its own time; recompute
	// the ones that divide by a time.
	if s := res.Figures["connect_seconds"]; s > 0 {
		res.Figures["connect_rate_per_s"] = res.Figures["connections"] / s
	}
	if s := res.Figures["send_seconds"]; s > 0 {
		res.Figures["acked_per_s"] = float64(res.Counters["acked"]) / s
		res.Figures["deliveries_per_s"] = float64(res.Counters["delivered"]) / s
	}
	conns, ops := opsFor(c.Scenario, res, m)
	m.apply(res, conns, ops, c.Scenario == "idle")
	return res, nil
}
