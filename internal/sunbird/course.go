package sunbird

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
)

// Course batches and enrolment: Sunbird-Lern/lms-service service/conf/routes
// and CourseBatchManagementActor.java, onto internal/course. lms-service
// answers in the same envelope as userorg-service.

const (
	msgInviteOnly = "enrollmentType invite-only is not available: Roster's batches are open to learners of the course's tenant."
	lmsDate       = time.DateOnly // lms-service's batch dates are "yyyy-MM-dd"
	maxBatchField = 200
)

func courseConsent(userID, courseID, status string) course.ConsentInput {
	return course.ConsentInput{UserID: strings.TrimSpace(userID), CourseID: courseID, Status: status}
}

func (s *Server) courseRoutes() {
	if s.cfg.Courses == nil {
		return
	}
	s.route(http.MethodPost, v1, "/course/batch/create", "api.course.batch.create", s.createBatch)
	s.route(http.MethodGet, v1, "/course/batch/read/{id}", "api.course.batch.read", s.readBatch)
	s.route(http.MethodPost, v1, "/course/batch/search", "api.course.batch.search", s.searchBatches)
	s.route(http.MethodPost, v1, "/course/batch/list", "api.course.batch.list", s.searchBatches)
	s.route(http.MethodPost, v1, "/course/enroll", "api.course.enroll", s.enrol)
	// The portal's localProxy.js rewrites course/v1/enrol to v1/course/enrol.
	s.route(http.MethodPost, v1, "/course/enrol", "api.course.enroll", s.enrol)
	s.route(http.MethodPost, v1, "/course/unenroll", "api.course.unenroll", s.unenrol)
	s.route(http.MethodPost, v1, "/course/unenrol", "api.course.unenroll", s.unenrol)
	s.route(http.MethodPost, v1, "/batch/participants/list", "api.course.batch.participants.list", s.participants)
}

// sbBatch is lms-service's batch as the portal reads it. status is 0
// (upcoming), 1 (in progress) or 2 (completed), which Roster derives from
// the dates instead of a scheduler flipping it.
type sbBatch struct {
	ID                string   `json:"id"`
	Identifier        string   `json:"identifier"`
	BatchID           string   `json:"batchId"`
	CourseID          string   `json:"courseId"`
	Name              string   `json:"name"`
	StartDate         string   `json:"startDate"`
	EndDate           *string  `json:"endDate"`
	EnrollmentEndDate *string  `json:"enrollmentEndDate"`
	EnrollmentType    string   `json:"enrollmentType"`
	CreatedBy         string   `json:"createdBy"`
	CreatedFor        []string `json:"createdFor"`
	Mentors           []string `json:"mentors"`
	Status            int      `json:"status"`
	CreatedDate       string   `json:"createdDate"`
}

func batchStatus(s string) int {
	switch s {
	case roster.BatchUpcoming:
		return 0
	case roster.BatchCompleted:
		return 2
	}
	return 1
}

func dayString(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := t.UTC().Format(lmsDate)
	return &v
}

func batchJSON(b *roster.Batch, status, tenant string) sbBatch {
	return sbBatch{ID: b.ID, Identifier: b.ID, BatchID: b.ID, CourseID: b.CourseID, Name: b.Name,
		StartDate: b.StartDate.UTC().Format(lmsDate), EndDate: dayString(b.EndDate), EnrollmentEndDate: dayString(b.EnrolmentEndDate),
		EnrollmentType: "open", CreatedBy: b.CreatedBy, CreatedFor: []string{tenant}, Mentors: nonNil(b.Mentors),
		Status: batchStatus(status), CreatedDate: sunbirdDate(b.CreatedDate)}
}

func parseDay(name, v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(lmsDate, v)
	if err != nil {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidParameter, msg: sprintf("Invalid value for %s: use yyyy-MM-dd.", name)}
	}
	return &t, nil
}

func (s *Server) createBatch(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	var in struct {
		CourseID          string   `json:"courseId"`
		Name              string   `json:"name"`
		EnrollmentType    string   `json:"enrollmentType"`
		StartDate         string   `json:"startDate"`
		EndDate           string   `json:"endDate"`
		EnrollmentEndDate string   `json:"enrollmentEndDate"`
		Mentors           []string `json:"mentors"`
	}
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"courseId", in.CourseID}, {"name", in.Name}, {"enrollmentType", in.EnrollmentType}, {"startDate", in.StartDate}} {
		if strings.TrimSpace(f.v) == "" {
			return nil, mandatory(f.name)
		}
		if len(f.v) > maxBatchField {
			return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidParameter, msg: sprintf("Invalid value for %s.", f.name)}
		}
	}
	if in.EnrollmentType != "open" {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidParameter, msg: msgInviteOnly}
	}
	start, err := parseDay("startDate", in.StartDate)
	if err != nil {
		return nil, err
	}
	end, err := parseDay("endDate", in.EndDate)
	if err != nil {
		return nil, err
	}
	enrolEnd, err := parseDay("enrollmentEndDate", in.EnrollmentEndDate)
	if err != nil {
		return nil, err
	}
	b, err := s.cfg.Courses.CreateBatch(ctx, p, course.NewBatch{CourseID: strings.TrimSpace(in.CourseID), Name: in.Name,
		Mentors: in.Mentors, StartDate: *start, EndDate: end, EnrolmentEndDate: enrolEnd})
	if err != nil {
		return nil, err
	}
	return map[string]string{"response": "SUCCESS", "batchId": b.ID}, nil
}

func (s *Server) readBatch(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	v, err := s.cfg.Courses.GetBatch(ctx, p, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Courses.GetCourse(ctx, p, v.CourseID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"response": batchJSON(&v.Batch, v.Status, c.RootOrgID)}, nil
}

// searchBatches answers the course dashboard's search, which filters by
// courseId (mandatory here: Roster lists batches per course) and status.
func (s *Server) searchBatches(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	var in struct {
		Filters struct {
			CourseID any `json:"courseId"`
			Status   any `json:"status"`
		} `json:"filters"`
	}
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	courseID := firstString(in.Filters.CourseID)
	if courseID == "" {
		return nil, mandatory("filters.courseId")
	}
	want := map[int]bool{}
	for _, st := range strings.Split(joinAny(in.Filters.Status), ",") {
		switch strings.TrimSpace(st) {
		case "0":
			want[0] = true
		case "1":
			want[1] = true
		case "2":
			want[2] = true
		}
	}
	c, err := s.cfg.Courses.GetCourse(ctx, p, courseID)
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Courses.ListBatches(ctx, p, c.ID)
	if err != nil {
		return nil, err
	}
	content := []sbBatch{}
	for i := range list {
		b := batchJSON(&list[i].Batch, list[i].Status, c.RootOrgID)
		if len(want) == 0 || want[b.Status] {
			content = append(content, b)
		}
	}
	return map[string]any{"response": map[string]any{"count": len(content), "content": content}}, nil
}

// firstString reads a filter Sunbird accepts as a string or a list.
func firstString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case []any:
		if len(x) > 0 {
			s, _ := x[0].(string)
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func joinAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, e := range x {
			if s, ok := e.(string); ok && len(parts) < 3 {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	}
	return ""
}

type enrolBody struct {
	CourseID string `json:"courseId"`
	UserID   string `json:"userId"`
	BatchID  string `json:"batchId"`
}

func readEnrol(r *http.Request) (*enrolBody, error) {
	var in enrolBody
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"courseId", in.CourseID}, {"batchId", in.BatchID}, {"userId", in.UserID}} {
		if strings.TrimSpace(f.v) == "" {
			return nil, mandatory(f.name)
		}
	}
	return &in, nil
}

func (s *Server) enrol(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	in, err := readEnrol(r)
	if err != nil {
		return nil, err
	}
	if err := s.batchOfCourse(ctx, p, in); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Courses.Enrol(ctx, p, in.BatchID, in.UserID); err != nil {
		return nil, err
	}
	return map[string]string{"response": "SUCCESS"}, nil
}

func (s *Server) unenrol(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	in, err := readEnrol(r)
	if err != nil {
		return nil, err
	}
	if err := s.batchOfCourse(ctx, p, in); err != nil {
		return nil, err
	}
	if err := s.cfg.Courses.Unenrol(ctx, p, in.BatchID, in.UserID); err != nil {
		return nil, err
	}
	return map[string]string{"response": "SUCCESS"}, nil
}

// batchOfCourse refuses a courseId that is not the batch's, as lms-service
// does ("Invalid course batch"), instead of ignoring it.
func (s *Server) batchOfCourse(ctx context.Context, p *roster.Principal, in *enrolBody) error {
	v, err := s.cfg.Courses.GetBatch(ctx, p, strings.TrimSpace(in.BatchID))
	if err != nil {
		return err
	}
	if v.CourseID != strings.TrimSpace(in.CourseID) {
		return &sunbirdError{status: http.StatusBadRequest, key: keyInvalidParameter, msg: "Invalid course batch."}
	}
	return nil
}

func (s *Server) participants(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	var in struct {
		Batch *struct {
			BatchID string `json:"batchId"`
		} `json:"batch"`
	}
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	if in.Batch == nil || strings.TrimSpace(in.Batch.BatchID) == "" {
		return nil, mandatory("batchId")
	}
	ids := []string{}
	after := ""
	for {
		page, err := s.cfg.Courses.Participants(ctx, p, strings.TrimSpace(in.Batch.BatchID), after, course.MaxPage)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			ids = append(ids, e.UserID)
		}
		if len(page) < course.MaxPage || len(ids) >= maxParticipants {
			break
		}
		after = page[len(page)-1].UserID
	}
	return map[string]any{"batch": map[string]any{"count": len(ids), "participants": ids}}, nil
}

// maxParticipants bounds one answer; lms-service returns the whole batch,
// which for a state-wide batch is tens of thousands of ids.
const maxParticipants = 100000
