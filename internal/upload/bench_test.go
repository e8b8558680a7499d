package upload

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

const benchRows = 1000

var benchHeader = []string{"firstName", "lastName", "phone", "email", "userName", "password", "roles", "grade", "DOB", "gender", "language"}

// benchFile is a 1000-row upload whose contacts are unique per iteration.
func benchFile(iter int) []byte {
	rows := make([][]string, benchRows)
	for i := range rows {
		n := iter*benchRows + i
		rows[i] = []string{"Bench", "User", fmt.Sprintf("9%09d", n), fmt.Sprintf("u%d@bench.example.org", n),
			fmt.Sprintf("bench_%d", n), "Welcome@2024", "CONTENT_CREATOR", "Class 6,Class 7", "14-08-1985", "Female", "Tamil"}
	}
	return csvFile(benchHeader, rows...)
}

// BenchmarkUpload measures a whole 1000-row upload (parse, validate, hash,
// create users with lookups and memberships, record outcomes) with the
// production argon2id cost and with a negligible one; the second shows
// what the pipeline costs besides hashing. Compare with BenchmarkHashFloor.
//
//	go test -run x -bench 'Upload|HashFloor|ParseValidate' -benchtime 3x ./internal/upload/
func BenchmarkUpload(b *testing.B) {
	modes := []struct {
		name string
		hash func(string) string
	}{
		{"argon2id-default", password.Hash},
		{"argon2id-cheap", testkit.CheapHash},
	}
	for _, engine := range storetest.Engines() {
		if engine == "postgres" && os.Getenv(storetest.EnvPostgresURL) == "" {
			continue
		}
		for _, mode := range modes {
			b.Run(engine+"/"+mode.name, func(b *testing.B) {
				f := newFixture(b, storetest.Open(b, engine))
				f.reg.HashPassword = mode.hash
				iter := 0
				cpu := cpuTime()
				for b.Loop() {
					up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "bench.csv", benchFile(iter), false)
					if err != nil {
						b.Fatal(err)
					}
					if err := f.svc.Process(f.ctx, up.ID); err != nil {
						b.Fatal(err)
					}
					iter++
					if got, _ := f.svc.Get(f.ctx, f.adminA, up.ID); got.Succeeded != benchRows {
						b.Fatalf("created %d users: %+v", got.Succeeded, got)
					}
				}
				reportRates(b, cpuTime()-cpu)
			})
		}
	}
}

// BenchmarkUpdateUpload measures a 1000-row update upload: SubmitWith
// (parse, and every row worked out and rolled back for the change
// threshold), then the worker changing each row's user through the
// registry's ChangeUserTx (match by userName, rule book, phone moved in
// the lookup, roles of the membership, audit). Every iteration changes
// lastName, phone and roles of all 1000 users, confirmed past the
// threshold. No password is hashed: an update sets none.
//
//	go test -run x -bench UpdateUpload -benchtime 3x ./internal/upload/
func BenchmarkUpdateUpload(b *testing.B) {
	for _, engine := range storetest.Engines() {
		if engine == "postgres" && os.Getenv(storetest.EnvPostgresURL) == "" {
			continue
		}
		b.Run(engine, func(b *testing.B) {
			f := newFixture(b, storetest.Open(b, engine))
			f.reg.HashPassword = testkit.CheapHash
			up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "seed.csv", benchFile(0), false)
			if err == nil {
				err = f.svc.Process(f.ctx, up.ID)
			}
			if err != nil {
				b.Fatal(err)
			}
			roles := []string{"COURSE_MENTOR", "CONTENT_CREATOR"}
			iter := 1
			cpu := cpuTime()
			for b.Loop() {
				rows := make([][]string, benchRows)
				for i := range rows {
					rows[i] = []string{fmt.Sprintf("bench_%d", i), fmt.Sprintf("Iter%c", 'A'+iter%26),
						fmt.Sprintf("8%09d", iter*benchRows+i), roles[iter%2]}
				}
				data := csvFile([]string{"userName", "lastName", "phone", "roles"}, rows...)
				up, err := f.svc.SubmitWith(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "update.csv", data,
					Options{Mode: roster.UploadModeUpdate, Confirm: true})
				if err != nil {
					b.Fatal(err)
				}
				if err := f.svc.Process(f.ctx, up.ID); err != nil {
					b.Fatal(err)
				}
				iter++
				if got, _ := f.svc.Get(f.ctx, f.adminA, up.ID); got.Succeeded != benchRows {
					b.Fatalf("updated %d users: %+v", got.Succeeded, got)
				}
			}
			reportRates(b, cpuTime()-cpu)
		})
	}
}

// BenchmarkHashFloor is 1000 default argon2id hashes on all cores, the
// same way the worker runs them: no upload can be faster than this.
func BenchmarkHashFloor(b *testing.B) {
	reg := registry.New(nil, testkit.Keyring(b))
	cpu := cpuTime()
	for b.Loop() {
		recs := make([]*Record, benchRows)
		for i := range recs {
			recs[i] = &Record{}
			recs[i].User.Password = "Welcome@2024"
		}
		hashAll(b.Context(), recs, runtime.NumCPU(), reg.HashForUpload)
	}
	reportRates(b, cpuTime()-cpu)
}

// BenchmarkParseValidate is decoding and validating a 1000-row file.
func BenchmarkParseValidate(b *testing.B) {
	data := benchFile(0)
	cpu := cpuTime()
	for b.Loop() {
		f, err := Parse("bench.csv", data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range ValidateRows(f.Rows, roster.Now()) {
			if !r.OK() {
				b.Fatal(r.Errors)
			}
		}
	}
	reportRates(b, cpuTime()-cpu)
}

// reportRates reports rows per wall-clock second, and the CPU seconds this
// process spent per 1000 rows (PostgreSQL's own CPU is not included).
func reportRates(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/1000rows")
}
