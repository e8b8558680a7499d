package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// server is the whole service running in-process, with a small world of
// users seeded through the same services production uses.
type server struct {
	url string
	app *app.App

	tenantA, tenantB, schoolA *roster.Organisation
	users                     map[string]*registry.UserView // by login name
	course                    *roster.Course
	batches                   []*roster.Batch
	enrolled, consented       []int // per batch
}

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
	a.Registry.HashPassword = testkit.CheapHash
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
	s := &server{url: baseURL, app: a, users: map[string]*registry.UserView{}}
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
// consented to share their profile.
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

	user := func(org *roster.Organisation, login, first, last, email, phone string, roles ...string) *registry.UserView {
		t.Helper()
		u, err := reg.CreateUser(ctx, sys, registry.NewUser{
			User:     roster.User{Username: login, FirstName: first, LastName: last, Email: email, Phone: phone},
			Password: testPassword, OrgID: org.ID, Roles: roles,
		})
		must(err)
		s.users[login] = u
		return u
	}
	user(s.tenantA, "priya.admin", "Priya", "Raman", "priya.admin@tn.example.org", "9876500001", roster.RoleOrgAdmin)
	creator := user(s.tenantA, "arun.creator", "Arun", "Kumar", "arun.kumar@tn.example.org", "9876500002", roster.RoleContentCreator)
	mentor := user(s.tenantA, "meena.mentor", "Meena", "Sundar", "meena.s@tn.example.org", "9876500003", roster.RoleCourseMentor)
	user(s.tenantB, "anil.kl", "Anil", "Menon", "anil.menon@kl.example.org", "9876500004", roster.RoleOrgAdmin, roster.RoleContentCreator)

	courses := course.New(s.app.DB)
	s.course, err = courses.CreateCourse(ctx, sys, course.NewCourse{
		ID: "do_3134567890123", Name: "Foundations of Classroom Assessment", RootOrgID: s.tenantA.ID, CreatedBy: creator.ID})
	must(err)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	end := today.AddDate(0, 2, 0)
	for i, name := range []string{"June 2025 cohort", "Weekend cohort"} {
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
}

func rosterSystem() *roster.Principal { return roster.SystemPrincipal }
