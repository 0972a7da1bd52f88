package manifestcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// metricNameInCode matches a metric name in prometheus.*Opts{Name: "…"}.
var metricNameInCode = regexp.MustCompile(`Name:\s*"([a-z][a-z0-9_]*_[a-z0-9_]+)"`)

// ExportedMetrics returns the metric names the Go code under root defines
// (non-test files), plus the suffixes histograms add. The Go and process
// collectors' families (go_*, process_*) are accepted by prefix.
func ExportedMetrics(root string) (map[string]bool, error) {
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n != "." && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), "prometheus.") {
			return nil
		}
		for _, m := range metricNameInCode.FindAllStringSubmatch(string(data), -1) {
			out[m[1]] = true
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				out[m[1]+suffix] = true
			}
		}
		return nil
	})
	return out, err
}

// promqlWords are PromQL functions, aggregations and keywords: identifiers
// in an expression that are not metric names.
var promqlWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`sum avg min max count by without rate irate increase delta
		histogram_quantile time label_values and or unless on ignoring group_left group_right
		topk bottomk quantile stddev abs clamp_min clamp_max vector scalar offset bool`) {
		promqlWords[w] = true
	}
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(by|without|on|ignoring)\s*\([^)]*\)`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// QueryMetrics returns the metric names a PromQL expression reads.
func QueryMetrics(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, " ")
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRanges.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, id := range promqlIdent.FindAllString(e, -1) {
		if !promqlWords[id] && !strings.HasPrefix(id, "$") {
			out = append(out, id)
		}
	}
	return out
}

type dashboardPanel struct {
	Title   string                  `json:"title"`
	Targets []struct{ Expr string } `json:"targets"`
	Panels  []dashboardPanel        `json:"panels"`
}

type dashboard struct {
	Title      string           `json:"title"`
	UID        string           `json:"uid"`
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// CheckDashboard checks that every query of the Grafana dashboard reads
// only metrics the code exports, so a renamed metric cannot leave an empty
// panel behind unnoticed.
func CheckDashboard(data []byte, known map[string]bool) error {
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("dashboard JSON: %w", err)
	}
	if d.Title == "" || d.UID == "" {
		return errors.New("dashboard needs a title and a uid")
	}
	var errs []error
	queries := 0
	check := func(where, expr string) {
		queries++
		ms := QueryMetrics(expr)
		if len(ms) == 0 {
			errs = append(errs, fmt.Errorf("%s: %q reads no metric", where, expr))
		}
		for _, m := range ms {
			if !known[m] && !strings.HasPrefix(m, "go_") && !strings.HasPrefix(m, "process_") {
				errs = append(errs, fmt.Errorf("%s: %q reads %s, which no code exports", where, expr, m))
			}
		}
	}
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				check("panel "+p.Title, t.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && strings.HasPrefix(q, "label_values(") {
			metric, _, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")"), ",")
			check("variable "+v.Name, metric)
		}
	}
	if queries == 0 {
		errs = append(errs, errors.New("dashboard has no query"))
	}
	return errors.Join(errs...)
}

// sortedKeys is for messages.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
