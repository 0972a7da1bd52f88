// Package procstat reads the CPU time and resident memory of processes from
// /proc, so a load run can state CPU-seconds per operation and memory per
// connection for each server process (the machine's cores are shared, so
// wall-clock rates alone say little).
package procstat

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of a process.
type Sample struct {
	CPUSeconds float64 `json:"cpu_s"`
	RSSBytes   int64   `json:"rss_bytes"`
	Threads    int     `json:"threads"`
	At         time.Time
}

// ticksPerSecond is USER_HZ, 100 on Linux.
const ticksPerSecond = 100

// Read samples pid.
func Read(pid int) (Sample, error) {
	s := Sample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 > len(stat) {
		return s, fmt.Errorf("procstat: odd /proc/%d/stat", pid)
	}
	f := strings.Fields(string(stat)[i+2:])
	if len(f) < 13 {
		return s, fmt.Errorf("procstat: short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	s.CPUSeconds = (ut + st) / ticksPerSecond
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if fs := strings.Fields(rest); len(fs) > 0 {
				kb, _ := strconv.ParseInt(fs[0], 10, 64)
				s.RSSBytes = kb * 1024
			}
		}
		if rest, ok := strings.CutPrefix(line, "Threads:"); ok {
			s.Threads, _ = strconv.Atoi(strings.TrimSpace(rest))
		}
	}
	return s, nil
}

// Proc names a process to watch.
type Proc struct {
	Name string
	PID  int
}

// ParseList reads "name=pid,name=pid"; a bare pid is named by prefix and
// its position ("gateway-1").
func ParseList(s, prefix string) ([]Proc, error) {
	var out []Proc
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, pidStr, ok := strings.Cut(part, "=")
		if !ok {
			name, pidStr = fmt.Sprintf("%s-%d", prefix, i+1), part
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("bad process %q: want name=pid", part)
		}
		out = append(out, Proc{Name: name, PID: pid})
	}
	return out, nil
}

// Usage is what a process spent between two samples.
type Usage struct {
	Name        string  `json:"name"`
	PID         int     `json:"pid"`
	CPUSeconds  float64 `json:"cpu_s"`
	RSSBefore   int64   `json:"rss_before_bytes"`
	RSSAfter    int64   `json:"rss_after_bytes"`
	CPUPerOpUS  float64 `json:"cpu_us_per_op,omitempty"`
	RSSPerConnB float64 `json:"rss_per_conn_bytes,omitempty"`
	Error       string  `json:"error,omitempty"`
}

// Watch holds the first sample of every process.
type Watch struct {
	procs  []Proc
	before map[int]Sample
}

// Begin samples every process now.
func Begin(procs []Proc) *Watch {
	w := &Watch{procs: procs, before: map[int]Sample{}}
	for _, p := range procs {
		if s, err := Read(p.PID); err == nil {
			w.before[p.PID] = s
		}
	}
	return w
}

// End samples again; ops (when > 0) gives CPU µs per op, conns (when > 0)
// gives RSS growth per connection.
func (w *Watch) End(ops, conns float64) []Usage {
	var out []Usage
	for _, p := range w.procs {
		u := Usage{Name: p.Name, PID: p.PID}
		b, okB := w.before[p.PID]
		a, err := Read(p.PID)
		switch {
		case !okB:
			u.Error = "not readable at start"
		case err != nil:
			u.Error = err.Error()
		default:
			u.CPUSeconds = a.CPUSeconds - b.CPUSeconds
			u.RSSBefore, u.RSSAfter = b.RSSBytes, a.RSSBytes
			if ops > 0 {
				u.CPUPerOpUS = u.CPUSeconds / ops * 1e6
			}
			if conns > 0 {
				u.RSSPerConnB = float64(a.RSSBytes-b.RSSBytes) / conns
			}
		}
		out = append(out, u)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
