package usecase

import "github.com/prometheus/client_golang/prometheus"

// Metrics are mediasvc's own Prometheus series.
type Metrics struct {
	Uploads        *prometheus.CounterVec
	UploadBytes    prometheus.Counter
	DedupHits      prometheus.Counter
	Thumbnails     *prometheus.CounterVec
	CleanupRuns    *prometheus.CounterVec
	CleanupDeleted *prometheus.CounterVec
	CleanupBytes   prometheus.Counter
	CleanupLastOK  prometheus.Gauge
}

// Upload outcomes (label values of mediasvc_uploads_total).
const (
	outcomeOK          = "ok"
	outcomeTooLarge    = "too_large"
	outcomeForbidden   = "forbidden_type"
	outcomeInterrupted = "interrupted"
	outcomeInvalid     = "invalid"
	outcomeError       = "error"
	outcomeRateLimited = "rate_limited"
)

// NewMetrics registers the series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediasvc_uploads_total", Help: "Uploads by path (stream, presigned) and outcome.",
		}, []string{"path", "outcome"}),
		UploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mediasvc_upload_bytes_total", Help: "Bytes of finalized uploads, deduplicated or not.",
		}),
		DedupHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mediasvc_dedup_hits_total", Help: "Finalized uploads whose content was already stored.",
		}),
		Thumbnails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediasvc_thumbnails_total", Help: "Thumbnails by outcome (ok, too_large, undecodable, error).",
		}, []string{"outcome"}),
		CleanupRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediasvc_cleanup_runs_total", Help: "Cleanup passes by outcome.",
		}, []string{"outcome"}),
		CleanupDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediasvc_cleanup_deleted_total",
			Help: "Things the cleanup deleted: orphan media, abandoned pending uploads, blobs, stray objects, tombstones.",
		}, []string{"kind"}),
		CleanupBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mediasvc_cleanup_deleted_bytes_total", Help: "Bytes of blobs and stray objects the cleanup deleted.",
		}),
		CleanupLastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mediasvc_cleanup_last_success_timestamp_seconds", Help: "When the last cleanup pass finished without error.",
		}),
	}
	reg.MustRegister(m.Uploads, m.UploadBytes, m.DedupHits, m.Thumbnails, m.CleanupRuns, m.CleanupDeleted,
		m.CleanupBytes, m.CleanupLastOK)
	// Pre-create the series so dashboards see zeros, not gaps.
	for _, p := range []string{"stream", "presigned"} {
		for _, o := range []string{outcomeOK, outcomeTooLarge, outcomeForbidden, outcomeInterrupted, outcomeInvalid, outcomeError, outcomeRateLimited} {
			m.Uploads.WithLabelValues(p, o)
		}
	}
	for _, o := range []string{"ok", "too_large", "undecodable", "error"} {
		m.Thumbnails.WithLabelValues(o)
	}
	for _, o := range []string{"ok", "error"} {
		m.CleanupRuns.WithLabelValues(o)
	}
	for _, k := range cleanupKinds {
		m.CleanupDeleted.WithLabelValues(k)
	}
	return m
}
