package report

import (
	"context"
	"fmt"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// Seed 000 reports a user as state-validated only while the tenant stands
// behind them: a self-declaration (associationType 2) waiting for approval
// or rejected leaves the user self-signed-up (declared State and District,
// the custodian's Org Name) even with the tenant bit set; approved, it
// counts like an SSO or upload link.
func TestReportConsultsAssociationApproval(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		chitra := func() []string {
			t.Helper()
			r := f.runNow(t, f.b1.ID)
			for _, row := range parseCSV(t, readArchive(t, r.FilePath, testPassword)) {
				if row[4] == f.u["chitra"] {
					return row[6:9] // State, District, Org Name
				}
			}
			t.Fatal("chitra is not in the report")
			return nil
		}
		set := func(assoc int, approved, rejected bool) {
			t.Helper()
			if _, err := db.Exec(ctx, `UPDATE user_organisation SET association_type = $1, is_approved = $2, is_rejected = $3
				WHERE user_id = $4`, assoc, approved, rejected, f.u["chitra"]); err != nil {
				t.Fatal(err)
			}
		}
		validated, selfSignedUp := "[Tamil Nadu Madurai Tamil Nadu]", "[  Custodian]"
		for _, c := range []struct {
			name               string
			assoc              int
			approved, rejected bool
			want               string
		}{
			{"SSO", roster.AssociationSSO, true, false, validated},
			{"self-declared, waiting", roster.AssociationSelfDeclared, false, false, selfSignedUp},
			{"self-declared, approved", roster.AssociationSelfDeclared, true, false, validated},
			{"self-declared, rejected", roster.AssociationSelfDeclared, false, true, selfSignedUp},
			{"system upload", roster.AssociationSystemUpload, true, false, validated},
		} {
			set(c.assoc, c.approved, c.rejected)
			if got := fmt.Sprint(chitra()); got != c.want {
				t.Errorf("%s: State, District, Org Name = %s, want %s", c.name, got, c.want)
			}
		}
	})
}
