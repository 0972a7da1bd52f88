package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/stats"
)

func shard(name string, lat time.Duration, n int, lost int64) *Result {
	rec := stats.NewRecorder()
	rec.Counter("delivered").Add(int64(n))
	for i := 0; i < n; i++ {
		rec.Latency("e2e").Record(lat)
	}
	r := &Result{Scenario: "direct", Shard: name, Start: time.Now(), End: time.Now(), Figures: map[string]float64{"connections": 10}}
	r.Fill(rec)
	t0 := time.Now().Truncate(time.Second).UnixMilli()
	for i := int64(0); i < 3; i++ { // three seconds of series to plot
		r.Series = append(r.Series, stats.Point{UnixMs: t0 + i*1000, Counters: map[string]int64{"delivered": i * int64(n) / 2},
			Latency: map[string]stats.Summary{"e2e": {Count: 1, P50Ms: 1, P99Ms: 2, MaxMs: 3}}})
	}
	r.Verdict = &Verdict{Expected: int64(n), Delivered: int64(n) - lost, Lost: lost}
	r.Steps = []Step{{Rate: 50, Sent: int64(n), Passed: true}}
	return r
}

func TestMergeAddsShardsAndKeepsHistogramsExact(t *testing.T) {
	a, b := shard("0/2", 2*time.Millisecond, 90, 0), shard("1/2", 100*time.Millisecond, 10, 3)
	// Through JSON, as the driver reads the shards' files.
	var parts []*Result
	for _, r := range []*Result{a, b} {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Result
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, &back)
	}
	m := Merge(parts, nil)
	if m.Counters["delivered"] != 100 || m.Figures["connections"] != 20 || m.Verdict.Lost != 3 || m.Verdict.Expected != 100 {
		t.Fatalf("merged counters %v figures %v verdict %+v", m.Counters, m.Figures, m.Verdict)
	}
	s := m.Latency["e2e"]
	if s.Count != 100 || s.P50Ms < 1.9 || s.P50Ms > 2.1 || s.P99Ms < 99 || s.P99Ms > 101 {
		t.Fatalf("merged e2e %+v: want 100 values, p50 2 ms, p99 100 ms", s)
	}
	if len(m.Steps) != 1 || m.Steps[0].Rate != 100 || m.Steps[0].Sent != 100 {
		t.Fatalf("steps %+v: a step's rate and counts add up over shards", m.Steps)
	}
	html := m.HTML()
	if !strings.Contains(html, "<svg") || !strings.Contains(html, "e2e") || strings.Contains(html, "<script") {
		t.Fatal("report without plots, or with scripts")
	}
}
