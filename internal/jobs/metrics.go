package jobs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_workflow_step_runs_total",
			Help: "Workflow step executions by workflow kind, step and outcome.",
		}, []string{"kind", "step", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vitrine_workflow_step_duration_seconds",
			Help:    "Duration of workflow step executions.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"kind", "step", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.duration)
	}
	return m
}

func (m *metrics) observe(kind, step, outcome string, d time.Duration) {
	m.runs.WithLabelValues(kind, step, outcome).Inc()
	m.duration.WithLabelValues(kind, step, outcome).Observe(d.Seconds())
}
