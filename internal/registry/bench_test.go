package registry_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// Create and lookup throughput through the whole service (validation,
// sealing, blind index, savepoint, membership). Password hashing uses cheap
// parameters so the figure is the storage path; argon2's own cost is
// measured in internal/password.
func BenchmarkRegistry(b *testing.B) {
	for _, engine := range storetest.Engines() {
		if engine == "postgres" && os.Getenv(storetest.EnvPostgresURL) == "" {
			continue
		}
		db := storetest.Open(b, engine)
		reg := registry.New(db, testkit.Keyring(b))
		reg.HashPassword = testkit.CheapHash
		ctx := context.Background()
		if _, err := reg.Bootstrap(ctx); err != nil {
			b.Fatal(err)
		}
		state, err := reg.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "State", Channel: "ST", IsTenant: true})
		if err != nil {
			b.Fatal(err)
		}
		var seq atomic.Int64
		create := func() string {
			n := seq.Add(1)
			v, err := reg.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
				User:  roster.User{FirstName: "Bench", Email: fmt.Sprintf("u%d@bench.org", n), Phone: fmt.Sprintf("98%08d", n)},
				OrgID: state.ID, Password: "secret-pass-1"})
			if err != nil {
				b.Fatal(err)
			}
			return v.ID
		}
		b.Run(engine+"/create", func(b *testing.B) {
			for b.Loop() {
				create()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "users/s")
		})
		b.Run(engine+"/create-parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					create()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "users/s")
		})
		b.Run(engine+"/lookup-email", func(b *testing.B) {
			total := seq.Load()
			var i int64
			for b.Loop() {
				i = i%total + 1
				if _, err := reg.FindUser(ctx, roster.SystemPrincipal, registry.LookupQuery{Type: roster.LookupEmail, Value: fmt.Sprintf("u%d@bench.org", i)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}
