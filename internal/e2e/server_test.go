package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// server is the whole service running in-process, with a small world of
// users seeded through the same services production uses.
type server struct {
	url  string
	app  *app.App
	logs *syncBuffer // the server's log

	tenantA, tenantB, schoolA *roster.Organisation
	users                     map[string]*registry.UserView // by login name
	course                    *roster.Course
	batches                   []*roster.Batch
	enrolled, consented       []int // per batch
	// formerCourse was created by a user who has since lost the
	// CONTENT_CREATOR role (they only mentor now).
	formerCourse *roster.Course
	// Reports of the course creator seeded in final or stuck states, which
	// a live request cannot be made to reach quickly.
	failedReport, expiredReport, processingReport string

	// hashDelay (nanoseconds) slows every password hash, so an upload
	// takes long enough for its progress to be seen between polls.
	hashDelay atomic.Int64
}

// The external identity type linking seeded users to the identity
// provider of the single sign-on tests.
const ssoProvider, ssoIDType = "TN", "sso"

// The password every seeded user signs in with. Not a secret: test data.
const testPassword = "Console-e2e-1"

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `roster serve` in-process on 127.0.0.1 with a fresh
// data directory and database of the given engine. The server log is
// printed only when the test fails.
// configure functions get the address the server will answer on, for
// settings that must name it (the OIDC redirect URL).
func startServer(t *testing.T, engine string, configure ...func(c *app.Config, baseURL string)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	baseURL := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	cfg := app.Config{
		Addr:        "127.0.0.1:0",
		DataDir:     t.TempDir(),
		DatabaseURL: storetest.URL(t, engine),
		LogOutput:   logs,
		LogLevel:    "debug",
		Version:     "e2e",
	}
	for _, f := range configure {
		f(&cfg, baseURL)
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("open app: %v", err)
	}
	// Seeded users and uploaded rows use cheap argon2 parameters: the
	// browser tests are about the console, and the real cost is measured by
	// the benchmarks.
	s := &server{url: baseURL, app: a, logs: logs, users: map[string]*registry.UserView{}}
	a.Registry.HashPassword = func(pw string) string {
		if d := s.hashDelay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		return testkit.CheapHash(pw)
	}
	if err := a.Migrate(ctx); err != nil {
		cancel()
		ln.Close()
		t.Fatalf("migrate: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- a.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("server stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s")
		}
		a.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	waitReady(t, a)
	s.seed(t)
	return s
}

func waitReady(t *testing.T, a *app.App) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := a.Ready(context.Background())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seed creates two tenants, their admins, a course creator and a mentor in
// tenant A, and a course with two batches and a few learners, some of whom
// consented to share their profile; a former creator's course; and the
// creator's past reports.
func (s *server) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	sys := roster.SystemPrincipal
	reg := s.app.Registry
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	var err error
	s.tenantA, err = reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Tamil Nadu", Channel: "TN", IsTenant: true})
	must(err)
	s.tenantB, err = reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Kerala", Channel: "KL", IsTenant: true})
	must(err)
	s.schoolA, err = reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Government Higher Secondary School, Melur", RootOrgID: s.tenantA.ID, ExternalID: "sch-33-0201"})
	must(err)

	var extIDs []roster.ExternalIdentity // for the next user only
	user := func(org *roster.Organisation, login, first, last, email, phone string, roles ...string) *registry.UserView {
		t.Helper()
		u, err := reg.CreateUser(ctx, sys, registry.NewUser{
			User:     roster.User{Username: login, FirstName: first, LastName: last, Email: email, Phone: phone},
			Password: testPassword, OrgID: org.ID, Roles: roles, ExternalIDs: extIDs,
		})
		extIDs = nil
		must(err)
		s.users[login] = u
		return u
	}
	user(s.tenantA, "priya.admin", "Priya", "Raman", "priya.admin@tn.example.org", "9876500001", roster.RoleOrgAdmin)
	creator := user(s.tenantA, "arun.creator", "Arun", "Kumar", "arun.kumar@tn.example.org", "9876500002", roster.RoleContentCreator)
	// Her account at the state's identity provider (subject tn-4711) is
	// linked the way state uploads link SSO users; see ssoProvider.
	extIDs = []roster.ExternalIdentity{{Provider: ssoProvider, IDType: ssoIDType, ExternalID: "tn-4711"}}
	mentor := user(s.tenantA, "meena.mentor", "Meena", "Sundar", "meena.s@tn.example.org", "9876500003", roster.RoleCourseMentor)
	user(s.tenantB, "anil.kl", "Anil", "Menon", "anil.menon@kl.example.org", "9876500004", roster.RoleOrgAdmin, roster.RoleContentCreator)
	former := user(s.tenantA, "vijay.former", "Vijay", "Anand", "vijay.anand@tn.example.org", "9876500005", roster.RoleCourseMentor)

	courses := course.New(s.app.DB)
	s.course, err = courses.CreateCourse(ctx, sys, course.NewCourse{
		ID: "do_3134567890123", Name: "Foundations of Classroom Assessment", RootOrgID: s.tenantA.ID, CreatedBy: creator.ID})
	must(err)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	end := today.AddDate(0, 2, 0)
	// Names that state no month, so they never contradict the dates.
	for i, name := range []string{"Morning cohort", "Weekend cohort"} {
		b, err := courses.CreateBatch(ctx, sys, course.NewBatch{CourseID: s.course.ID, Name: name,
			StartDate: today.AddDate(0, 0, -10*(i+1)), EndDate: &end, Mentors: []string{mentor.ID}})
		must(err)
		s.batches = append(s.batches, b)
	}
	// Learners: batch 1 gets 5 (3 consent, 1 of them later revokes), batch 2
	// gets 2 (1 consents).
	learners := []struct {
		first, last string
		batch       int
		consent     []string
	}{
		{"Lakshmi", "Narayanan", 0, []string{roster.ConsentActive}},
		{"Karthik", "Subramaniam", 0, []string{roster.ConsentActive}},
		{"Divya", "Rajan", 0, []string{roster.ConsentActive, roster.ConsentRevoked}},
		{"Senthil", "Murugan", 0, nil},
		{"Fathima", "Begum", 0, []string{roster.ConsentActive}},
		{"Ravi", "Chandran", 1, []string{roster.ConsentActive}},
		{"Gowri", "Shankar", 1, nil},
	}
	s.enrolled, s.consented = make([]int, len(s.batches)), make([]int, len(s.batches))
	for i, l := range learners {
		login := "learner" + string(rune('a'+i))
		if i == 0 {
			extIDs = []roster.ExternalIdentity{{Provider: "TN", IDType: "studentId", ExternalID: "TN-S-20417"}}
		}
		u := user(s.schoolA, login, l.first, l.last, login+"@school.example.org", "", roster.RolePublic)
		_, err := courses.Enrol(ctx, sys, s.batches[l.batch].ID, u.ID)
		must(err)
		s.enrolled[l.batch]++
		for j, st := range l.consent {
			// Explicit, increasing times: the latest decision must win
			// even on a clock too coarse to separate two quick calls.
			at := time.Now().Add(time.Duration(j-10) * time.Minute)
			_, err := courses.RecordConsent(ctx, sys, course.ConsentInput{UserID: u.ID, CourseID: s.course.ID, Status: st, At: at})
			must(err)
		}
		if n := len(l.consent); n > 0 && l.consent[n-1] == roster.ConsentActive {
			s.consented[l.batch]++
		}
	}

	s.formerCourse, err = courses.CreateCourse(ctx, sys, course.NewCourse{
		ID: "do_3134567890777", Name: "Reading Circles for Primary Teachers", RootOrgID: s.tenantA.ID, CreatedBy: former.ID})
	must(err)
	_, err = courses.CreateBatch(ctx, sys, course.NewBatch{CourseID: s.formerCourse.ID, Name: "First cohort", StartDate: today, EndDate: &end})
	must(err)

	s.seedReports(t, creator.ID)
}

// seedReports gives the creator three earlier requests: one that failed,
// one whose file was deleted, and one still being processed (no job runs
// it, so it stays that way). Their request times are chosen so that
// comparing them as text orders them wrongly: the expired one is half a
// second newer than the failed one, whose time has no fraction.
func (s *server) seedReports(t *testing.T, creatorID string) {
	t.Helper()
	ctx := context.Background()
	db := s.app.DB
	base := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	insert := func(batch int, at time.Time, finish func(tx store.Tx, r *roster.ReportRequest) error) string {
		t.Helper()
		r := &roster.ReportRequest{ID: roster.NewID(), Kind: roster.ReportUserProfileExhaust, Format: roster.ReportCSV, CourseID: s.course.ID, BatchID: s.batches[batch].ID,
			RequestedBy: creatorID, Status: roster.ReportSubmitted, RequestedAt: at}
		err := store.InTx(ctx, db, func(tx store.Tx) error {
			if err := store.InsertReportRequest(ctx, tx, r, nil); err != nil {
				return err
			}
			return finish(tx, r)
		})
		if err != nil {
			t.Fatalf("seed report: %v", err)
		}
		return r.ID
	}
	s.failedReport = insert(0, base, func(tx store.Tx, r *roster.ReportRequest) error {
		return store.FailReport(ctx, tx, r.ID, "The report could not be written: the disk is full.", base.Add(time.Minute))
	})
	s.expiredReport = insert(0, base.Add(500*time.Millisecond), func(tx store.Tx, r *roster.ReportRequest) error {
		done, gone := base.Add(2*time.Minute), base.Add(-time.Hour)
		r.TotalRows, r.ConsentedRows, r.FilePath, r.FileSize, r.FinishedAt, r.ExpiresAt = 5, 3, "gone.zip", 1024, &done, &gone
		if err := store.FinishReport(ctx, tx, r); err != nil {
			return err
		}
		return store.ExpireReport(ctx, tx, r.ID)
	})
	// Recent enough that the retention job does not fail it as stale.
	s.processingReport = insert(1, time.Now().UTC().Add(-5*time.Minute), func(tx store.Tx, r *roster.ReportRequest) error {
		_, err := store.StartReport(ctx, tx, r.ID, r.RequestedAt.Add(time.Second))
		return err
	})
}

func rosterSystem() *roster.Principal { return roster.SystemPrincipal }
