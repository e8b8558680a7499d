package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-dev/roster/internal/store"
)

// jobsCollector reports background jobs by kind and state, read from
// River's job table at scrape time. Counting in the database rather than in
// this process means every replica reports the same, whole-cluster numbers,
// and jobs finished by another replica or a CLI command are included.
type jobsCollector struct {
	db   store.Queryer
	desc *prometheus.Desc
	up   *prometheus.Desc
}

func newJobsCollector(db store.Queryer) *jobsCollector {
	return &jobsCollector{
		db: db,
		desc: prometheus.NewDesc("roster_jobs", "Background jobs by kind and state (River's job table).",
			[]string{"kind", "state"}, nil),
		up: prometheus.NewDesc("roster_jobs_scrape_ok", "1 when the job table could be read at this scrape.", nil, nil),
	}
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	ch <- c.up
}

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ok := 1.0
	if err := c.collect(ctx, ch); err != nil {
		ok = 0
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, ok)
}

func (c *jobsCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	rows, err := c.db.Query(ctx, "SELECT kind, state, COUNT(*) FROM river_job GROUP BY kind, state")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), kind, state)
	}
	return rows.Err()
}
