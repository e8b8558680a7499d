// Package demo loads example data for `roster demo`: a state tenant with
// locations and schools, a course creator, a mentor and an org admin, and a
// course with two batches whose few hundred learners have every mix the User
// Profile Exhaust distinguishes (consented, never answered, revoked after
// granting; self-signed-up and state-validated; with and without a
// location), so a newcomer can request a report at once.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
)

// Channel is the demo tenant's channel; its existence means the demo data
// is loaded.
const Channel = "demo"

// Options tune Load. Zero values get the defaults noted.
type Options struct {
	Learners int    // default 300
	Password string // staff password; generated when empty
	Seed     uint64 // random seed for the learners' mix; default 1
}

// Account is a staff account created by Load.
type Account struct {
	Role     string `json:"role"`
	UserID   string `json:"userId"`
	Username string `json:"userName"`
	Password string `json:"password"`
}

// Result is what Load created.
type Result struct {
	TenantID   string         `json:"tenantId"`
	TenantName string         `json:"tenantName"`
	CourseID   string         `json:"courseId"`
	CourseName string         `json:"courseName"`
	Batches    []roster.Batch `json:"batches"`
	Accounts   []Account      `json:"accounts"` // creator, mentor, admin
	Learners   int            `json:"learners"`
	SSO        int            `json:"stateValidated"`
	NoLocation int            `json:"withoutLocation"`
	Consented  int            `json:"consented"`
	Revoked    int            `json:"revokedAfterGranting"`
	NoAnswer   int            `json:"neverAnswered"`
}

// ErrLoaded is returned when the demo tenant already exists.
var ErrLoaded = &roster.Error{Code: roster.ECONFLICT, Message: `demo data is already loaded (the tenant with channel "demo" exists); ` +
	"sign in with the accounts printed when it was loaded, or load it into a fresh database"}

// Load creates the demo data through the registry and course services, as
// the system principal. It refuses to run twice.
func Load(ctx context.Context, reg *registry.Service, courses *course.Service, opts Options) (*Result, error) {
	if opts.Learners <= 0 {
		opts.Learners = 300
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Password == "" {
		// Letters and a digit in fixed places so it passes every password rule.
		opts.Password = "Demo-" + roster.RandomString(6, "abcdefghjkmnpqrstuvwxyz") + roster.RandomString(4, "23456789")
	}
	sys := roster.SystemPrincipal
	custodian, err := reg.Bootstrap(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := locations(ctx, reg)
	if err != nil {
		return nil, err
	}
	tenant, err := reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Karnataka (demo)", Channel: Channel, IsTenant: true,
		LocationIDs: []string{loc["state"].ID}})
	if roster.ErrorCode(err) == roster.ECONFLICT {
		return nil, ErrLoaded
	} else if err != nil {
		return nil, fmt.Errorf("demo tenant: %w", err)
	}
	res := &Result{TenantID: tenant.ID, TenantName: tenant.Name}
	var schools []*roster.Organisation
	for i, d := range districts {
		s, err := reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Government High School " + d.name, RootOrgID: tenant.ID,
			ExternalID: fmt.Sprintf("DEMO-SCH-%d", i+1), LocationIDs: []string{loc[d.code].ID}})
		if err != nil {
			return nil, fmt.Errorf("demo school: %w", err)
		}
		schools = append(schools, s)
	}

	staff := map[string]*roster.Principal{}
	for _, s := range []struct{ role, username, first string }{
		{roster.RoleContentCreator, "demo.creator", "Kavya"},
		{roster.RoleCourseMentor, "demo.mentor", "Ravi"},
		{roster.RoleOrgAdmin, "demo.admin", "Lakshmi"},
	} {
		v, err := reg.CreateUser(ctx, sys, registry.NewUser{User: roster.User{Username: s.username, FirstName: s.first,
			LastName: "Demo", Email: s.username + "@example.org", FlagsValue: roster.FlagTenantVerified},
			Password: opts.Password, OrgID: tenant.ID, Roles: []string{s.role}})
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", s.username, err)
		}
		if staff[s.role], err = reg.Principal(ctx, v.ID); err != nil {
			return nil, err
		}
		res.Accounts = append(res.Accounts, Account{Role: s.role, UserID: v.ID, Username: v.Username, Password: opts.Password})
	}

	c, err := courses.CreateCourse(ctx, staff[roster.RoleContentCreator], course.NewCourse{
		Name: "Foundations of Numeracy", RootOrgID: tenant.ID})
	if err != nil {
		return nil, fmt.Errorf("demo course: %w", err)
	}
	res.CourseID, res.CourseName = c.ID, c.Name
	now := time.Now().UTC()
	endA, endB := now.AddDate(0, 2, 0), now.AddDate(0, 4, 0)
	enrolEndB := now.AddDate(0, 1, 0)
	for _, nb := range []course.NewBatch{
		{CourseID: c.ID, Name: "June cohort", Mentors: []string{staff[roster.RoleCourseMentor].UserID},
			StartDate: now.AddDate(0, 0, -30), EndDate: &endA},
		{CourseID: c.ID, Name: "August cohort", Mentors: []string{staff[roster.RoleCourseMentor].UserID},
			StartDate: now.AddDate(0, 0, 10), EndDate: &endB, EnrolmentEndDate: &enrolEndB},
	} {
		b, err := courses.CreateBatch(ctx, staff[roster.RoleContentCreator], nb)
		if err != nil {
			return nil, fmt.Errorf("demo batch: %w", err)
		}
		res.Batches = append(res.Batches, *b)
	}

	ids, err := learners(ctx, reg, opts, tenant, custodian, schools, loc, res)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 2))
	for i, id := range ids {
		batch := res.Batches[0]
		if i%5 >= 3 { // 60% in the running batch, 40% in the upcoming one
			batch = res.Batches[1]
		}
		if _, err := courses.Enrol(ctx, sys, batch.ID, id); err != nil {
			return nil, fmt.Errorf("demo enrolment: %w", err)
		}
		granted := now.Add(-time.Duration(rng.IntN(25*24)+24) * time.Hour)
		record := func(status string, at time.Time) error {
			_, err := courses.RecordConsent(ctx, sys, course.ConsentInput{UserID: id, CourseID: c.ID, Status: status, At: at})
			return err
		}
		switch r := rng.IntN(100); {
		case r < 50:
			err = record(roster.ConsentActive, granted)
			res.Consented++
		case r < 65:
			err = record(roster.ConsentActive, granted)
			if err == nil {
				// Revoked some hours later, but before now: the report
				// reads the ledger as of its own start.
				hours := int(now.Sub(granted)/time.Hour) - 1
				err = record(roster.ConsentRevoked, granted.Add(time.Duration(rng.IntN(hours)+1)*time.Hour))
			}
			res.Revoked++
		default:
			res.NoAnswer++
		}
		if err != nil {
			return nil, fmt.Errorf("demo consent: %w", err)
		}
	}
	return res, nil
}

type place struct{ code, name string }

var districts = []place{{"demo-2901", "Bengaluru Urban"}, {"demo-2902", "Mysuru"}, {"demo-2903", "Belagavi"}}

// locations creates the demo state and its districts, or reuses them when
// an earlier, interrupted run created them. Codes are prefixed "demo-" so
// they never collide with a real location master.
func locations(ctx context.Context, reg *registry.Service) (map[string]*roster.Location, error) {
	out := map[string]*roster.Location{}
	get := func(typ, code, name, parent string) (*roster.Location, error) {
		l, err := store.LocationByTypeCode(ctx, reg.DB(), typ, code)
		if err == nil {
			return l, nil
		} else if !errors.Is(err, store.ErrNoRows) {
			return nil, err
		}
		return reg.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: code, Name: name, Type: typ, ParentID: parent})
	}
	var err error
	if out["state"], err = get(roster.LocationState, "demo-29", "Karnataka", ""); err != nil {
		return nil, fmt.Errorf("demo location: %w", err)
	}
	for _, d := range districts {
		if out[d.code], err = get(roster.LocationDistrict, d.code, d.name, out["state"].ID); err != nil {
			return nil, fmt.Errorf("demo location: %w", err)
		}
	}
	return out, nil
}

var (
	firstNames = []string{"Aarav", "Ananya", "Bhavana", "Chetan", "Deepa", "Farhan", "Gowri", "Harish", "Ishita", "Jayant",
		"Kiran", "Latha", "Manoj", "Nandini", "Omkar", "Pooja", "Rahul", "Sahana", "Tanvi", "Umesh", "Vidya", "Yashas"}
	lastNames = []string{"Rao", "Gowda", "Hegde", "Shetty", "Naik", "Kulkarni", "Patil", "Reddy", "Khan", "Iyer", ""}
)

// learners creates the learners in one transaction (they have no password,
// so nothing slow happens inside it): 40% state-validated teachers with a
// teacher id, half of them in a school; 60% self-signed-up, some with a
// declared state id; about one in five without any location.
func learners(ctx context.Context, reg *registry.Service, opts Options, tenant, custodian *roster.Organisation,
	schools []*roster.Organisation, loc map[string]*roster.Location, res *Result) ([]string, error) {
	rng := rand.New(rand.NewPCG(opts.Seed, 1))
	ids := make([]string, 0, opts.Learners)
	err := store.InTx(ctx, reg.DB(), func(tx store.Tx) error {
		ids = ids[:0]
		res.SSO, res.NoLocation = 0, 0
		for i := range opts.Learners {
			n := i + 1
			in := registry.NewUser{User: roster.User{
				FirstName: firstNames[rng.IntN(len(firstNames))], LastName: lastNames[rng.IntN(len(lastNames))],
				Email: fmt.Sprintf("demo.learner%04d@example.org", n),
			}}
			if rng.IntN(3) > 0 {
				in.User.Phone = fmt.Sprintf("70000%05d", n)
			}
			d := districts[rng.IntN(len(districts))]
			declared := []roster.LocationRef{{Code: "demo-29", Type: roster.LocationState}, {Code: d.code, Type: roster.LocationDistrict}}
			if rng.IntN(100) < 40 {
				res.SSO++
				in.User.FlagsValue = roster.FlagTenantVerified
				in.AssociationType = roster.AssociationSSO
				in.OrgID = tenant.ID
				if rng.IntN(2) == 0 {
					in.OrgID = schools[rng.IntN(len(schools))].ID
				} else if rng.IntN(3) == 0 {
					declared = nil // the state's own location still names the state
				}
				in.ExternalIDs = []roster.ExternalIdentity{{Provider: Channel, IDType: Channel, ExternalID: fmt.Sprintf("KA-T%05d", n)}}
			} else {
				in.OrgID = custodian.ID
				if rng.IntN(100) < 30 {
					in.ExternalIDs = []roster.ExternalIdentity{{Provider: Channel, IDType: "declared-ext-id", ExternalID: fmt.Sprintf("DECL-%05d", n)}}
				}
				if rng.IntN(100) < 30 {
					declared = nil
					res.NoLocation++
				}
			}
			in.User.ProfileLocation = declared
			u, err := reg.CreateUserTx(ctx, tx, roster.SystemPrincipal, in)
			if err != nil {
				return fmt.Errorf("demo learner %d: %w", n, err)
			}
			ids = append(ids, u.ID)
		}
		return nil
	})
	res.Learners = len(ids)
	return ids, err
}

// Summary is what `roster demo` prints: where to look and how to sign in.
// It includes the staff password, which the command shows exactly once.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Demo tenant %q (id %s)\n", r.TenantName, r.TenantID)
	fmt.Fprintf(&b, "Course %q: id %s\n", r.CourseName, r.CourseID)
	for _, bt := range r.Batches {
		fmt.Fprintf(&b, "  batch %q: id %s (%s)\n", bt.Name, bt.ID, bt.Status(time.Now()))
	}
	fmt.Fprintf(&b, "%d learners: %d state-validated, %d self-signed-up without a location; consent: %d granted, %d revoked after granting, %d never answered\n",
		r.Learners, r.SSO, r.NoLocation, r.Consented, r.Revoked, r.NoAnswer)
	b.WriteString("Accounts (this password is shown only now):\n")
	for _, a := range r.Accounts {
		fmt.Fprintf(&b, "  %-16s %-14s password %s\n", a.Role, a.Username, a.Password)
	}
	fmt.Fprintf(&b, "Sign in as %s and request the User Profile Exhaust of course %s.\n", r.Accounts[0].Username, r.CourseID)
	return b.String()
}
