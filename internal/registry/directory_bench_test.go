package registry_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// directoryBenchUsers is the size of the tenant the directory is measured
// on: a large state's teachers.
const directoryBenchUsers = 100_000

// BenchmarkDirectory measures one 50-user page of a 100k-user tenant's
// directory (docs/BENCHMARKS.md): the first page, a page deep in the list,
// a name search, a search no one matches (the worst case: every name of
// the tenant is looked at) and a role filter within a school.
func BenchmarkDirectory(b *testing.B) {
	for _, engine := range storetest.Engines() {
		if engine == "postgres" && os.Getenv(storetest.EnvPostgresURL) == "" {
			continue
		}
		db := storetest.Open(b, engine)
		reg := registry.New(db, testkit.Keyring(b))
		ctx := context.Background()
		if _, err := reg.Bootstrap(ctx); err != nil {
			b.Fatal(err)
		}
		state, err := reg.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "State", Channel: "ST", IsTenant: true})
		if err != nil {
			b.Fatal(err)
		}
		school, err := reg.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "School", RootOrgID: state.ID})
		if err != nil {
			b.Fatal(err)
		}
		middle := fillDirectory(b, db, state, school)
		for _, c := range []struct {
			name string
			org  string
			f    registry.DirectoryFilter
		}{
			{"first-page", state.ID, registry.DirectoryFilter{}},
			{"deep-page", state.ID, registry.DirectoryFilter{Cursor: middle}},
			{"search", state.ID, registry.DirectoryFilter{Query: "lak"}},
			{"search-two-words", state.ID, registry.DirectoryFilter{Query: "lak nar"}},
			{"search-no-match", state.ID, registry.DirectoryFilter{Query: "zzq"}},
			{"school-role", state.ID, registry.DirectoryFilter{School: school.ID, Role: roster.RoleContentCreator}},
		} {
			b.Run(engine+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := reg.Directory(ctx, roster.SystemPrincipal, c.org, c.f); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
			})
		}
	}
}

// fillDirectory writes directoryBenchUsers users straight to the store (the
// create path is measured elsewhere) with names from a small list, one in
// ten a member of school as a content creator; it returns the cursor of
// the middle of the list.
func fillDirectory(b *testing.B, db store.Engine, state, school *roster.Organisation) string {
	b.Helper()
	ctx := context.Background()
	firsts := []string{"Lakshmi", "Karthik", "Divya", "Senthil", "Fathima", "Ravi", "Gowri", "Arun", "Meena", "Priya", "Anil", "Vijay"}
	lasts := []string{"Narayanan", "Subramaniam", "Rajan", "Murugan", "Begum", "Chandran", "Shankar", "Kumar", "Sundar", "Raman"}
	now := roster.Now()
	var middle string
	const chunk = 5000
	for start := 0; start < directoryBenchUsers; start += chunk {
		var users []*store.UserRecord
		var ms []roster.Membership
		for i := start; i < start+chunk; i++ {
			u := &store.UserRecord{User: roster.User{ID: roster.NewID(), Username: fmt.Sprintf("user_%d", i),
				FirstName: firsts[i%len(firsts)], LastName: lasts[(i/len(firsts))%len(lasts)] + fmt.Sprint(i%7),
				RootOrgID: state.ID, Status: roster.StatusActive, CreatedDate: now}}
			users = append(users, u)
			m := roster.Membership{UserID: u.ID, OrganisationID: state.ID, Roles: []string{roster.RolePublic}, IsApproved: true, OrgJoinDate: now}
			if i%10 == 0 {
				m.OrganisationID, m.Roles = school.ID, []string{roster.RoleContentCreator}
			}
			ms = append(ms, m)
			if i == directoryBenchUsers/2 {
				middle = u.ID
			}
		}
		err := store.InTx(ctx, db, func(tx store.Tx) error {
			if err := store.InsertUsers(ctx, tx, users); err != nil {
				return err
			}
			return store.InsertMemberships(ctx, tx, ms)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return registry.CursorFor(middle)
}
