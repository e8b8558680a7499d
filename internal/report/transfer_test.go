package report

import (
	"context"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// Seed 000 places a teacher by their school. After a transfer the report
// must follow the school they are at now, not the one they left, although
// the old membership stays in the database for history.
func TestReportFollowsTransfer(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		chennai, err := f.Reg.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "GHS Egmore", RootOrgID: f.State.ID,
			ExternalID: "SCH-2", LocationIDs: []string{f.Locations["3301"].ID}})
		if err != nil {
			t.Fatal(err)
		}
		district := func() string {
			t.Helper()
			req := f.runNow(t, f.b1.ID)
			for _, row := range parseCSV(t, readArchive(t, req.FilePath, testPassword)) {
				if row[4] == f.u["chitra"] {
					return row[7]
				}
			}
			t.Fatal("chitra is not in the report")
			return ""
		}
		if got := district(); got != "Madurai" {
			t.Fatalf("before the transfer: district %q, want Madurai", got)
		}
		if _, err := f.Reg.TransferUser(ctx, roster.SystemPrincipal, f.u["chitra"],
			registry.Transfer{From: f.school.ID, To: chennai.ID}); err != nil {
			t.Fatal(err)
		}
		if got := district(); got != "Chennai" {
			t.Errorf("after the transfer: district %q, want Chennai (the school she is at now)", got)
		}
		ms, err := store.Memberships(ctx, db, f.u["chitra"])
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 {
			t.Fatalf("memberships = %+v, want the old one kept and the new one", ms)
		}
	})
}
