package report

import (
	"context"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// Erased learners stay in the User Profile Exhaust, so counts do not
// change, but with every personal cell blank and Consent Provided "No",
// whatever they had consented to.
func TestExhaustShowsErasedUsersBlank(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		for _, name := range []string{"asha", "jaya"} { // consented: a self-signed-up learner, an SSO teacher in a school
			if err := f.Reg.EraseUser(ctx, roster.SystemPrincipal, f.u[name], ""); err != nil {
				t.Fatal(err)
			}
		}
		want := f.expected(false)
		for i, r := range want {
			switch r[4] {
			case f.u["asha"]: // her declared location went with her
				want[i] = append(r[:5:5], "", "", "", "Custodian", "", "", "", "No", "")
			case f.u["jaya"]: // her school's location is the school's, not hers
				want[i] = append(r[:5:5], "", "Tamil Nadu", "Madurai", "Tamil Nadu", "", "", "", "No", "")
			}
		}
		r := f.runNow(t, f.b1.ID)
		compareRows(t, parseCSV(t, readArchive(t, r.FilePath, testPassword)), want)
		if r.TotalRows != 8 || r.ConsentedRows != 3 {
			t.Errorf("counts = %d/%d, want 8 rows, 3 consented", r.TotalRows, r.ConsentedRows)
		}
	})
}
