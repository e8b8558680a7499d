// Package course manages courses (collections), their batches, who is
// enrolled in them and the consent ledger through which learners agree to
// share their profile with the course's organisation (seed 000). The User
// Profile Exhaust report reads what this package writes.
package course

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/store"
)

// Field names used in validation errors (the API's JSON names).
const (
	FieldID               = "id"
	FieldName             = "name"
	FieldRootOrgID        = "rootOrgId"
	FieldCreatedBy        = "createdBy"
	FieldCourseID         = "courseId"
	FieldBatchID          = "batchId"
	FieldUserID           = "userId"
	FieldMentors          = "mentors"
	FieldStartDate        = "startDate"
	FieldEndDate          = "endDate"
	FieldEnrolmentEndDate = "enrollmentEndDate"
	FieldStatus           = "status"
)

// MaxNameLength bounds course and batch names.
const MaxNameLength = 300

// Service is the course catalogue and enrolment API.
type Service struct {
	db store.Engine
	// Now is swappable so tests can move the clock past batch dates.
	Now func() time.Time
}

// New returns a course service over db.
func New(db store.Engine) *Service { return &Service{db: db, Now: roster.Now} }

var courseIDPattern = regexp.MustCompile(`^do_[A-Za-z0-9_]{1,64}$`)

// NewCourse is the input of CreateCourse.
type NewCourse struct {
	// ID is optional; a Sunbird-style "do_" id is generated when empty.
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	RootOrgID string `json:"rootOrgId"` // the tenant that owns the course
	// RequiresConsent defaults to true: the enrolment flow asks learners
	// whether they share their profile.
	RequiresConsent *bool `json:"requiresConsent,omitempty"`
	// CreatedBy is honoured only for system principals (operator commands,
	// demo data); everyone else creates courses as themselves.
	CreatedBy string `json:"createdBy,omitempty"`
}

// CreateCourse creates a course in a tenant. The caller needs the
// CONTENT_CREATOR role in that tenant and becomes the course creator: the
// only user who may request the course's User Profile Exhaust.
func (s *Service) CreateCourse(ctx context.Context, p *roster.Principal, in NewCourse) (*roster.Course, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	in.ID, in.Name, in.RootOrgID = strings.TrimSpace(in.ID), strings.TrimSpace(in.Name), strings.TrimSpace(in.RootOrgID)
	var errs []roster.FieldError
	if in.ID != "" && !courseIDPattern.MatchString(in.ID) {
		errs = append(errs, roster.FieldError{Field: FieldID, Message: `must start with "do_" followed by letters, digits or underscores`})
	}
	if in.Name == "" || len([]rune(in.Name)) > MaxNameLength {
		errs = append(errs, roster.FieldError{Field: FieldName, Message: "is required (at most 300 characters)"})
	}
	tenant, err := store.GetOrg(ctx, s.db, in.RootOrgID)
	if errors.Is(err, store.ErrNoRows) || (err == nil && !tenant.IsTenant) {
		errs = append(errs, roster.FieldError{Field: FieldRootOrgID, Message: "is not a tenant"})
	} else if err != nil {
		return nil, err
	}
	creator := p.UserID
	if p.System {
		creator = strings.TrimSpace(in.CreatedBy)
		if _, err := s.activeUser(ctx, s.db, creator); err != nil {
			errs = append(errs, roster.FieldError{Field: FieldCreatedBy, Message: "must be an active user"})
		}
	}
	if len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	if err := authz.Decide(p, authz.CreateCourse, authz.Resource{Tenant: tenant.ID}); err != nil {
		return nil, err
	}
	c := &roster.Course{ID: in.ID, Name: in.Name, Channel: tenant.Channel, RootOrgID: tenant.ID, CreatedBy: creator,
		RequiresConsent: in.RequiresConsent == nil || *in.RequiresConsent, CreatedDate: s.Now()}
	generated := c.ID == ""
	for attempt := 0; ; attempt++ {
		if generated {
			c.ID = "do_" + roster.RandomString(20, "0123456789")
		}
		err = store.InTx(ctx, s.db, func(tx store.Tx) error {
			if err := store.InsertCourse(ctx, tx, c); err != nil {
				return err
			}
			return store.Audit(ctx, tx, p.UserID, "course.create", "course", c.ID, "ok", "")
		})
		if errors.Is(err, store.ErrUnique) {
			if generated && attempt < 3 {
				continue
			}
			return nil, &roster.Error{Code: roster.ECONFLICT, Message: "course already exists",
				Fields: []roster.FieldError{{Field: FieldID, Message: "is already used by another course"}}}
		}
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// activeUser returns a user who exists and is neither blocked nor deleted.
func (s *Service) activeUser(ctx context.Context, q store.Queryer, id string) (*store.UserRecord, error) {
	u, err := store.GetUser(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if u.Status != roster.StatusActive || u.IsDeleted {
		return nil, store.ErrNoRows
	}
	return u, nil
}

// GetCourse returns a course to any signed-in user: the catalogue is public
// within the platform, as in the seed.
func (s *Service) GetCourse(ctx context.Context, p *roster.Principal, id string) (*roster.Course, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	c, err := s.course(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	return c, authz.Decide(p, authz.ReadCourse, authz.Resource{Course: c, Tenant: c.RootOrgID})
}

// MyCourses lists the courses the caller created or mentors a batch of,
// newest first: the course dashboard of creators and mentors alike. A
// course's CreatedBy tells the caller which ones they may report on.
func (s *Service) MyCourses(ctx context.Context, p *roster.Principal) ([]roster.Course, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	return store.ListCoursesForStaff(ctx, s.db, p.UserID)
}

// staffView asks whether p may see a course's batches, counts and
// participants (authz.ViewBatches): the mentors who count are those of
// batch when it is given, else of every batch of the course.
func (s *Service) staffView(ctx context.Context, p *roster.Principal, c *roster.Course, batch *roster.Batch) error {
	var batches []roster.Batch
	if batch != nil {
		batches = []roster.Batch{*batch}
	} else {
		var err error
		if batches, err = store.ListBatches(ctx, s.db, c.ID); err != nil {
			return err
		}
	}
	var mentors []string
	for _, b := range batches {
		mentors = append(mentors, b.Mentors...)
	}
	return authz.Decide(p, authz.ViewBatches, authz.Resource{Course: c, Mentors: mentors})
}

func (s *Service) course(ctx context.Context, q store.Queryer, id string) (*roster.Course, error) {
	c, err := store.GetCourse(ctx, q, strings.TrimSpace(id))
	if errors.Is(err, store.ErrNoRows) {
		return nil, authz.NotFound("course")
	}
	return c, err
}

// batch loads a batch and its course for a signed-in caller: the preamble
// of every batch operation, whose own decision follows.
func (s *Service) batch(ctx context.Context, p *roster.Principal, id string) (*roster.Batch, *roster.Course, error) {
	if p == nil {
		return nil, nil, authz.Unauthenticated()
	}
	q := s.db
	b, err := store.GetBatch(ctx, q, strings.TrimSpace(id))
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil, authz.NotFound("batch")
	} else if err != nil {
		return nil, nil, err
	}
	c, err := s.course(ctx, q, b.CourseID)
	return b, c, err
}
