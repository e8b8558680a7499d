package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-dev/roster/internal/registry"
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

// conflictsCollector reports how many "already in use" answers admins
// got, by whether the value's holder was in their own tenant or another,
// read from the audit log like jobsCollector so every replica agrees. A
// rise of other_tenant is someone probing who is registered elsewhere
// (docs/security.md).
type conflictsCollector struct {
	db   store.Queryer
	desc *prometheus.Desc
}

func newConflictsCollector(db store.Queryer) *conflictsCollector {
	return &conflictsCollector{db: db, desc: prometheus.NewDesc("roster_user_conflicts_total",
		"Answers that an email, phone, username or external id is already in use, by the holder's tenant (same_tenant, other_tenant).",
		[]string{"scope"}, nil)}
}

func (c *conflictsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *conflictsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := store.AuditOutcomes(ctx, c.db, registry.AuditConflict)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	seen := map[string]bool{}
	for _, n := range counts {
		seen[n.Outcome] = true
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n.N), n.Outcome)
	}
	for _, scope := range []string{registry.ConflictSameTenant, registry.ConflictOtherTenant} {
		if !seen[scope] {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, 0, scope)
		}
	}
}
