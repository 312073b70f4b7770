// Package metrics exposes prewarm to Prometheus: what this process's agents
// fetched (tasks by result and POP, bytes, fetch durations), read as they
// happen, and the state of the whole system (jobs by status, tasks queued
// and running, live agents), read from the store at each scrape.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"prewarm/internal/warm"
)

// Metrics is a registry of prewarm's metrics.
type Metrics struct {
	reg      *prometheus.Registry
	tasks    *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// System is where the gauges of the whole system are read (the service).
type System interface {
	Stats(ctx context.Context) (warm.Stats, error)
	Fleet(ctx context.Context) (*warm.Fleet, error)
}

// New registers the metrics. With a system, its gauges are read from it at
// each scrape.
func New(sys System, log *slog.Logger) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prewarm_tasks_total",
			Help: "Tasks (URL × POP) recorded by this process's agents, by result: ok (cached, or not verified), not_cached, failed.",
		}, []string{"result", "pop"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prewarm_fetched_bytes_total",
			Help: "Bytes fetched through edges by this process's agents.",
		}, []string{"pop"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "prewarm_fetch_duration_seconds",
			Help:    "Time to fetch one task, all attempts included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.tasks, m.bytes, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sys != nil {
		m.reg.MustRegister(&systemCollector{sys: sys, log: log})
	}
	return m
}

// Observe counts one recorded task.
func (m *Metrics) Observe(r warm.Result) {
	result := "ok"
	switch {
	case !r.OK:
		result = "failed"
	case r.NotCached():
		result = "not_cached"
	}
	m.tasks.WithLabelValues(result, r.POP).Inc()
	if r.Bytes > 0 {
		m.bytes.WithLabelValues(r.POP).Add(float64(r.Bytes))
	}
	if r.Attempts > 0 {
		m.duration.WithLabelValues(result).Observe(r.Duration.Seconds())
	}
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// systemCollector reads the gauges of the whole system.
type systemCollector struct {
	sys System
	log *slog.Logger
}

var (
	jobsDesc    = prometheus.NewDesc("prewarm_jobs", "Jobs by status.", []string{"status"}, nil)
	queuedDesc  = prometheus.NewDesc("prewarm_tasks_queued", "Tasks of running jobs waiting for an agent.", nil, nil)
	runningDesc = prometheus.NewDesc("prewarm_tasks_running", "Tasks being fetched.", nil, nil)
	agentsDesc  = prometheus.NewDesc("prewarm_agents", "Live agents by state.", []string{"state"}, nil)
	desiredDesc = prometheus.NewDesc("prewarm_desired_capacity", "Agents asked to take work (POST /instances).", nil, nil)
)

func (c *systemCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobsDesc, queuedDesc, runningDesc, agentsDesc, desiredDesc} {
		ch <- d
	}
}

func (c *systemCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.sys.Stats(ctx)
	if err != nil {
		c.log.Warn("metrics: reading the store", "err", err)
		return
	}
	for _, s := range []warm.Status{warm.StatusCreated, warm.StatusInProgress, warm.StatusFinished,
		warm.StatusTimeout, warm.StatusStopped, warm.StatusFailed} {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(st.Jobs[s]), string(s))
	}
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(st.Queued))
	ch <- prometheus.MustNewConstMetric(runningDesc, prometheus.GaugeValue, float64(st.Running))
	fleet, err := c.sys.Fleet(ctx)
	if err != nil {
		c.log.Warn("metrics: reading the fleet", "err", err)
		return
	}
	states := map[string]int{warm.AgentActive: 0, warm.AgentStandby: 0}
	for _, a := range fleet.Agents {
		states[a.State()]++
	}
	for state, n := range states {
		ch <- prometheus.MustNewConstMetric(agentsDesc, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(desiredDesc, prometheus.GaugeValue, float64(fleet.Desired))
}
