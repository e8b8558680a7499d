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
	// Progress, when set, is called after each chunk of learners with the
	// number loaded so far.
	Progress func(done, total int)
}

// MaxLearners bounds --learners: the phone numbers and ids below are
// distinct up to it, and a million is already far more than a state's
// largest course.
const MaxLearners = 1_000_000

// chunk is how many learners one transaction loads: big enough that
// commits do not dominate, small enough that an interrupted load keeps
// what it committed and SQLite's write lock is released often.
const chunk = 2000

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
	"its accounts are in demo-accounts.txt in the data directory; roster demo --reset gives them new passwords"}

// staffAccounts are the demo's signed-in people, creator first: the one
// the summary suggests.
var staffAccounts = []struct{ role, username, first string }{
	{roster.RoleContentCreator, "demo.creator", "Kavya"},
	{roster.RoleCourseMentor, "demo.mentor", "Ravi"},
	{roster.RoleOrgAdmin, "demo.admin", "Lakshmi"},
}

// Load creates the demo data as the system principal: tenant, schools,
// staff, course and batches through the registry and course services, the
// learners in bulk (see learners). It refuses to run twice.
func Load(ctx context.Context, db store.Engine, reg *registry.Service, courses *course.Service, opts Options) (*Result, error) {
	if opts.Learners <= 0 {
		opts.Learners = 300
	}
	if opts.Learners > MaxLearners {
		return nil, roster.Invalid(roster.FieldError{Field: "learners", Message: fmt.Sprintf("must be at most %d", MaxLearners)})
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Password == "" {
		opts.Password = newPassword()
	}
	sys := roster.SystemPrincipal
	custodian, err := reg.Bootstrap(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := locations(ctx, db, reg)
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
	for _, s := range staffAccounts {
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

	if err := learners(ctx, db, reg, opts, tenant, custodian, schools, c, res); err != nil {
		return nil, err
	}
	// One entry for the lot: the learners were loaded, not enrolled by anyone.
	_ = store.Audit(ctx, db, roster.SystemPrincipal.UserID, "demo.load", "course", c.ID, "ok", fmt.Sprintf("learners=%d", res.Learners))
	return res, nil
}

// newPassword has letters and digits in fixed places so it passes every
// password rule.
func newPassword() string {
	return "Demo-" + roster.RandomString(6, "abcdefghjkmnpqrstuvwxyz") + roster.RandomString(4, "23456789")
}

// ErrNotLoaded is ResetAccounts' answer when there is no demo to reset.
var ErrNotLoaded = roster.Errorf(roster.ENOTFOUND, `no demo data is loaded (no tenant with channel "demo")`)

// ResetAccounts gives the demo's staff accounts a new password (generated
// when empty) and ends their sessions, for a demo whose printed password
// was lost; the tenant, course and learners stay as they are.
func ResetAccounts(ctx context.Context, db store.Engine, reg *registry.Service, password string) (*Result, error) {
	tenant, err := store.TenantByChannel(ctx, db, Channel)
	if errors.Is(err, store.ErrNoRows) {
		return nil, ErrNotLoaded
	} else if err != nil {
		return nil, err
	}
	if password == "" {
		password = newPassword()
	}
	res := &Result{TenantID: tenant.ID, TenantName: tenant.Name}
	for _, s := range staffAccounts {
		id, err := reg.LookupUserID(ctx, registry.LookupQuery{Type: roster.LookupUsername, Value: s.username})
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", s.username, err)
		}
		if err := reg.SetPasswordByOperator(ctx, roster.SystemPrincipal, id, password); err != nil {
			return nil, fmt.Errorf("demo account %s: %w", s.username, err)
		}
		res.Accounts = append(res.Accounts, Account{Role: s.role, UserID: id, Username: s.username, Password: password})
	}
	return res, nil
}

// AccountsText lists the staff accounts and where to sign in, for the
// terminal and for the accounts file.
func (r *Result) AccountsText(signInURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Demo accounts of %q; sign in at %s\n", r.TenantName, signInURL)
	for _, a := range r.Accounts {
		fmt.Fprintf(&b, "  %-16s %-14s password %s\n", a.Role, a.Username, a.Password)
	}
	return b.String()
}

type place struct{ code, name string }

var districts = []place{{"demo-2901", "Bengaluru Urban"}, {"demo-2902", "Mysuru"}, {"demo-2903", "Belagavi"}}

// locations creates the demo state and its districts, or reuses them when
// an earlier, interrupted run created them. Codes are prefixed "demo-" so
// they never collide with a real location master.
func locations(ctx context.Context, db store.Engine, reg *registry.Service) (map[string]*roster.Location, error) {
	out := map[string]*roster.Location{}
	get := func(typ, code, name, parent string) (*roster.Location, error) {
		l, err := store.LocationByTypeCode(ctx, db, typ, code)
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

// learners creates the learners with their enrolments and consent, chunk
// by chunk, each in one transaction of multi-row inserts: 40%
// state-validated teachers with a teacher id, half of them in a school; 60%
// self-signed-up, some with a declared state id; about one in five without
// any location. 60% are in the running batch, 40% in the upcoming one; half
// consented, 15% revoked after granting, the rest never answered. They
// have no password, so no hash is computed.
func learners(ctx context.Context, db store.Engine, reg *registry.Service, opts Options, tenant, custodian *roster.Organisation,
	schools []*roster.Organisation, c *roster.Course, res *Result) error {
	rng := rand.New(rand.NewPCG(opts.Seed, 1))
	now := roster.Now()
	for start := 0; start < opts.Learners; start += chunk {
		n := min(chunk, opts.Learners-start)
		users := make([]registry.NewUser, n)
		for i := range users {
			users[i] = learner(rng, start+i+1, tenant, custodian, schools)
			if users[i].AssociationType == roster.AssociationSSO {
				res.SSO++
			} else if users[i].User.ProfileLocation == nil {
				res.NoLocation++ // a tenant's teacher still has the state's location
			}
		}
		var consented, revoked, noAnswer int
		err := store.InTx(ctx, db, func(tx store.Tx) error {
			consented, revoked, noAnswer = 0, 0, 0
			ids, err := reg.CreateUsersTx(ctx, tx, roster.SystemPrincipal, users)
			if err != nil {
				return fmt.Errorf("demo learners: %w", err)
			}
			enrolments := make([]roster.Enrolment, len(ids))
			var consents []roster.Consent
			// Each attempt draws the same mix: InTx may run this twice.
			crng := rand.New(rand.NewPCG(opts.Seed, 2+uint64(start)))
			for i, id := range ids {
				batch := res.Batches[0]
				if (start+i)%5 >= 3 {
					batch = res.Batches[1]
				}
				enrolments[i] = roster.Enrolment{UserID: id, CourseID: c.ID, BatchID: batch.ID, EnrolledDate: now, Active: true}
				entry := func(status string, at time.Time) roster.Consent {
					return roster.Consent{ID: roster.NewID(), UserID: id, ConsumerID: c.RootOrgID, ObjectID: c.ID,
						ObjectType: roster.ConsentCollection, Status: status, At: at.Truncate(time.Microsecond)}
				}
				granted := now.Add(-time.Duration(crng.IntN(25*24)+24) * time.Hour)
				switch r := crng.IntN(100); {
				case r < 50:
					consents = append(consents, entry(roster.ConsentActive, granted))
					consented++
				case r < 65:
					// Revoked some hours later, but before now: the report
					// reads the ledger as of its own start.
					hours := int(now.Sub(granted)/time.Hour) - 1
					consents = append(consents, entry(roster.ConsentActive, granted),
						entry(roster.ConsentRevoked, granted.Add(time.Duration(crng.IntN(hours)+1)*time.Hour)))
					revoked++
				default:
					noAnswer++
				}
			}
			if err := store.InsertEnrolments(ctx, tx, enrolments); err != nil {
				return fmt.Errorf("demo enrolments: %w", err)
			}
			if err := store.InsertConsents(ctx, tx, consents); err != nil {
				return fmt.Errorf("demo consent: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		res.Learners += n
		res.Consented += consented
		res.Revoked += revoked
		res.NoAnswer += noAnswer
		if opts.Progress != nil {
			opts.Progress(res.Learners, opts.Learners)
		}
	}
	return nil
}

// phone is the n-th learner's number: 7 and n in nine digits, a valid
// ten-digit Indian mobile number, distinct up to MaxLearners (70000 and
// five digits overflowed at 100,000).
func phone(n int) string { return fmt.Sprintf("7%09d", n) }

// learner is the n-th demo learner.
func learner(rng *rand.Rand, n int, tenant, custodian *roster.Organisation, schools []*roster.Organisation) registry.NewUser {
	in := registry.NewUser{User: roster.User{
		FirstName: firstNames[rng.IntN(len(firstNames))], LastName: lastNames[rng.IntN(len(lastNames))],
		Username: fmt.Sprintf("demo.learner%07d", n), Email: fmt.Sprintf("demo.learner%07d@example.org", n),
	}}
	if rng.IntN(3) > 0 {
		in.User.Phone = phone(n)
	}
	d := districts[rng.IntN(len(districts))]
	declared := []roster.LocationRef{{Code: "demo-29", Type: roster.LocationState}, {Code: d.code, Type: roster.LocationDistrict}}
	if rng.IntN(100) < 40 {
		in.User.FlagsValue = roster.FlagTenantVerified
		in.AssociationType = roster.AssociationSSO
		in.OrgID = tenant.ID
		if rng.IntN(2) == 0 {
			in.OrgID = schools[rng.IntN(len(schools))].ID
		} else if rng.IntN(3) == 0 {
			declared = nil // the state's own location still names the state
		}
		in.ExternalIDs = []roster.ExternalIdentity{{Provider: Channel, IDType: Channel, ExternalID: fmt.Sprintf("KA-T%07d", n)}}
	} else {
		in.OrgID = custodian.ID
		if rng.IntN(100) < 30 {
			in.ExternalIDs = []roster.ExternalIdentity{{Provider: Channel, IDType: "declared-ext-id", ExternalID: fmt.Sprintf("DECL-%07d", n)}}
		}
		if rng.IntN(100) < 30 {
			declared = nil
		}
	}
	in.User.ProfileLocation = declared
	return in
}

// Summary is what `roster demo` prints: where to look and how to sign in.
// The accounts come separately (AccountsText).
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Demo tenant %q (id %s)\n", r.TenantName, r.TenantID)
	fmt.Fprintf(&b, "Course %q: id %s\n", r.CourseName, r.CourseID)
	for _, bt := range r.Batches {
		fmt.Fprintf(&b, "  batch %q: id %s (%s)\n", bt.Name, bt.ID, bt.Status(time.Now()))
	}
	fmt.Fprintf(&b, "%d learners: %d state-validated, %d self-signed-up without a location; consent: %d granted, %d revoked after granting, %d never answered\n",
		r.Learners, r.SSO, r.NoLocation, r.Consented, r.Revoked, r.NoAnswer)
	fmt.Fprintf(&b, "Sign in as %s and request the User Profile Exhaust of course %s.\n", r.Accounts[0].Username, r.CourseID)
	return b.String()
}
