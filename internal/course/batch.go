package course

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/store"
)

// NewBatch is the input of CreateBatch. Dates are days; any time of day is
// dropped (UTC).
type NewBatch struct {
	CourseID         string     `json:"courseId"`
	Name             string     `json:"name"`
	Mentors          []string   `json:"mentors,omitempty"` // user ids of the course's tenant
	StartDate        time.Time  `json:"startDate"`
	EndDate          *time.Time `json:"endDate,omitempty"`
	EnrolmentEndDate *time.Time `json:"enrollmentEndDate,omitempty"`
}

// BatchSummary is a batch with its derived status and its counts of active
// enrolments and of those learners who currently consent to share.
type BatchSummary struct {
	roster.Batch
	Status    string `json:"status"`
	Enrolled  int64  `json:"enrolled"`
	Consented int64  `json:"consented"`
}

func dayOf(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

func dayPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	d := dayOf(*t)
	return &d
}

// CreateBatch adds a batch to a course (authz.AddBatch: the course creator
// and admins of the course's tenant).
func (s *Service) CreateBatch(ctx context.Context, p *roster.Principal, in NewBatch) (*roster.Batch, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	c, err := s.course(ctx, s.db, in.CourseID)
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, authz.AddBatch, authz.Resource{Course: c}); err != nil {
		return nil, err
	}
	b := &roster.Batch{ID: roster.NewID(), CourseID: c.ID, Name: strings.TrimSpace(in.Name), CreatedBy: p.UserID,
		StartDate: dayOf(in.StartDate), EndDate: dayPtr(in.EndDate), EnrolmentEndDate: dayPtr(in.EnrolmentEndDate),
		CreatedDate: s.Now()}
	if p.System {
		b.CreatedBy = c.CreatedBy
	}
	var errs []roster.FieldError
	if b.Name == "" || len([]rune(b.Name)) > MaxNameLength {
		errs = append(errs, roster.FieldError{Field: FieldName, Message: "is required (at most 300 characters)"})
	}
	if in.StartDate.IsZero() {
		errs = append(errs, roster.FieldError{Field: FieldStartDate, Message: "is required"})
	}
	if b.EndDate != nil && b.EndDate.Before(b.StartDate) {
		errs = append(errs, roster.FieldError{Field: FieldEndDate, Message: "must not be before the start date"})
	}
	if e := b.EnrolmentEndDate; e != nil && (e.Before(b.StartDate) || (b.EndDate != nil && e.After(*b.EndDate))) {
		errs = append(errs, roster.FieldError{Field: FieldEnrolmentEndDate, Message: "must be between the start and end dates"})
	}
	seen := map[string]bool{}
	for _, m := range in.Mentors {
		m = strings.TrimSpace(m)
		if m == "" || seen[m] {
			continue
		}
		seen[m] = true
		u, err := s.activeUser(ctx, s.db, m)
		if err != nil || u.RootOrgID != c.RootOrgID {
			errs = append(errs, roster.FieldError{Field: FieldMentors, Message: "must be active users of the course's tenant", Value: m})
			continue
		}
		b.Mentors = append(b.Mentors, m)
	}
	if len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		if err := store.InsertBatch(ctx, tx, b); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "batch.create", "batch", b.ID, "ok", "course="+c.ID)
	})
	if err != nil {
		return nil, err
	}
	if b.Mentors == nil {
		b.Mentors = []string{}
	}
	return b, nil
}

// BatchView is a batch as GetBatch shows it: its status to everyone, its
// counts only to those who may see the course's batch list.
type BatchView struct {
	roster.Batch
	Status    string `json:"status"`
	Enrolled  *int64 `json:"enrolled,omitempty"`
	Consented *int64 `json:"consented,omitempty"`
}

// GetBatch returns a batch and its status to any signed-in user, so learners
// can see what they may enrol in; the course creator, its mentors and
// admins of its tenant also get the batch's enrolment and consent counts.
func (s *Service) GetBatch(ctx context.Context, p *roster.Principal, id string) (*BatchView, error) {
	b, c, err := s.batch(ctx, p, id)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	v := &BatchView{Batch: *b, Status: b.Status(now)}
	var denied *roster.Error
	if err := s.staffView(ctx, p, c, nil); err != nil && !errors.As(err, &denied) {
		return nil, err
	} else if err == nil {
		n, err := store.CountBatchEnrolments(ctx, s.db, c.ID, b.ID, c.RootOrgID, now)
		if err != nil {
			return nil, err
		}
		v.Enrolled, v.Consented = &n.Enrolled, &n.Consented
	}
	return v, nil
}

// ListBatches returns a course's batches with status and counts to the
// course creator, its mentors and admins of its tenant.
func (s *Service) ListBatches(ctx context.Context, p *roster.Principal, courseID string) ([]BatchSummary, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	c, err := s.course(ctx, s.db, courseID)
	if err != nil {
		return nil, err
	}
	if err := s.staffView(ctx, p, c, nil); err != nil {
		return nil, err
	}
	batches, err := store.ListBatches(ctx, s.db, c.ID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	counts, err := store.CountEnrolments(ctx, s.db, c.ID, c.RootOrgID, now)
	if err != nil {
		return nil, err
	}
	out := make([]BatchSummary, len(batches))
	for i, b := range batches {
		n := counts[b.ID]
		out[i] = BatchSummary{Batch: b, Status: b.Status(now), Enrolled: n.Enrolled, Consented: n.Consented}
	}
	return out, nil
}
