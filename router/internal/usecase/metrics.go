package usecase

import "github.com/prometheus/client_golang/prometheus"

type routingMetrics struct {
	pushes         *prometheus.CounterVec
	pushConns      prometheus.Histogram
	pushSeconds    prometheus.Histogram
	deliverSeconds prometheus.Histogram
	recipients     *prometheus.CounterVec
	peerFailures   *prometheus.CounterVec
}

func newRoutingMetrics(reg prometheus.Registerer) *routingMetrics {
	m := &routingMetrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_pushes_total", Help: "Push batches sent to gateways, by outcome.",
		}, []string{"outcome"}),
		pushConns: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "router_push_batch_conns", Help: "Connections addressed by one push batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		pushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "router_push_duration_seconds", Help: "Latency of one push batch to a gateway.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12),
		}),
		deliverSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "router_deliver_duration_seconds", Help: "Latency of one deliver call, lookup and pushes included.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12),
		}),
		recipients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_recipients_total", Help: "Delivery recipients, by whether any connection got the frame.",
		}, []string{"result"}),
		peerFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_peer_failures_total", Help: "Failed calls to peer regions' routers.",
		}, []string{"region", "op"}),
	}
	reg.MustRegister(m.pushes, m.pushConns, m.pushSeconds, m.deliverSeconds, m.recipients, m.peerFailures)
	return m
}
