package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
)

type courseOutput struct {
	Body *roster.Course
}

type batchOutput struct {
	Body *roster.Batch
}

type batchViewOutput struct {
	Body *course.BatchView
}

type enrolmentOutput struct {
	Body *roster.Enrolment
}

type consentOutput struct {
	Body *roster.Consent
}

type coursesOutput struct {
	Body struct {
		Courses []roster.Course `json:"courses"`
	}
}

type batchesOutput struct {
	Body struct {
		Batches []course.BatchSummary `json:"batches"`
	}
}

type participantsOutput struct {
	Body struct {
		Participants []roster.Enrolment `json:"participants"`
		Next         string             `json:"next,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

type enrolmentsOutput struct {
	Body struct {
		Enrolments []roster.Enrolment `json:"enrolments"`
	}
}

type decisionsOutput struct {
	Body struct {
		Decisions []roster.Consent `json:"decisions"`
	}
}

type courseIDInput struct {
	CourseID string `path:"courseId" maxLength:"80"`
}

type batchIDInput struct {
	BatchID string `path:"batchId" maxLength:"64"`
}

type enrolInput struct {
	BatchID string `path:"batchId" maxLength:"64"`
	UserID  string `path:"userId" maxLength:"64"`
}

type batchBody struct {
	Name             string   `json:"name" maxLength:"300"`
	Mentors          []string `json:"mentors,omitempty" maxItems:"100" doc:"User ids of the course's tenant"`
	StartDate        string   `json:"startDate" doc:"YYYY-MM-DD"`
	EndDate          string   `json:"endDate,omitempty" doc:"YYYY-MM-DD, inclusive; open-ended when empty"`
	EnrolmentEndDate string   `json:"enrollmentEndDate,omitempty" doc:"YYYY-MM-DD, inclusive"`
}

// dates parses the batch's days, collecting every bad one.
func (b *batchBody) newBatch(courseID string) (course.NewBatch, error) {
	nb := course.NewBatch{CourseID: courseID, Name: b.Name, Mentors: b.Mentors}
	var errs []roster.FieldError
	parse := func(field, v string) *time.Time {
		if v == "" {
			return nil
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs = append(errs, roster.FieldError{Field: field, Message: "must be a date YYYY-MM-DD", Value: v})
			return nil
		}
		return &d
	}
	if d := parse(course.FieldStartDate, b.StartDate); d != nil {
		nb.StartDate = *d
	}
	nb.EndDate = parse(course.FieldEndDate, b.EndDate)
	nb.EnrolmentEndDate = parse(course.FieldEnrolmentEndDate, b.EnrolmentEndDate)
	if len(errs) > 0 {
		return nb, roster.Invalid(errs...)
	}
	return nb, nil
}

func (s *Server) courseRoutes() {
	if s.cfg.Courses == nil {
		return
	}
	create := op("createCourse", http.MethodPost, "/courses", "Create a course; you become its creator", "courses")
	create.Description = "Needs the CONTENT_CREATOR role in the course's tenant. Only the creator may request the course's User Profile Exhaust."
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusConflict)
	register(s, create, s.createCourse)

	get := described(op("getCourse", http.MethodGet, "/courses/{courseId}", "Read a course", "courses"),
		"One course, if you may see it; other tenants' courses are not found.")
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s, get, s.getCourse)

	register(s, described(op("myCourses", http.MethodGet, "/me/courses", "Courses you created or mentor", "courses"),
		"The courses you created or mentor."), s.myCourses)
	register(s, described(op("listCourses", http.MethodGet, "/courses", "Your courses (same as /me/courses)", "courses"),
		"The courses you created or mentor; the same answer as GET /me/courses."), s.myCourses)

	createBatch := described(op("createBatch", http.MethodPost, "/courses/{courseId}/batches", "Add a batch to a course", "courses"),
		"Adds a batch with its dates to a course you created or mentor.")
	createBatch.DefaultStatus = http.StatusCreated
	createBatch.Errors = append(createBatch.Errors, http.StatusNotFound)
	register(s, createBatch, s.createBatch)

	listBatches := described(op("listBatches", http.MethodGet, "/courses/{courseId}/batches", "A course's batches with status and enrolment/consent counts", "courses"),
		"A course's batches with their status and the counts of enrolments and consents.")
	listBatches.Errors = append(listBatches.Errors, http.StatusNotFound)
	register(s, listBatches, s.listBatches)

	getBatch := op("getBatch", http.MethodGet, "/batches/{batchId}", "Read a batch", "courses")
	getBatch.Errors = append(getBatch.Errors, http.StatusNotFound)
	getBatch.Description = "Everyone signed in sees the batch and its status; the course creator, its mentors and " +
		"tenant administrators also get its enrolment and consent counts."
	register(s, getBatch, s.getBatch)

	participants := described(op("listParticipants", http.MethodGet, "/batches/{batchId}/participants", "A batch's active enrolments", "courses"),
		"The learners enrolled in a batch now, for the course's creator, mentors and the tenant's admins.")
	participants.Errors = append(participants.Errors, http.StatusNotFound)
	register(s, participants, s.listParticipants)

	enrol := described(op("enrol", http.MethodPut, "/batches/{batchId}/participants/{userId}", "Enrol a learner (yourself, or anyone as a tenant admin)", "courses"),
		"Enrols a learner in a batch. Learners enrol themselves; a tenant admin may enrol any user of the tenant.")
	enrol.Errors = append(enrol.Errors, http.StatusNotFound, http.StatusConflict)
	register(s, enrol, s.enrol)

	unenrol := described(op("unenrol", http.MethodDelete, "/batches/{batchId}/participants/{userId}", "End a learner's enrolment", "courses"),
		"Ends a learner's enrolment in a batch; the enrolment stays in the history with its end date.")
	unenrol.DefaultStatus = http.StatusNoContent
	unenrol.Errors = append(unenrol.Errors, http.StatusNotFound)
	register(s, unenrol, s.unenrol)

	register(s, described(op("myEnrolments", http.MethodGet, "/me/enrolments", "Your active enrolments", "courses"),
		"The batches you are enrolled in now."),
		s.myEnrolments)

	consent := op("recordConsent", http.MethodPost, "/courses/{courseId}/consent", "Grant (ACTIVE) or withdraw (REVOKED) consent to share your profile with the course's organisation", "courses")
	consent.Description = "Every decision is kept; the latest one is in force when a report is generated."
	consent.DefaultStatus = http.StatusCreated
	consent.Errors = append(consent.Errors, http.StatusNotFound)
	register(s, consent, s.recordConsent)

	history := described(op("consentHistory", http.MethodGet, "/courses/{courseId}/consent", "Your consent decisions for a course, oldest first", "courses"),
		"Every consent decision you made for the course, oldest first, so you can see what you shared and when.")
	history.Errors = append(history.Errors, http.StatusNotFound)
	register(s, history, s.consentHistory)
}
func (s *Server) createCourse(ctx context.Context, in *struct {
	Body struct {
		ID              string `json:"id,omitempty" maxLength:"67" doc:"do_… id; generated when empty"`
		Name            string `json:"name" maxLength:"300"`
		RootOrgID       string `json:"rootOrgId,omitempty" maxLength:"64" doc:"Owning tenant; defaults to yours"`
		RequiresConsent *bool  `json:"requiresConsent,omitempty" doc:"Whether enrolment asks learners for consent (default true)"`
	}
}) (*courseOutput, error) {
	p := caller(ctx)
	root := in.Body.RootOrgID
	if root == "" {
		root = p.RootOrgID
	}
	c, err := s.cfg.Courses.CreateCourse(ctx, p, course.NewCourse{ID: in.Body.ID, Name: in.Body.Name, RootOrgID: root,
		RequiresConsent: in.Body.RequiresConsent})
	if err != nil {
		return nil, err
	}
	return &courseOutput{Body: c}, nil
}

func (s *Server) getCourse(ctx context.Context, in *courseIDInput) (*courseOutput, error) {
	c, err := s.cfg.Courses.GetCourse(ctx, caller(ctx), in.CourseID)
	if err != nil {
		return nil, err
	}
	return &courseOutput{Body: c}, nil
}

func (s *Server) createBatch(ctx context.Context, in *struct {
	CourseID string `path:"courseId" maxLength:"80"`
	Body     batchBody
}) (*batchOutput, error) {
	nb, err := in.Body.newBatch(in.CourseID)
	if err != nil {
		return nil, err
	}
	b, err := s.cfg.Courses.CreateBatch(ctx, caller(ctx), nb)
	if err != nil {
		return nil, err
	}
	return &batchOutput{Body: b}, nil
}

func (s *Server) listBatches(ctx context.Context, in *courseIDInput) (*batchesOutput, error) {
	list, err := s.cfg.Courses.ListBatches(ctx, caller(ctx), in.CourseID)
	if err != nil {
		return nil, err
	}
	out := &batchesOutput{}
	out.Body.Batches = nonNil(list)
	return out, nil
}

func (s *Server) getBatch(ctx context.Context, in *batchIDInput) (*batchViewOutput, error) {
	b, err := s.cfg.Courses.GetBatch(ctx, caller(ctx), in.BatchID)
	if err != nil {
		return nil, err
	}
	return &batchViewOutput{Body: b}, nil
}

func (s *Server) listParticipants(ctx context.Context, in *struct {
	BatchID string `path:"batchId" maxLength:"64"`
	Cursor  string `query:"cursor" maxLength:"64" doc:"The next of the previous page"`
	Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}) (*participantsOutput, error) {
	list, err := s.cfg.Courses.Participants(ctx, caller(ctx), in.BatchID, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &participantsOutput{}
	out.Body.Participants = nonNil(list)
	if len(list) == in.Limit {
		last := list[len(list)-1].UserID
		out.Body.Next, err = nextCursor(last, func() (int, error) {
			more, err := s.cfg.Courses.Participants(ctx, caller(ctx), in.BatchID, last, 1)
			return len(more), err
		})
	}
	return out, err
}

func (s *Server) enrol(ctx context.Context, in *enrolInput) (*enrolmentOutput, error) {
	e, err := s.cfg.Courses.Enrol(ctx, caller(ctx), in.BatchID, in.UserID)
	if err != nil {
		return nil, err
	}
	return &enrolmentOutput{Body: e}, nil
}

func (s *Server) unenrol(ctx context.Context, in *enrolInput) (*struct{}, error) {
	return nil, s.cfg.Courses.Unenrol(ctx, caller(ctx), in.BatchID, in.UserID)
}

func (s *Server) myEnrolments(ctx context.Context, _ *struct{}) (*enrolmentsOutput, error) {
	list, err := s.cfg.Courses.MyEnrolments(ctx, caller(ctx))
	if err != nil {
		return nil, err
	}
	out := &enrolmentsOutput{}
	out.Body.Enrolments = nonNil(list)
	return out, nil
}

func (s *Server) recordConsent(ctx context.Context, in *struct {
	CourseID string `path:"courseId" maxLength:"80"`
	Body     struct {
		Status string `json:"status" enum:"ACTIVE,REVOKED"`
	}
}) (*consentOutput, error) {
	p := caller(ctx)
	c, err := s.cfg.Courses.RecordConsent(ctx, p, course.ConsentInput{UserID: p.UserID, CourseID: in.CourseID, Status: in.Body.Status})
	if err != nil {
		return nil, err
	}
	return &consentOutput{Body: c}, nil
}

func (s *Server) consentHistory(ctx context.Context, in *courseIDInput) (*decisionsOutput, error) {
	p := caller(ctx)
	list, err := s.cfg.Courses.ConsentHistory(ctx, p, p.UserID, in.CourseID)
	if err != nil {
		return nil, err
	}
	out := &decisionsOutput{}
	out.Body.Decisions = nonNil(list)
	return out, nil
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// myCourses serves both /me/courses and /courses.
func (s *Server) myCourses(ctx context.Context, _ *struct{}) (*coursesOutput, error) {
	list, err := s.cfg.Courses.MyCourses(ctx, caller(ctx))
	if err != nil {
		return nil, err
	}
	out := &coursesOutput{}
	out.Body.Courses = nonNil(list)
	return out, nil
}
