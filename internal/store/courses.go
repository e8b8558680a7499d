package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/roster-dev/roster"
)

const courseColumns = `id, name, channel, root_org_id, created_by, requires_consent, created_date`

func scanCourse(row Row) (*roster.Course, error) {
	var c roster.Course
	if err := row.Scan(&c.ID, &c.Name, &c.Channel, &c.RootOrgID, &c.CreatedBy, &c.RequiresConsent, &c.CreatedDate); err != nil {
		return nil, err
	}
	c.CreatedDate = c.CreatedDate.UTC()
	return &c, nil
}

// InsertCourse stores a new course; a duplicate id is ErrUnique.
func InsertCourse(ctx context.Context, q Queryer, c *roster.Course) error {
	_, err := q.Exec(ctx, insertSQL(`course`, courseColumns),
		c.ID, c.Name, c.Channel, c.RootOrgID, c.CreatedBy, c.RequiresConsent, c.CreatedDate)
	return err
}

// GetCourse returns ErrNoRows when the course does not exist.
func GetCourse(ctx context.Context, q Queryer, id string) (*roster.Course, error) {
	return scanCourse(q.QueryRow(ctx, `SELECT `+courseColumns+` FROM course WHERE id = $1`, id))
}

// ListCoursesForStaff returns the courses a user created or mentors a batch
// of, newest first. Mentors are a JSON list of user ids; matching the
// quoted id with LIKE is exact because ids are UUIDs (no wildcards, fixed
// length) and keeps the list column portable across engines.
func ListCoursesForStaff(ctx context.Context, q Queryer, userID string) ([]roster.Course, error) {
	return queryAll(ctx, q, scanCourse, `SELECT `+courseColumns+` FROM course WHERE created_by = $1
		OR id IN (SELECT course_id FROM course_batch WHERE mentors LIKE $2)
		ORDER BY created_date DESC, id`, userID, `%"`+userID+`"%`)
}

const batchColumns = `id, course_id, name, created_by, mentors, start_date, end_date, enrolment_end_date, created_date`

func scanBatch(row Row) (*roster.Batch, error) {
	var b roster.Batch
	var mentors string
	if err := row.Scan(&b.ID, &b.CourseID, &b.Name, &b.CreatedBy, &mentors, &b.StartDate, &b.EndDate, &b.EnrolmentEndDate, &b.CreatedDate); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(mentors), &b.Mentors); err != nil {
		return nil, err
	}
	b.StartDate, b.CreatedDate = b.StartDate.UTC(), b.CreatedDate.UTC()
	b.EndDate, b.EnrolmentEndDate = UTCPtr(b.EndDate), UTCPtr(b.EnrolmentEndDate)
	return &b, nil
}

// InsertBatch stores a new batch.
func InsertBatch(ctx context.Context, q Queryer, b *roster.Batch) error {
	_, err := q.Exec(ctx, insertSQL(`course_batch`, batchColumns),
		b.ID, b.CourseID, b.Name, b.CreatedBy, JSONText(b.Mentors, "[]"), b.StartDate, b.EndDate, b.EnrolmentEndDate, b.CreatedDate)
	return err
}

// GetBatch returns ErrNoRows when the batch does not exist.
func GetBatch(ctx context.Context, q Queryer, id string) (*roster.Batch, error) {
	return scanBatch(q.QueryRow(ctx, `SELECT `+batchColumns+` FROM course_batch WHERE id = $1`, id))
}

// ListBatches returns a course's batches ordered by id, which is also the
// order a whole-course report walks them in.
func ListBatches(ctx context.Context, q Queryer, courseID string) ([]roster.Batch, error) {
	return queryAll(ctx, q, scanBatch, `SELECT `+batchColumns+` FROM course_batch WHERE course_id = $1 ORDER BY id`, courseID)
}

// BatchCount is the number of active enrolments of a batch and how many of
// those users currently consent to share their profile.
type BatchCount struct {
	Enrolled  int64
	Consented int64
}

// CountEnrolments returns per-batch counts for a course, keyed by batch id.
// Batches without active enrolments are absent.
func CountEnrolments(ctx context.Context, q Queryer, courseID, consumerID string, at time.Time) (map[string]BatchCount, error) {
	return countEnrolments(ctx, q, "", courseID, consumerID, at)
}

// CountBatchEnrolments returns the counts of one batch of a course.
func CountBatchEnrolments(ctx context.Context, q Queryer, courseID, batchID, consumerID string, at time.Time) (BatchCount, error) {
	m, err := countEnrolments(ctx, q, " AND e.batch_id = $5", courseID, consumerID, at, batchID)
	return m[batchID], err
}

func countEnrolments(ctx context.Context, q Queryer, filter, courseID, consumerID string, at time.Time, args ...any) (map[string]BatchCount, error) {
	// The newest consent per learner is read by index probes (latestConsent,
	// as the report does), not joined: a join lets PostgreSQL hash the whole
	// consent ledger for one course's counts.
	rows, err := q.Query(ctx, `
SELECT batch_id, COUNT(*), COALESCE(SUM(CASE WHEN status = $4 THEN 1 ELSE 0 END), 0)
FROM (SELECT e.batch_id, (SELECT c.status `+latestConsent+`) AS status
      FROM enrolment e
      WHERE e.course_id = $1 AND e.active`+filter+`) x
GROUP BY batch_id`, append([]any{courseID, consumerID, at, roster.ConsentActive}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]BatchCount{}
	for rows.Next() {
		var id string
		var n BatchCount
		if err := rows.Scan(&id, &n.Enrolled, &n.Consented); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// UpsertEnrolment enrols a user in a batch, reactivating an earlier
// enrolment in the same batch. An active enrolment in another batch of the
// same course is ErrUnique (constraint enrolment_one_active_per_course).
func UpsertEnrolment(ctx context.Context, q Queryer, e *roster.Enrolment) error {
	_, err := q.Exec(ctx, insertSQL(`enrolment`, enrolmentColumns)+`
ON CONFLICT (batch_id, user_id) DO UPDATE SET active = TRUE, enrolled_date = excluded.enrolled_date, updated_date = excluded.enrolled_date`,
		e.UserID, e.CourseID, e.BatchID, e.EnrolledDate, true)
	return err
}

// DeactivateEnrolment marks an enrolment inactive and reports whether an
// active one existed.
func DeactivateEnrolment(ctx context.Context, q Queryer, batchID, userID string, at time.Time) (bool, error) {
	n, err := q.Exec(ctx, `UPDATE enrolment SET active = FALSE, updated_date = $3 WHERE batch_id = $1 AND user_id = $2 AND active`,
		batchID, userID, at)
	return n > 0, err
}

const enrolmentColumns = `user_id, course_id, batch_id, enrolled_date, active`

func scanEnrolment(row Row) (*roster.Enrolment, error) {
	var e roster.Enrolment
	if err := row.Scan(&e.UserID, &e.CourseID, &e.BatchID, &e.EnrolledDate, &e.Active); err != nil {
		return nil, err
	}
	e.EnrolledDate = e.EnrolledDate.UTC()
	return &e, nil
}

// ListParticipants pages through a batch's active enrolments by user id.
func ListParticipants(ctx context.Context, q Queryer, batchID, afterUserID string, limit int) ([]roster.Enrolment, error) {
	return queryAll(ctx, q, scanEnrolment, `SELECT `+enrolmentColumns+` FROM enrolment
WHERE batch_id = $1 AND active AND user_id > $2 ORDER BY user_id LIMIT $3`, batchID, afterUserID, limit)
}

// ListUserEnrolments returns a user's active enrolments, newest first.
func ListUserEnrolments(ctx context.Context, q Queryer, userID string) ([]roster.Enrolment, error) {
	return queryAll(ctx, q, scanEnrolment, `SELECT `+enrolmentColumns+` FROM enrolment
WHERE user_id = $1 AND active ORDER BY enrolled_date DESC, batch_id`, userID)
}

// InsertConsent appends an entry to the consent ledger.
func InsertConsent(ctx context.Context, q Queryer, c *roster.Consent) error {
	_, err := q.Exec(ctx, insertSQL(`consent`, consentColumns), consentArgs(c)...)
	return err
}

const consentColumns = `id, user_id, consumer_id, object_id, object_type, status, at`

func consentArgs(c *roster.Consent) []any {
	return []any{c.ID, c.UserID, c.ConsumerID, c.ObjectID, c.ObjectType, c.Status, c.At}
}

// ConsentHistory returns every ledger entry of a user for an object, oldest first.
func ConsentHistory(ctx context.Context, q Queryer, userID, objectID, consumerID string) ([]roster.Consent, error) {
	return queryAll(ctx, q, scanConsent, `SELECT `+consentColumns+` FROM consent
WHERE user_id = $1 AND object_id = $2 AND consumer_id = $3 ORDER BY at, id`, userID, objectID, consumerID)
}

func scanConsent(row Row) (*roster.Consent, error) {
	var c roster.Consent
	if err := row.Scan(&c.ID, &c.UserID, &c.ConsumerID, &c.ObjectID, &c.ObjectType, &c.Status, &c.At); err != nil {
		return nil, err
	}
	c.At = c.At.UTC()
	return &c, nil
}
