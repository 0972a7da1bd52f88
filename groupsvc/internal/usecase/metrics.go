package usecase

import "github.com/prometheus/client_golang/prometheus"

// Metrics are groupsvc's own Prometheus series.
type Metrics struct {
	OutboxDepth     prometheus.Gauge
	EventPosts      *prometheus.CounterVec
	Conflicts       prometheus.Counter
	LimitRejections *prometheus.CounterVec
}

// NewMetrics registers the series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		OutboxDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "groupsvc_outbox_depth", Help: "Group events not yet acknowledged by messagesvc, as of the last dispatcher pass.",
		}),
		EventPosts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupsvc_event_posts_total", Help: "Group events posted to messagesvc by outcome (ok; error: retried; rejected: invalid for messagesvc, dropped; dropped: no messages URL).",
		}, []string{"outcome"}),
		Conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "groupsvc_change_conflicts_total", Help: "Changes that lost a race on the group's version and were retried.",
		}),
		LimitRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupsvc_limit_rejections_total", Help: "Joins refused by a size limit, by limit (group, platform).",
		}, []string{"limit"}),
	}
	reg.MustRegister(m.OutboxDepth, m.EventPosts, m.Conflicts, m.LimitRejections)
	for _, o := range []string{"ok", "error", "rejected", "dropped"} {
		m.EventPosts.WithLabelValues(o)
	}
	for _, l := range []string{"group", "platform"} {
		m.LimitRejections.WithLabelValues(l)
	}
	return m
}
