package app

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

func TestJobsCollector(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		q, err := jobs.New(db, nil, jobs.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := q.Insert(ctx, report.RetentionArgs{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		got := gather(t, newJobsCollector(db))
		want := map[string]float64{
			"roster_jobs kind=report_retention state=available": 2,
			"roster_jobs_scrape_ok":                             1,
		}
		if len(got) != len(want) {
			t.Errorf("metrics = %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
	})
}

func TestConflictsCollector(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		for _, scope := range []string{registry.ConflictOtherTenant, registry.ConflictOtherTenant, registry.ConflictSameTenant} {
			if err := store.Audit(ctx, db, "admin", registry.AuditConflict, "user", "u", scope, "field=email"); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.Audit(ctx, db, "admin", "user.block", "user", "u", "ok", ""); err != nil {
			t.Fatal(err)
		}
		got := gather(t, newConflictsCollector(db))
		want := map[string]float64{"roster_user_conflicts_total scope=other_tenant": 2, "roster_user_conflicts_total scope=same_tenant": 1}
		if len(got) != len(want) || got["roster_user_conflicts_total scope=other_tenant"] != 2 || got["roster_user_conflicts_total scope=same_tenant"] != 1 {
			t.Errorf("metrics = %v, want %v", got, want)
		}
	})
}

// gather collects c's metrics as "name label=value …" → value (a gauge's
// or a counter's).
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return got
}
