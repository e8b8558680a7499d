package app

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// The report settings reach the report service, and zero means its
// defaults (7 days, 30 minutes).
func TestReportRetentionAndLinkTTL(t *testing.T) {
	open := func(cfg Config) (*App, error) {
		cfg.DataDir, cfg.LogOutput = t.TempDir(), io.Discard
		a, err := Open(context.Background(), cfg)
		if err == nil {
			t.Cleanup(func() { a.Close() })
		}
		return a, err
	}
	a, err := open(Config{ReportRetention: 48 * time.Hour, ReportLinkTTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if c := a.Reports.Config(); c.Retention != 48*time.Hour || c.LinkTTL != 10*time.Minute {
		t.Fatalf("report config: retention %v, link TTL %v", c.Retention, c.LinkTTL)
	}
	a, err = open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := a.Reports.Config(); c.Retention != 7*24*time.Hour || c.LinkTTL != 30*time.Minute {
		t.Fatalf("default report config: retention %v, link TTL %v", c.Retention, c.LinkTTL)
	}
	if _, err := open(Config{ReportRetention: -time.Hour}); err == nil || !strings.Contains(err.Error(), "report-retention") {
		t.Fatalf("negative retention: %v", err)
	}
}
