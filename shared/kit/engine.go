package kit

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleychat/parley/shared/errs"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// Probe checks one dependency for readiness (a store ping, say).
type Probe func(ctx context.Context) error

// Ops is a service's operational state shared by its listeners: the metrics
// registry, readiness probes and the draining flag.
type Ops struct {
	Service  string
	Logger   *slog.Logger
	Registry *prometheus.Registry

	draining atomic.Bool
	mu       sync.Mutex
	probes   map[string]Probe

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewOps returns the ops state of service, with Go and process collectors registered.
func NewOps(service string, logger *slog.Logger) *Ops {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	o := &Ops{Service: service, Logger: logger, Registry: reg, probes: map[string]Probe{}}
	o.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests by listener, route, method and status.",
	}, []string{"listener", "route", "method", "status"})
	o.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "HTTP request latency by listener and route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"listener", "route"})
	reg.MustRegister(o.requests, o.duration)
	return o
}

// AddProbe registers a readiness check under name.
func (o *Ops) AddProbe(name string, p Probe) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.probes[name] = p
}

// SetDraining makes /readyz fail, so load balancers stop sending new work
// while in-flight work finishes.
func (o *Ops) SetDraining(v bool) { o.draining.Store(v) }

// Draining reports whether the service is draining.
func (o *Ops) Draining() bool { return o.draining.Load() }

// NewEngine returns a gin engine for one listener with recovery, request
// logging, request metrics and the ops endpoints /healthz, /readyz and /metrics.
func (o *Ops) NewEngine(listener string) *gin.Engine {
	e := gin.New()
	e.ContextWithFallback = true
	e.HandleMethodNotAllowed = true
	e.Use(o.recovery(), o.observe(listener))
	e.NoRoute(func(c *gin.Context) { AbortWithError(c, errs.New(errs.NotFound, "no such endpoint")) })
	e.NoMethod(func(c *gin.Context) { AbortWithError(c, errs.New(errs.InvalidArgument, "method not allowed")) })
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok", "service": o.Service}) })
	e.GET("/readyz", o.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{Registry: o.Registry})))
	return e
}

func (o *Ops) readyz(c *gin.Context) {
	if o.Draining() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
		return
	}
	o.mu.Lock()
	probes := make(map[string]Probe, len(o.probes))
	for k, v := range o.probes {
		probes[k] = v
	}
	o.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	failed := gin.H{}
	for name, p := range probes {
		if err := p(ctx); err != nil {
			failed[name] = err.Error()
		}
	}
	if len(failed) > 0 {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready", "failed": failed})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// recovery turns a panic into a logged internal error instead of a dead process.
func (o *Ops) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				o.Logger.Error("panic in handler", slog.Any("panic", p), slog.String("path", c.FullPath()))
				AbortWithError(c, errs.New(errs.Internal, "internal error"))
			}
		}()
		c.Next()
	}
}

// observe logs each request and records its metrics. Routes are labelled by
// their pattern, never by raw path, so label cardinality stays bounded.
func (o *Ops) observe(listener string) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		elapsed := time.Since(start)
		o.requests.WithLabelValues(listener, route, c.Request.Method, strconv.Itoa(status)).Inc()
		o.duration.WithLabelValues(listener, route).Observe(elapsed.Seconds())
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			return
		}
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelWarn
		}
		o.Logger.Log(c.Request.Context(), level, "http request",
			slog.String("listener", listener), slog.String("method", c.Request.Method),
			slog.String("route", route), slog.Int("status", status), slog.Duration("elapsed", elapsed))
	}
}
