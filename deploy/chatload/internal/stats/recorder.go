package stats

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency is a whole-run histogram plus the histogram of the current
// second, which the recorder's ticker turns into a series point.
type Latency struct {
	mu       sync.Mutex
	total    *hdr.Histogram
	interval *hdr.Histogram
}

func newLatency() *Latency {
	return &Latency{total: hdr.New(lowestUS, highestUS, sigDigits), interval: hdr.New(lowestUS, highestUS, sigDigits)}
}

// Record adds one latency.
func (l *Latency) Record(d time.Duration) {
	us := clamp(d)
	l.mu.Lock()
	_ = l.total.RecordValue(us)
	_ = l.interval.RecordValue(us)
	l.mu.Unlock()
}

// Histogram returns a copy of the whole-run histogram.
func (l *Latency) Histogram() *Histogram {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &Histogram{h: hdr.Import(l.total.Export())}
}

// rotate returns the summary of the interval so far and starts a new one.
func (l *Latency) rotate() Summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := summarize(l.interval)
	l.interval.Reset()
	return s
}

// Point is one second of a run.
type Point struct {
	// UnixMs is the end of the second.
	UnixMs int64 `json:"unix_ms"`
	// Counters are cumulative values at UnixMs.
	Counters map[string]int64 `json:"counters"`
	// Latency summarises the values recorded during the second.
	Latency map[string]Summary `json:"latency,omitempty"`
}

// Recorder holds a run's counters, latencies and time series.
type Recorder struct {
	mu        sync.Mutex
	counters  map[string]*atomic.Int64
	latencies map[string]*Latency
	series    []Point
	stop      chan struct{}
	done      chan struct{}
}

// NewRecorder returns an empty recorder; call Start to collect a series.
func NewRecorder() *Recorder {
	return &Recorder{counters: map[string]*atomic.Int64{}, latencies: map[string]*Latency{}}
}

// Counter returns the named counter, created at zero on first use. Keep the
// pointer: the lookup takes a lock.
func (r *Recorder) Counter(name string) *atomic.Int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counters[name]
	if c == nil {
		c = new(atomic.Int64)
		r.counters[name] = c
	}
	return c
}

// Latency returns the named latency, created on first use.
func (r *Recorder) Latency(name string) *Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.latencies[name]
	if l == nil {
		l = newLatency()
		r.latencies[name] = l
	}
	return l
}

// Start samples a series point every interval until Stop.
func (r *Recorder) Start(interval time.Duration, onPoint func(Point)) {
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				p := r.sample()
				if onPoint != nil {
					onPoint(p)
				}
				return
			case <-t.C:
				p := r.sample()
				if onPoint != nil {
					onPoint(p)
				}
			}
		}
	}()
}

// Stop ends the series with a last point.
func (r *Recorder) Stop() {
	if r.stop == nil {
		return
	}
	close(r.stop)
	<-r.done
	r.stop = nil
}

func (r *Recorder) sample() Point {
	p := Point{UnixMs: time.Now().UnixMilli(), Counters: r.Counters(), Latency: map[string]Summary{}}
	r.mu.Lock()
	lats := make(map[string]*Latency, len(r.latencies))
	for k, v := range r.latencies {
		lats[k] = v
	}
	r.mu.Unlock()
	for k, l := range lats {
		if s := l.rotate(); s.Count > 0 {
			p.Latency[k] = s
		}
	}
	r.mu.Lock()
	r.series = append(r.series, p)
	r.mu.Unlock()
	return p
}

// Counters returns the current counter values.
func (r *Recorder) Counters() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.counters))
	for k, v := range r.counters {
		out[k] = v.Load()
	}
	return out
}

// Histograms returns a copy of every whole-run histogram.
func (r *Recorder) Histograms() map[string]*Histogram {
	r.mu.Lock()
	lats := make(map[string]*Latency, len(r.latencies))
	for k, v := range r.latencies {
		lats[k] = v
	}
	r.mu.Unlock()
	out := make(map[string]*Histogram, len(lats))
	for k, l := range lats {
		out[k] = l.Histogram()
	}
	return out
}

// Series returns the points collected so far.
func (r *Recorder) Series() []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Point(nil), r.series...)
}

// MergeSeries combines the series of several processes by second. Counters
// add up (each process's last value carries over a second it missed);
// per-second percentiles cannot be merged exactly, so a merged point shows
// the count-weighted mean of p50 and the highest p90/p99/p99.9/max — the
// whole-run histograms, which merge exactly, are the figures to quote.
func MergeSeries(all [][]Point) []Point {
	bySec := map[int64][]struct {
		proc int
		p    Point
	}{}
	for i, s := range all {
		for _, p := range s {
			sec := (p.UnixMs + 500) / 1000
			bySec[sec] = append(bySec[sec], struct {
				proc int
				p    Point
			}{i, p})
		}
	}
	secs := make([]int64, 0, len(bySec))
	for s := range bySec {
		secs = append(secs, s)
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i] < secs[j] })
	last := make([]map[string]int64, len(all))
	out := make([]Point, 0, len(secs))
	for _, sec := range secs {
		m := Point{UnixMs: sec * 1000, Counters: map[string]int64{}, Latency: map[string]Summary{}}
		for _, e := range bySec[sec] {
			last[e.proc] = e.p.Counters
			for k, s := range e.p.Latency {
				cur := m.Latency[k]
				n := cur.Count + s.Count
				if n > 0 {
					cur.P50Ms = (cur.P50Ms*float64(cur.Count) + s.P50Ms*float64(s.Count)) / float64(n)
					cur.MeanMs = (cur.MeanMs*float64(cur.Count) + s.MeanMs*float64(s.Count)) / float64(n)
				}
				cur.Count = n
				cur.P90Ms = max(cur.P90Ms, s.P90Ms)
				cur.P99Ms = max(cur.P99Ms, s.P99Ms)
				cur.P999Ms = max(cur.P999Ms, s.P999Ms)
				cur.MaxMs = max(cur.MaxMs, s.MaxMs)
				m.Latency[k] = cur
			}
		}
		for _, c := range last {
			for k, v := range c {
				m.Counters[k] += v
			}
		}
		out = append(out, m)
	}
	return out
}
