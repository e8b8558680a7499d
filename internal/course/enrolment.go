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

// enrolment loads the batch, its course and the learner of an enrolment
// change and asks the policy (authz.Enrol). A learner who does not exist,
// or whom the caller may not see, is "not found": enrolling is no way to
// learn that a user id exists.
func (s *Service) enrolment(ctx context.Context, p *roster.Principal, batchID, userID string) (*roster.Batch, *roster.Course, error) {
	b, c, err := s.batch(ctx, p, batchID)
	if err != nil {
		return nil, nil, err
	}
	rec, err := store.GetUser(ctx, s.db, strings.TrimSpace(userID))
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil, authz.NotFound("user")
	} else if err != nil {
		return nil, nil, err
	}
	u, err := authz.Subject(ctx, s.db, rec)
	if err != nil {
		return nil, nil, err
	}
	if err := authz.Decide(p, authz.Enrol, authz.Resource{Course: c, User: u}); err != nil {
		return nil, nil, err
	}
	return b, c, nil
}

// Enrol enrols a user in a batch. A learner may hold one active enrolment
// per course; enrolling again in the same batch is a no-op that returns the
// enrolment.
func (s *Service) Enrol(ctx context.Context, p *roster.Principal, batchID, userID string) (*roster.Enrolment, error) {
	userID = strings.TrimSpace(userID)
	b, c, err := s.enrolment(ctx, p, batchID, userID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if !b.EnrolmentOpen(now) {
		return nil, roster.Invalid(roster.FieldError{Field: FieldBatchID, Message: "enrolment in this batch has closed"})
	}
	if _, err := s.activeUser(ctx, s.db, userID); errors.Is(err, store.ErrNoRows) {
		return nil, roster.Invalid(roster.FieldError{Field: FieldUserID, Message: "must be an active user"})
	} else if err != nil {
		return nil, err
	}
	e := &roster.Enrolment{UserID: userID, CourseID: c.ID, BatchID: b.ID, EnrolledDate: now, Active: true}
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		existing, err := store.ListUserEnrolments(ctx, tx, userID)
		if err != nil {
			return err
		}
		for _, x := range existing {
			if x.BatchID == b.ID {
				*e = x
				return nil
			}
		}
		if err := store.UpsertEnrolment(ctx, tx, e); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "enrolment.add", "batch", b.ID, "ok", "user="+userID)
	})
	if errors.Is(err, store.ErrUnique) {
		return nil, &roster.Error{Code: roster.ECONFLICT, Message: "already enrolled in another batch of this course",
			Fields: []roster.FieldError{{Field: FieldBatchID, Message: "leave the other batch first"}}}
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Unenrol ends a user's enrolment in a batch; the row is kept inactive.
func (s *Service) Unenrol(ctx context.Context, p *roster.Principal, batchID, userID string) error {
	userID = strings.TrimSpace(userID)
	b, _, err := s.enrolment(ctx, p, batchID, userID)
	if err != nil {
		return err
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		ok, err := store.DeactivateEnrolment(ctx, tx, b.ID, userID, s.Now())
		if err != nil {
			return err
		} else if !ok {
			return authz.NotFound("enrolment")
		}
		return store.Audit(ctx, tx, p.UserID, "enrolment.remove", "batch", b.ID, "ok", "user="+userID)
	})
}

// MaxPage bounds list pages.
const MaxPage = 1000

// Participants pages through a batch's active enrolments by user id, for the
// course creator, the batch's mentors and admins of the course's tenant.
func (s *Service) Participants(ctx context.Context, p *roster.Principal, batchID, afterUserID string, limit int) ([]roster.Enrolment, error) {
	b, c, err := s.batch(ctx, p, batchID)
	if err != nil {
		return nil, err
	}
	if err := s.staffView(ctx, p, c, b); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	return store.ListParticipants(ctx, s.db, b.ID, afterUserID, limit)
}

// MyEnrolments lists the caller's active enrolments, newest first.
func (s *Service) MyEnrolments(ctx context.Context, p *roster.Principal) ([]roster.Enrolment, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	return store.ListUserEnrolments(ctx, s.db, p.UserID)
}

// ConsentInput records one consent decision.
type ConsentInput struct {
	UserID   string `json:"userId"`
	CourseID string `json:"courseId"`
	Status   string `json:"status"` // roster.ConsentActive or roster.ConsentRevoked
	// At is honoured only for system principals (importing history, demo
	// data); otherwise the decision is recorded now.
	At time.Time `json:"-"`
}

// RecordConsent appends a decision to the consent ledger. Only the learner
// decides about their own data (system principals may import decisions).
// The consumer is the course's tenant, the organisation that receives the
// profile in the course's reports.
func (s *Service) RecordConsent(ctx context.Context, p *roster.Principal, in ConsentInput) (*roster.Consent, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	in.UserID, in.Status = strings.TrimSpace(in.UserID), strings.ToUpper(strings.TrimSpace(in.Status))
	if in.Status != roster.ConsentActive && in.Status != roster.ConsentRevoked {
		return nil, roster.Invalid(roster.FieldError{Field: FieldStatus, Message: "must be ACTIVE or REVOKED"})
	}
	if err := authz.Decide(p, authz.Consent, authz.Resource{User: &authz.User{ID: in.UserID}}); err != nil {
		return nil, err
	}
	c, err := s.course(ctx, s.db, in.CourseID)
	if err != nil {
		return nil, err
	}
	if _, err := store.GetUser(ctx, s.db, in.UserID); errors.Is(err, store.ErrNoRows) {
		return nil, roster.Invalid(roster.FieldError{Field: FieldUserID, Message: "user not found"})
	} else if err != nil {
		return nil, err
	}
	at := s.Now()
	if p.System && !in.At.IsZero() {
		at = in.At.UTC().Truncate(time.Microsecond)
	}
	entry := &roster.Consent{ID: roster.NewID(), UserID: in.UserID, ConsumerID: c.RootOrgID, ObjectID: c.ID,
		ObjectType: roster.ConsentCollection, Status: in.Status, At: at}
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		if err := store.InsertConsent(ctx, tx, entry); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "consent."+strings.ToLower(in.Status), "course", c.ID, "ok", "user="+in.UserID)
	})
	if err != nil {
		return nil, err
	}
	return entry, nil
}

// GrantConsent records that the learner shares their profile for a course.
func (s *Service) GrantConsent(ctx context.Context, p *roster.Principal, userID, courseID string) (*roster.Consent, error) {
	return s.RecordConsent(ctx, p, ConsentInput{UserID: userID, CourseID: courseID, Status: roster.ConsentActive})
}

// RevokeConsent records that the learner withdraws consent for a course.
func (s *Service) RevokeConsent(ctx context.Context, p *roster.Principal, userID, courseID string) (*roster.Consent, error) {
	return s.RecordConsent(ctx, p, ConsentInput{UserID: userID, CourseID: courseID, Status: roster.ConsentRevoked})
}

// ConsentHistory returns every decision a learner made for a course, oldest
// first; the last one is in force. Only the learner (or the system) reads it.
func (s *Service) ConsentHistory(ctx context.Context, p *roster.Principal, userID, courseID string) ([]roster.Consent, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	if err := authz.Decide(p, authz.Consent, authz.Resource{User: &authz.User{ID: userID}}); err != nil {
		return nil, err
	}
	c, err := s.course(ctx, s.db, courseID)
	if err != nil {
		return nil, err
	}
	return store.ConsentHistory(ctx, s.db, userID, c.ID, c.RootOrgID)
}
