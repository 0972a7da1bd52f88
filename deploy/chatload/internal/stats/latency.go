// Package stats records what a chatload run measures: HDR latency
// histograms (whole run and per second), counters, and the per-second time
// series the report plots. Everything here is safe for concurrent use and
// mergeable, so results of several client processes add up to one.
package stats

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 5 minutes, with 3
// significant digits (0.1 % resolution).
const (
	lowestUS  = 1
	highestUS = int64(5 * time.Minute / time.Microsecond)
	sigDigits = 3
)

// Histogram is an HDR latency histogram safe for concurrent use.
type Histogram struct {
	mu sync.Mutex
	h  *hdr.Histogram
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{h: hdr.New(lowestUS, highestUS, sigDigits)} }

// Record adds one latency. Values beyond the range are clamped to it (a
// five-minute latency is already a failed run).
func (h *Histogram) Record(d time.Duration) {
	us := clamp(d)
	h.mu.Lock()
	_ = h.h.RecordValue(us)
	h.mu.Unlock()
}

func clamp(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if us < lowestUS {
		return lowestUS
	}
	if us > highestUS {
		return highestUS
	}
	return us
}

// Merge adds every value of other.
func (h *Histogram) Merge(other *Histogram) {
	other.mu.Lock()
	c := other.h.Export()
	other.mu.Unlock()
	h.mu.Lock()
	h.h.Merge(hdr.Import(c))
	h.mu.Unlock()
}

// Summary is the part of a histogram a report shows.
type Summary struct {
	Count  int64   `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Summary returns count, mean and percentiles in milliseconds.
func (h *Histogram) Summary() Summary {
	h.mu.Lock()
	defer h.mu.Unlock()
	return summarize(h.h)
}

func summarize(h *hdr.Histogram) Summary {
	if h.TotalCount() == 0 {
		return Summary{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	v := h.ValueAtPercentilesSlice([]float64{50, 90, 99, 99.9})
	return Summary{Count: h.TotalCount(), MeanMs: h.Mean() / 1000, P50Ms: ms(v[0]), P90Ms: ms(v[1]),
		P99Ms: ms(v[2]), P999Ms: ms(v[3]), MaxMs: ms(h.Max())}
}

// String prints the summary on one line.
func (s Summary) String() string {
	if s.Count == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d p50=%.2fms p90=%.2fms p99=%.2fms p99.9=%.2fms max=%.2fms", s.Count, s.P50Ms, s.P90Ms, s.P99Ms, s.P999Ms, s.MaxMs)
}

// MarshalJSON stores the histogram in HdrHistogram's compressed base64
// encoding, which other HDR tools read too.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	h.mu.Lock()
	enc, err := h.h.Encode(hdr.V2CompressedEncodingCookieBase)
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(enc))
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (h *Histogram) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	d, err := hdr.Decode([]byte(s))
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.h = d
	h.mu.Unlock()
	return nil
}
