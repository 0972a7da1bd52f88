package manifestcheck

import (
	"os"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

// adapterValues is the part of the prometheus-adapter chart's values the
// repository sets; strict decoding catches a misplaced key.
type adapterValues struct {
	Rules struct {
		Default bool `json:"default"`
		Custom  []struct {
			SeriesQuery string `json:"seriesQuery"`
			Resources   struct {
				Overrides map[string]struct {
					Resource string `json:"resource"`
				} `json:"overrides"`
			} `json:"resources"`
			Name struct {
				Matches string `json:"matches"`
				As      string `json:"as"`
			} `json:"name"`
			MetricsQuery string `json:"metricsQuery"`
		} `json:"custom"`
	} `json:"rules"`
}

func TestPrometheusAdapterServesTheHPAMetric(t *testing.T) {
	data, err := os.ReadFile(deployPath(t, "k8s", "prometheus-adapter", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v adapterValues
	if err := yaml.UnmarshalStrict(data, &v); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range v.Rules.Custom {
		if r.Name.As != ConnectionsMetric {
			continue
		}
		found = true
		if got := QueryMetrics(r.SeriesQuery); !slices.Equal(got, []string{ConnectionsMetric}) {
			t.Errorf("seriesQuery %q reads %v, want %s", r.SeriesQuery, got, ConnectionsMetric)
		}
		if r.Resources.Overrides["pod"].Resource != "pod" || r.Resources.Overrides["namespace"].Resource != "namespace" {
			t.Errorf("the rule must map the pod and namespace labels to their resources (a Pods metric), got %+v", r.Resources.Overrides)
		}
	}
	if !found {
		t.Fatalf("no adapter rule exposes %s, which the gateway HPA scales on", ConnectionsMetric)
	}
}
