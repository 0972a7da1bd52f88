package usecase

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are authsvc's own Prometheus series.
type Metrics struct {
	SignIns      *prometheus.CounterVec
	Refreshes    *prometheus.CounterVec
	RefreshReuse prometheus.Counter
	Argon2       *prometheus.HistogramVec
}

// NewMetrics registers the series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SignIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authsvc_sign_ins_total", Help: "Sign-in attempts by outcome.",
		}, []string{"outcome"}),
		Refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authsvc_refreshes_total", Help: "Refresh-token exchanges by outcome.",
		}, []string{"outcome"}),
		RefreshReuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authsvc_refresh_reuse_detected_total",
			Help: "Refresh tokens presented after they were used; each revoked its session.",
		}),
		Argon2: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authsvc_argon2_duration_seconds", Help: "Time of one Argon2id hash (op=hash) or verification (op=verify).",
			Buckets: []float64{.005, .01, .025, .05, .075, .1, .15, .25, .5, 1, 2.5},
		}, []string{"op"}),
	}
	reg.MustRegister(m.SignIns, m.Refreshes, m.RefreshReuse, m.Argon2)
	// Pre-create the series so dashboards see zeros, not gaps.
	for _, o := range []string{"ok", "invalid_credentials", "invalid_argument", "rate_limited", "error"} {
		m.SignIns.WithLabelValues(o)
	}
	for _, o := range []string{"ok", "invalid", "expired", "revoked", "reused", "error"} {
		m.Refreshes.WithLabelValues(o)
	}
	return m
}

// ObserveArgon2 records one hash; pass it to password.NewHasher.
func (m *Metrics) ObserveArgon2(op string, d time.Duration) {
	m.Argon2.WithLabelValues(op).Observe(d.Seconds())
}
