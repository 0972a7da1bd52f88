package hub

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the gateway's connection metrics.
type Metrics struct {
	connections   prometheus.Gauge
	authenticated prometheus.Gauge
	pushedFrames  prometheus.Counter
	pushMissing   prometheus.Counter
	closes        *prometheus.CounterVec
}

// NewMetrics registers the hub metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_connections", Help: "Open WebSocket connections, authenticated or not."}),
		authenticated: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_authenticated_connections", Help: "Open, authenticated WebSocket connections."}),
		pushedFrames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_pushed_frames_total", Help: "Frames queued to connections by router pushes."}),
		pushMissing: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_push_missing_total", Help: "Push targets not connected here any more."}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_closes_total", Help: "Connections closed by the gateway, by reason."}, []string{"reason"}),
	}
	reg.MustRegister(m.connections, m.authenticated, m.pushedFrames, m.pushMissing, m.closes)
	return m
}

// Closed counts a close by reason.
func (m *Metrics) Closed(reason string) { m.closes.WithLabelValues(reason).Inc() }
