package wsapi

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the WebSocket endpoint's metrics.
type Metrics struct {
	upgrades        *prometheus.CounterVec
	framesIn        *prometheus.CounterVec
	framesOut       *prometheus.CounterVec
	rejected        *prometheus.CounterVec
	slowConsumers   prometheus.Counter
	upstreamSeconds *prometheus.HistogramVec
}

// NewMetrics registers the WebSocket metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		upgrades: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upgrades_total", Help: "WebSocket upgrade attempts, by outcome."}, []string{"outcome"}),
		framesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_frames_in_total", Help: "Valid client frames, by type."}, []string{"type"}),
		framesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_frames_out_total", Help: "Frames sent to clients by the gateway itself, by type."}, []string{"type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_frames_rejected_total", Help: "Client frames answered with an error, by code."}, []string{"code"}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_send_queue_overflows_total", Help: "Connections closed because their send queue overflowed."}),
		upstreamSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_upstream_duration_seconds", Help: "Latency of relaying a frame to its owning service.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12)}, []string{"type"}),
	}
	reg.MustRegister(m.upgrades, m.framesIn, m.framesOut, m.rejected, m.slowConsumers, m.upstreamSeconds)
	return m
}
