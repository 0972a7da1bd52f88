package manifestcheck

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestDashboardQueriesOnlyExportedMetrics(t *testing.T) {
	known, err := ExportedMetrics(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{ConnectionsMetric, "router_recipients_total", "http_requests_total"} {
		if !known[m] {
			t.Fatalf("the code scan missed %s (found %v)", m, sortedKeys(known))
		}
	}
	data, err := os.ReadFile(deployPath(t, "grafana", "parley-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDashboard(data, known); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), ConnectionsMetric) {
		t.Errorf("the dashboard does not show %s, the HPA's metric", ConnectionsMetric)
	}
	broken := strings.Replace(string(data), "gateway_closes_total", "gateway_closed_total", 1)
	if err := CheckDashboard([]byte(broken), known); err == nil || !strings.Contains(err.Error(), "gateway_closed_total") {
		t.Fatalf("a misspelt metric passed: %v", err)
	}
}

func TestQueryMetrics(t *testing.T) {
	got := QueryMetrics(`histogram_quantile(0.99, sum by (le, type) (rate(gateway_upstream_duration_seconds_bucket{namespace=~"$namespace", code="x"}[5m]))) / ignoring(x) time() - max(a_b)`)
	want := []string{"gateway_upstream_duration_seconds_bucket", "a_b"}
	if !slices.Equal(got, want) {
		t.Fatalf("QueryMetrics = %v, want %v", got, want)
	}
}
