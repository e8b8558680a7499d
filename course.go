package roster

import "time"

// Course is a collection (seed 000): the unit a user enrols in through one of
// its batches. ID is a Sunbird-style "do_…" identifier.
type Course struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Channel   string `json:"channel"`
	RootOrgID string `json:"rootOrgId"` // the tenant that owns the course and receives consent
	CreatedBy string `json:"createdBy"` // the course creator: the only user who may request its reports
	// RequiresConsent says the enrolment flow asks users to share their
	// profile. Reports share personal fields only on ACTIVE consent either way.
	RequiresConsent bool      `json:"requiresConsent"`
	CreatedDate     time.Time `json:"createdDate"`
}

// Batch statuses, derived from the batch dates at read time so they never
// go stale waiting for a scheduler.
const (
	BatchUpcoming   = "upcoming"
	BatchInProgress = "in progress"
	BatchCompleted  = "completed"
)

// Batch is a run of a course with its own dates and mentors.
type Batch struct {
	ID        string   `json:"id"`
	CourseID  string   `json:"courseId"`
	Name      string   `json:"name"`
	CreatedBy string   `json:"createdBy"`
	Mentors   []string `json:"mentors"`
	// Dates are days (midnight UTC); EndDate and EnrolmentEndDate are
	// inclusive and optional (an open-ended batch).
	StartDate        time.Time  `json:"startDate"`
	EndDate          *time.Time `json:"endDate,omitempty"`
	EnrolmentEndDate *time.Time `json:"enrollmentEndDate,omitempty"`
	CreatedDate      time.Time  `json:"createdDate"`
}

// Status is the batch status on the given day.
func (b *Batch) Status(now time.Time) string {
	day := now.UTC().Truncate(24 * time.Hour)
	switch {
	case day.Before(b.StartDate):
		return BatchUpcoming
	case b.EndDate != nil && day.After(*b.EndDate):
		return BatchCompleted
	}
	return BatchInProgress
}

// EnrolmentOpen reports whether users may still join the batch on the day of now.
func (b *Batch) EnrolmentOpen(now time.Time) bool {
	day := now.UTC().Truncate(24 * time.Hour)
	if b.Status(now) == BatchCompleted {
		return false
	}
	return b.EnrolmentEndDate == nil || !day.After(*b.EnrolmentEndDate)
}

// Enrolment is a user's membership of a batch. Unenrolling keeps the row
// with Active false, as the seed's user_enrolments does.
type Enrolment struct {
	UserID       string    `json:"userId"`
	CourseID     string    `json:"courseId"`
	BatchID      string    `json:"batchId"`
	EnrolledDate time.Time `json:"enrolledDate"`
	Active       bool      `json:"active"`
}

// Consent statuses and the object type the seed's consent API uses for courses.
const (
	ConsentActive     = "ACTIVE"
	ConsentRevoked    = "REVOKED"
	ConsentCollection = "Collection"
)

// Consent is one entry of the append-only consent ledger: a user granting
// or revoking, at At, the sharing of their profile with ConsumerID (the
// course's tenant) for ObjectID (the course). The latest entry wins.
type Consent struct {
	ID         string    `json:"id"`
	UserID     string    `json:"userId"`
	ConsumerID string    `json:"consumerId"`
	ObjectID   string    `json:"objectId"`
	ObjectType string    `json:"objectType" enum:"Collection"`
	Status     string    `json:"status" enum:"ACTIVE,REVOKED"`
	At         time.Time `json:"at"`
}
