package report

import (
	"fmt"
	"html"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/parleychat/parley/deploy/chatload/internal/stats"
)

// SaveHTML writes a self-contained report: tables and inline SVG plots, no
// scripts and nothing fetched from elsewhere.
func (r *Result) SaveHTML(path string) error {
	return os.WriteFile(path, []byte(r.HTML()), 0o644)
}

// HTML renders the report.
func (r *Result) HTML() string {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<!doctype html><html><head><meta charset="utf-8"><title>chatload %s %s</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.fail{color:#b00;font-weight:bold}.ok{color:#070;font-weight:bold}svg{background:#fff;border:1px solid #ddd;margin:6px 0}</style></head><body>`,
		esc(r.Scenario), esc(r.RunID))
	fmt.Fprintf(&b, "<h1>chatload: %s</h1><p>run %s, %s → %s (%.1f s)", esc(r.Scenario), esc(r.RunID),
		r.Start.Format("2006-01-02 15:04:05"), r.End.Format("15:04:05"), r.End.Sub(r.Start).Seconds())
	if r.Shards > 1 {
		fmt.Fprintf(&b, ", %d client processes", r.Shards)
	}
	b.WriteString("</p>")
	if len(r.Failures) == 0 {
		b.WriteString(`<p class="ok">Correctness: no failures (nothing acknowledged was lost).</p>`)
	} else {
		b.WriteString(`<p class="fail">Correctness failures:</p><ul>`)
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "<li class=fail>%s</li>", esc(f))
		}
		b.WriteString("</ul>")
	}
	if len(r.Figures) > 0 {
		b.WriteString("<h2>Figures</h2><table><tr><th>figure</th><th>value</th></tr>")
		for _, k := range sortedKeys(r.Figures) {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%.4g</td></tr>", esc(k), r.Figures[k])
		}
		b.WriteString("</table>")
	}
	if len(r.Latency) > 0 {
		b.WriteString("<h2>Latency (HDR, ms)</h2><table><tr><th>what</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>")
		for _, k := range sortedKeys(r.Latency) {
			s := r.Latency[k]
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td></tr>",
				esc(k), s.Count, s.P50Ms, s.P90Ms, s.P99Ms, s.P999Ms, s.MaxMs, s.MeanMs)
		}
		b.WriteString("</table>")
	}
	if len(r.Steps) > 0 {
		b.WriteString("<h2>Ramp</h2><table><tr><th>rate/s</th><th>s</th><th>sent</th><th>delivered</th><th>errors</th><th>e2e p50</th><th>p99</th><th>p99.9</th><th>passed</th></tr>")
		for _, s := range r.Steps {
			fmt.Fprintf(&b, "<tr><td>%.0f</td><td>%.1f</td><td>%d</td><td>%d</td><td>%d</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%t %s</td></tr>",
				s.Rate, s.Seconds, s.Sent, s.Delivered, s.Errors, s.Latency.P50Ms, s.Latency.P99Ms, s.Latency.P999Ms, s.Passed, esc(s.Why))
		}
		b.WriteString("</table>")
	}
	b.WriteString("<h2>Over time</h2>")
	b.WriteString(r.throughputSVG())
	b.WriteString(r.latencySVG())
	if len(r.Processes) > 0 {
		b.WriteString("<h2>Processes</h2><table><tr><th>process</th><th>pid</th><th>CPU s</th><th>CPU µs/op</th><th>RSS before MiB</th><th>RSS after MiB</th><th>RSS bytes/conn</th><th>note</th></tr>")
		for _, p := range r.Processes {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%.2f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.0f</td><td>%s</td></tr>",
				esc(p.Name), p.PID, p.CPUSeconds, p.CPUPerOpUS, float64(p.RSSBefore)/(1<<20), float64(p.RSSAfter)/(1<<20), p.RSSPerConnB, esc(p.Error))
		}
		b.WriteString("</table>")
	}
	b.WriteString("<h2>Counters</h2><table><tr><th>counter</th><th>value</th></tr>")
	for _, k := range r.CounterNames() {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td></tr>", esc(k), r.Counters[k])
	}
	b.WriteString("</table>")
	if len(r.Notes) > 0 {
		b.WriteString("<h2>Notes</h2><ul>")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "<li>%s</li>", esc(n))
		}
		b.WriteString("</ul>")
	}
	b.WriteString("<h2>Settings</h2><table>")
	for _, k := range sortedKeys(r.Settings) {
		fmt.Fprintf(&b, "<tr><td>%s</td><td style='text-align:left'>%s</td></tr>", esc(k), esc(r.Settings[k]))
	}
	b.WriteString("</table></body></html>\n")
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type line struct {
	name  string
	color string
	ys    []float64 // NaN: no value
}

// throughputSVG plots per-second deltas of the main counters, and the
// connection count when there is one.
func (r *Result) throughputSVG() string {
	xs := r.xs()
	if len(xs) < 2 {
		return ""
	}
	var lines []line
	colors := []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}
	for _, name := range []string{"sent", "acked", "delivered", "connects", "read_receipts", "send_failed"} {
		ys := make([]float64, len(r.Series))
		any := false
		for i, p := range r.Series {
			prev := int64(0)
			if i > 0 {
				prev = r.Series[i-1].Counters[name]
			}
			dt := 1.0
			if i > 0 {
				dt = float64(p.UnixMs-r.Series[i-1].UnixMs) / 1000
			}
			if dt <= 0 {
				dt = 1
			}
			ys[i] = float64(p.Counters[name]-prev) / dt
			if p.Counters[name] != 0 {
				any = true
			}
		}
		if any {
			lines = append(lines, line{name: name + "/s", color: colors[len(lines)%len(colors)], ys: ys})
		}
	}
	out := chart("Throughput (per second)", xs, lines, "per second", false)
	if _, ok := r.Series[len(r.Series)-1].Counters["connected"]; ok {
		ys := make([]float64, len(r.Series))
		for i, p := range r.Series {
			ys[i] = float64(p.Counters["connected"])
		}
		out += chart("Connected clients", xs, []line{{name: "connected", color: "#1f77b4", ys: ys}}, "connections", false)
	}
	return out
}

// latencySVG plots per-second p50/p99/max of the main latency.
func (r *Result) latencySVG() string {
	xs := r.xs()
	if len(xs) < 2 {
		return ""
	}
	var out string
	for _, name := range []string{"e2e", "read_receipt", "ping", "connect"} {
		if _, ok := r.Latency[name]; !ok {
			continue
		}
		get := func(f func(stats.Summary) float64) []float64 {
			ys := make([]float64, len(r.Series))
			for i, p := range r.Series {
				if s, ok := p.Latency[name]; ok && s.Count > 0 {
					ys[i] = f(s)
				} else {
					ys[i] = math.NaN()
				}
			}
			return ys
		}
		out += chart("Latency over time: "+name+" (ms, log scale)", xs, []line{
			{name: "p50", color: "#2ca02c", ys: get(func(s stats.Summary) float64 { return s.P50Ms })},
			{name: "p99", color: "#ff7f0e", ys: get(func(s stats.Summary) float64 { return s.P99Ms })},
			{name: "max", color: "#d62728", ys: get(func(s stats.Summary) float64 { return s.MaxMs })},
		}, "ms", true)
	}
	return out
}

func (r *Result) xs() []float64 {
	if len(r.Series) == 0 {
		return nil
	}
	t0 := r.Series[0].UnixMs
	xs := make([]float64, len(r.Series))
	for i, p := range r.Series {
		xs[i] = float64(p.UnixMs-t0) / 1000
	}
	return xs
}

// chart draws lines over a shared x axis as an SVG.
func chart(title string, xs []float64, lines []line, yLabel string, logY bool) string {
	const w, h, left, right, top, bottom = 900.0, 300.0, 70.0, 130.0, 30.0, 40.0
	pw, ph := w-left-right, h-top-bottom
	xmax := xs[len(xs)-1]
	if xmax <= 0 {
		xmax = 1
	}
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		for _, y := range l.ys {
			if math.IsNaN(y) || (logY && y <= 0) {
				continue
			}
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
		}
	}
	if math.IsInf(ymax, -1) {
		return ""
	}
	tr := func(y float64) float64 { return y }
	if logY {
		ymin = math.Pow(10, math.Floor(math.Log10(ymin)))
		ymax = math.Pow(10, math.Ceil(math.Log10(ymax)))
		if ymax <= ymin {
			ymax = ymin * 10
		}
		tr = math.Log10
	} else {
		ymin = 0
		if ymax <= 0 {
			ymax = 1
		}
		ymax *= 1.05
	}
	px := func(x float64) float64 { return left + x/xmax*pw }
	py := func(y float64) float64 { return top + ph - (tr(y)-tr(ymin))/(tr(ymax)-tr(ymin))*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-size="11">`, w, h)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="13" font-weight="bold">%s</text>`, left, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`, left, top, pw, ph)
	// y ticks
	var ticks []float64
	if logY {
		for v := ymin; v <= ymax*1.0001; v *= 10 {
			ticks = append(ticks, v)
		}
	} else {
		step := niceStep(ymax / 5)
		for v := 0.0; v <= ymax; v += step {
			ticks = append(ticks, v)
		}
	}
	for _, v := range ticks {
		y := py(v)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			left, left+pw, y, y, left-4, y+4, fmtNum(v))
	}
	xstep := niceStep(xmax / 8)
	for v := 0.0; v <= xmax; v += xstep {
		x := px(v)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`,
			x, x, top, top+ph, x, top+ph+14, fmtNum(v))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds</text>`, left+pw/2, h-6)
	fmt.Fprintf(&b, `<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>`, top+ph/2, top+ph/2, html.EscapeString(yLabel))
	for i, l := range lines {
		var pts strings.Builder
		flush := func() {
			if pts.Len() > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, l.color, pts.String())
				pts.Reset()
			}
		}
		for j, y := range l.ys {
			if math.IsNaN(y) || (logY && y <= 0) {
				flush()
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(xs[j]), py(math.Max(y, ymin)))
		}
		flush()
		ly := top + 14 + float64(i)*16
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/><text x="%.1f" y="%.1f">%s</text>`,
			left+pw+8, left+pw+26, ly-4, ly-4, l.color, left+pw+30, ly, html.EscapeString(l.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	case v >= 1 || v == 0:
		return fmt.Sprintf("%.3g", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}
