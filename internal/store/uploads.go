package store

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/roster-dev/roster"
)

const uploadColumns = `id, org_id, root_org_id, uploaded_by, file_name, file_size, format, columns, status,
	failure, total, processed, succeeded, failed, dry_run, created_at, updated_at, started_at, finished_at, mode, confirmed`

func scanUpload(row Row) (*roster.Upload, error) {
	var u roster.Upload
	var columns string
	err := row.Scan(&u.ID, &u.OrgID, &u.RootOrgID, &u.UploadedBy, &u.FileName, &u.FileSize, &u.Format, &columns,
		&u.Status, &u.Failure, &u.Total, &u.Processed, &u.Succeeded, &u.Failed, &u.DryRun,
		&u.CreatedAt, &u.UpdatedAt, &u.StartedAt, &u.FinishedAt, &u.Mode, &u.Confirmed)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(columns), &u.Columns); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	u.StartedAt, u.FinishedAt = UTCPtr(u.StartedAt), UTCPtr(u.FinishedAt)
	return &u, nil
}

// InsertUpload records a new upload, including its sealed file.
func InsertUpload(ctx context.Context, q Queryer, u *roster.Upload) error {
	u.Mode = orDefault(u.Mode, roster.UploadModeCreate)
	_, err := q.Exec(ctx, insertSQL(`upload`, uploadColumns+`, file_enc`),
		u.ID, u.OrgID, u.RootOrgID, u.UploadedBy, u.FileName, u.FileSize, u.Format, JSONText(u.Columns, "[]"), u.Status,
		u.Failure, u.Total, u.Processed, u.Succeeded, u.Failed, u.DryRun, u.CreatedAt, u.UpdatedAt, u.StartedAt, u.FinishedAt,
		u.Mode, u.Confirmed, u.FileEnc)
	return err
}

// GetUpload returns an upload without its file, or ErrNoRows.
func GetUpload(ctx context.Context, q Queryer, id string) (*roster.Upload, error) {
	return scanUpload(q.QueryRow(ctx, `SELECT `+uploadColumns+` FROM upload WHERE id = $1`, id))
}

// UploadFile returns the sealed file of an upload; nil once it finished.
func UploadFile(ctx context.Context, q Queryer, id string) ([]byte, error) {
	var enc []byte
	err := q.QueryRow(ctx, `SELECT file_enc FROM upload WHERE id = $1`, id).Scan(&enc)
	return enc, err
}

// ListUploads returns an organisation's uploads, newest first. Pass the
// last id of a page as before to get the next one (ids are UUIDv7, so they
// sort by creation time).
func ListUploads(ctx context.Context, q Queryer, orgID, before string, limit int) ([]roster.Upload, error) {
	sql := `SELECT ` + uploadColumns + ` FROM upload WHERE org_id = $1`
	args := []any{orgID}
	if before != "" {
		sql += ` AND id < $2`
		args = append(args, before)
	}
	sql += ` ORDER BY id DESC LIMIT ` + strconv.Itoa(limit)
	return queryAll(ctx, q, scanUpload, sql, args...)
}

// LockUpload touches the upload row inside tx. On PostgreSQL the row lock
// it takes serialises two workers that ended up on the same upload (a job
// rescued while its first run still lives); SQLite serialises writers
// anyway. It returns ErrNoRows for an unknown upload.
func LockUpload(ctx context.Context, tx Tx, id string, now time.Time) error {
	n, err := tx.Exec(ctx, `UPDATE upload SET updated_at = $2 WHERE id = $1`, id, now)
	if err == nil && n == 0 {
		return ErrNoRows
	}
	return err
}

// StartUpload moves a NEW upload to IN_PROGRESS; it leaves any other
// status alone, so a retried job does not reset started_at.
func StartUpload(ctx context.Context, q Queryer, id string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE upload SET status = $3, started_at = $2, updated_at = $2
		WHERE id = $1 AND status = $4`, id, now, roster.UploadInProgress, roster.UploadNew)
	return err
}

// AddUploadProgress adds one chunk's outcomes to the counters.
func AddUploadProgress(ctx context.Context, q Queryer, id string, succeeded, failed int, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE upload SET processed = processed + $2, succeeded = succeeded + $3,
		failed = failed + $4, updated_at = $5 WHERE id = $1`, id, succeeded+failed, succeeded, failed, now)
	return err
}

// FinishUpload sets the final status and drops the sealed file: once every
// row has its outcome, the clear passwords inside it have no further use.
func FinishUpload(ctx context.Context, q Queryer, id, status, failure string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE upload SET status = $2, failure = $3, finished_at = $4, updated_at = $4,
		file_enc = NULL WHERE id = $1`, id, status, failure, now)
	return err
}

// uploadRowColumns are read and written in this order; the sealed
// original values follow them when a query wants them.
const uploadRowColumns = `upload_id, row_number, status, user_id, errors, created_at, action, changes`

// InsertUploadRows records outcomes in one statement. A row that already
// has an outcome makes it fail with ErrUnique, which aborts the caller's
// transaction rather than recording the row twice.
func InsertUploadRows(ctx context.Context, q Queryer, rows []roster.UploadRow) error {
	return insertRows(ctx, q, `upload_row`, uploadRowColumns+`, original_enc`, len(rows), func(i int) []any {
		r := rows[i]
		return []any{r.UploadID, r.RowNumber, r.Status, NullString(r.UserID), JSONText(r.Errors, "[]"), r.CreatedAt,
			r.Action, JSONText(r.Changes, "[]"), r.OriginalEnc}
	})
}

// UploadRowsDone returns the row numbers in [from, to] that already have an
// outcome, so a resumed upload skips them.
func UploadRowsDone(ctx context.Context, q Queryer, uploadID string, from, to int) (map[int]bool, error) {
	rows, err := q.Query(ctx, `SELECT row_number FROM upload_row WHERE upload_id = $1 AND row_number BETWEEN $2 AND $3`,
		uploadID, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		done[n] = true
	}
	return done, rows.Err()
}

// ListUploadRows pages through outcomes in row order, optionally only those
// with one status. withOriginal also loads the sealed original values.
func ListUploadRows(ctx context.Context, q Queryer, uploadID, status string, afterRow, limit int, withOriginal bool) ([]roster.UploadRow, error) {
	cols := uploadRowColumns
	if withOriginal {
		cols += `, original_enc`
	}
	sql := `SELECT ` + cols + ` FROM upload_row WHERE upload_id = $1 AND row_number > $2`
	args := []any{uploadID, afterRow}
	if status != "" {
		sql += ` AND status = $3`
		args = append(args, status)
	}
	sql += ` ORDER BY row_number LIMIT ` + strconv.Itoa(limit)
	return queryAll(ctx, q, uploadRowScanner(withOriginal), sql, args...)
}

// uploadRowScanner scans upload_row rows, with the sealed original values
// when the query selected them.
func uploadRowScanner(withOriginal bool) func(Row) (*roster.UploadRow, error) {
	return func(row Row) (*roster.UploadRow, error) {
		var r roster.UploadRow
		var userID *string
		var errs, changes string
		dest := []any{&r.UploadID, &r.RowNumber, &r.Status, &userID, &errs, &r.CreatedAt, &r.Action, &changes}
		if withOriginal {
			dest = append(dest, &r.OriginalEnc)
		}
		if err := row.Scan(dest...); err != nil {
			return nil, err
		}
		if userID != nil {
			r.UserID = *userID
		}
		if err := json.Unmarshal([]byte(errs), &r.Errors); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(changes), &r.Changes); err != nil {
			return nil, err
		}
		r.CreatedAt = r.CreatedAt.UTC()
		return &r, nil
	}
}

// CountStoredUploads counts what an organisation keeps of its uploads
// beyond their outcomes: dry runs created after dryRunsSince (their rows
// hold the sealed values of the whole file) and uploads not finished yet
// (they hold the sealed file itself).
func CountStoredUploads(ctx context.Context, q Queryer, orgID string, dryRunsSince time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM upload WHERE org_id = $1
		AND ((dry_run AND created_at > $2) OR (finished_at IS NULL AND NOT dry_run))`, orgID, dryRunsSince).Scan(&n)
	return n, err
}

// DeleteDryRuns deletes up to limit dry runs created before cutoff, with
// their rows, and returns how many it deleted. Dry runs created no users,
// so nothing else refers to them.
func DeleteDryRuns(ctx context.Context, q Queryer, cutoff time.Time, limit int) (int, error) {
	const pick = `SELECT id FROM upload WHERE dry_run AND created_at < $1 ORDER BY created_at LIMIT $2`
	if _, err := q.Exec(ctx, `DELETE FROM upload_row WHERE upload_id IN (`+pick+`)`, cutoff, limit); err != nil {
		return 0, err
	}
	n, err := q.Exec(ctx, `DELETE FROM upload WHERE id IN (`+pick+`)`, cutoff, limit)
	return int(n), err
}

// CountOrgMembers counts the current members of an organisation, the
// denominator of an update upload's change threshold.
func CountOrgMembers(ctx context.Context, q Queryer, orgID string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM user_organisation WHERE organisation_id = $1 AND NOT is_deleted`, orgID).Scan(&n)
	return n, err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
