// Package report holds a run's result: the JSON file, the merge of several
// client processes' results, and the HTML report with inline SVG plots.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/procstat"
	"github.com/parleychat/parley/deploy/chatload/internal/stats"
)

// Result is everything one run (or one shard of it) measured.
type Result struct {
	Scenario  string                      `json:"scenario"`
	RunID     string                      `json:"run_id"`
	Shard     string                      `json:"shard,omitempty"`
	Shards    int                         `json:"shards,omitempty"`
	Start     time.Time                   `json:"start"`
	End       time.Time                   `json:"end"`
	Settings  map[string]string           `json:"settings"`
	Counters  map[string]int64            `json:"counters"`
	Latency   map[string]stats.Summary    `json:"latency"`
	Hist      map[string]*stats.Histogram `json:"histograms"`
	Series    []stats.Point               `json:"series"`
	Processes []procstat.Usage            `json:"processes,omitempty"`
	// Figures are the scenario's headline numbers (connect rate, memory per
	// connection, time until all clients are back …).
	Figures map[string]float64 `json:"figures,omitempty"`
	Steps   []Step             `json:"steps,omitempty"`
	Verdict *Verdict           `json:"verdict,omitempty"`
	Notes   []string           `json:"notes,omitempty"`
	// Failures are correctness failures; any makes the run fail.
	Failures []string `json:"failures,omitempty"`
}

// Fill copies the recorder's counters, histograms and series.
func (r *Result) Fill(rec *stats.Recorder) {
	r.Counters = rec.Counters()
	r.Hist = rec.Histograms()
	r.Series = rec.Series()
	r.Summarize()
}

// Summarize recomputes the latency summaries from the histograms.
func (r *Result) Summarize() {
	r.Latency = map[string]stats.Summary{}
	for k, h := range r.Hist {
		if s := h.Summary(); s.Count > 0 {
			r.Latency[k] = s
		}
	}
}

// Save writes the result as indented JSON.
func (r *Result) Save(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// Load reads a result file.
func Load(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Merge combines the results of a run's client processes: counters and
// figures add up (except the ones named in maxFigures, which take the
// highest), histograms merge exactly, series merge by second, failures and
// notes are kept with their shard.
func Merge(parts []*Result, maxFigures map[string]bool) *Result {
	out := &Result{Counters: map[string]int64{}, Hist: map[string]*stats.Histogram{}, Figures: map[string]float64{},
		Shards: len(parts)}
	var series [][]stats.Point
	for i, p := range parts {
		if i == 0 {
			out.Scenario, out.RunID, out.Start, out.End, out.Settings = p.Scenario, p.RunID, p.Start, p.End, p.Settings
			out.Processes = p.Processes
		}
		if p.Start.Before(out.Start) {
			out.Start = p.Start
		}
		if p.End.After(out.End) {
			out.End = p.End
		}
		for k, v := range p.Counters {
			out.Counters[k] += v
		}
		for k, v := range p.Figures {
			if maxFigures[k] {
				out.Figures[k] = max(out.Figures[k], v)
			} else {
				out.Figures[k] += v
			}
		}
		for k, h := range p.Hist {
			if out.Hist[k] == nil {
				out.Hist[k] = stats.NewHistogram()
			}
			out.Hist[k].Merge(h)
		}
		series = append(series, p.Series)
		for _, f := range p.Failures {
			out.Failures = append(out.Failures, fmt.Sprintf("shard %s: %s", p.Shard, f))
		}
		for _, n := range p.Notes {
			out.Notes = append(out.Notes, fmt.Sprintf("shard %s: %s", p.Shard, n))
		}
		if p.Verdict != nil {
			if out.Verdict == nil {
				out.Verdict = &Verdict{}
			}
			out.Verdict.add(*p.Verdict)
		}
		for j, st := range p.Steps {
			if j >= len(out.Steps) {
				out.Steps = append(out.Steps, Step{Passed: true})
			}
			out.Steps[j] = out.Steps[j].add(st)
		}
	}
	out.Series = stats.MergeSeries(series)
	out.Summarize()
	return out
}

// Verdict is the correctness account of a messaging run.
type Verdict struct {
	Sent        int64 `json:"sent"`
	Acked       int64 `json:"acked"`
	Failed      int64 `json:"failed"`
	Expected    int64 `json:"expected_deliveries"`
	Delivered   int64 `json:"delivered"`
	Duplicates  int64 `json:"duplicates_before_dedupe"`
	VisibleDups int64 `json:"visible_duplicates"`
	Lost        int64 `json:"lost"`
	// LateBySync are deliveries a connected device got only from the final
	// sync: not lost (a reconnecting client gets them), but not pushed live
	// either, although the protocol promises live pushes after a sync.
	LateBySync       int64 `json:"late_by_final_sync"`
	MissingReceived  int64 `json:"missing_received_receipts"`
	ReadReceiptsLost int64 `json:"read_receipts_lost"`
}

func (v *Verdict) add(o Verdict) {
	v.Sent += o.Sent
	v.Acked += o.Acked
	v.Failed += o.Failed
	v.Expected += o.Expected
	v.Delivered += o.Delivered
	v.Duplicates += o.Duplicates
	v.VisibleDups += o.VisibleDups
	v.Lost += o.Lost
	v.LateBySync += o.LateBySync
	v.MissingReceived += o.MissingReceived
	v.ReadReceiptsLost += o.ReadReceiptsLost
}

// Step is one rate of a ramp.
type Step struct {
	Rate      float64       `json:"rate"`
	Seconds   float64       `json:"seconds"`
	Sent      int64         `json:"sent"`
	Errors    int64         `json:"errors"`
	Delivered int64         `json:"delivered"`
	Latency   stats.Summary `json:"e2e_latency"`
	Passed    bool          `json:"passed"`
	Why       string        `json:"why,omitempty"`
}

// add merges the same step of another process: rates and counts add up;
// the latency takes the higher percentiles (an upper bound: per-step
// histograms are not kept per process).
func (s Step) add(o Step) Step {
	n := s.Latency.Count + o.Latency.Count
	l := s.Latency
	if n > 0 {
		l.P50Ms = (l.P50Ms*float64(l.Count) + o.Latency.P50Ms*float64(o.Latency.Count)) / float64(n)
		l.MeanMs = (l.MeanMs*float64(l.Count) + o.Latency.MeanMs*float64(o.Latency.Count)) / float64(n)
	}
	l.Count = n
	l.P90Ms, l.P99Ms, l.P999Ms, l.MaxMs = max(l.P90Ms, o.Latency.P90Ms), max(l.P99Ms, o.Latency.P99Ms),
		max(l.P999Ms, o.Latency.P999Ms), max(l.MaxMs, o.Latency.MaxMs)
	why := s.Why
	if why == "" {
		why = o.Why
	}
	return Step{Rate: s.Rate + o.Rate, Seconds: max(s.Seconds, o.Seconds), Sent: s.Sent + o.Sent, Errors: s.Errors + o.Errors,
		Delivered: s.Delivered + o.Delivered, Latency: l, Passed: s.Passed && o.Passed, Why: why}
}

// CounterNames returns the counters sorted by name.
func (r *Result) CounterNames() []string {
	names := make([]string, 0, len(r.Counters))
	for k := range r.Counters {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
