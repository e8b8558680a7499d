package store

import (
	"context"
	"time"
)

// OneTimeCode is a row of one_time_code. Every value that could identify
// a person or open an account is a keyed hash made by internal/otp.
type OneTimeCode struct {
	ID         string
	Purpose    string
	DestHash   string
	ClientHash string
	CodeHash   string
	Attempts   int
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time
}

const otpColumns = "id, purpose, dest_hash, client_hash, code_hash, attempts, created_at, expires_at, used_at"

func scanOneTimeCode(r Row) (*OneTimeCode, error) {
	var c OneTimeCode
	if err := r.Scan(&c.ID, &c.Purpose, &c.DestHash, &c.ClientHash, &c.CodeHash, &c.Attempts, &c.CreatedAt, &c.ExpiresAt, &c.UsedAt); err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC(), UTCPtr(c.UsedAt)
	return &c, nil
}

// InsertOneTimeCode stores a new code.
func InsertOneTimeCode(ctx context.Context, q Queryer, c OneTimeCode) error {
	_, err := q.Exec(ctx, insertSQL("one_time_code", otpColumns),
		c.ID, c.Purpose, c.DestHash, c.ClientHash, c.CodeHash, c.Attempts, c.CreatedAt, c.ExpiresAt, c.UsedAt)
	return err
}

// LatestOneTimeCode is the newest code of purpose sent to a destination:
// only that one can be used, so a resend retires the codes before it.
func LatestOneTimeCode(ctx context.Context, q Queryer, purpose, destHash string) (*OneTimeCode, error) {
	return scanOneTimeCode(q.QueryRow(ctx, `SELECT `+otpColumns+` FROM one_time_code
		WHERE purpose = $1 AND dest_hash = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, purpose, destHash))
}

// CountOneTimeCodesToDest counts the codes of any purpose sent to a
// destination since a time: one budget per address, whatever asked.
func CountOneTimeCodesToDest(ctx context.Context, q Queryer, destHash string, since time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM one_time_code WHERE dest_hash = $1 AND created_at >= $2`, destHash, since).Scan(&n)
	return n, err
}

// CountOneTimeCodesFromClient counts the codes one client asked for since
// a time.
func CountOneTimeCodesFromClient(ctx context.Context, q Queryer, clientHash string, since time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM one_time_code WHERE client_hash = $1 AND created_at >= $2`, clientHash, since).Scan(&n)
	return n, err
}

// LastOneTimeCodeToDest is when the newest code to a destination was
// made, for the resend cooldown; ErrNoRows when there is none.
func LastOneTimeCodeToDest(ctx context.Context, q Queryer, destHash string) (time.Time, error) {
	var t time.Time
	err := q.QueryRow(ctx, `SELECT created_at FROM one_time_code WHERE dest_hash = $1 ORDER BY created_at DESC LIMIT 1`, destHash).Scan(&t)
	return t.UTC(), err
}

// CountOneTimeCodeAttempt records a wrong guess and returns the new count.
// The increment happens in the database so that parallel guesses cannot
// share one count.
func CountOneTimeCodeAttempt(ctx context.Context, q Queryer, id string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `UPDATE one_time_code SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`, id).Scan(&n)
	return n, err
}

// UseOneTimeCode marks a code used; false when it already was, so two
// parallel verifications with the same code cannot both succeed.
func UseOneTimeCode(ctx context.Context, q Queryer, id string, now time.Time) (bool, error) {
	n, err := q.Exec(ctx, `UPDATE one_time_code SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, now)
	return n == 1, err
}

// DeleteOneTimeCodesBefore removes codes made before a time (retention:
// an hour's rows are all the throttles need).
func DeleteOneTimeCodesBefore(ctx context.Context, q Queryer, before time.Time) (int64, error) {
	return q.Exec(ctx, `DELETE FROM one_time_code WHERE created_at < $1`, before)
}

// DeleteOneTimeCodesTo deletes the codes sent to any of destHashes: an
// erased user's, whose blind-indexed address must not outlive them.
func DeleteOneTimeCodesTo(ctx context.Context, q Queryer, destHashes []string) error {
	if len(destHashes) == 0 {
		return nil
	}
	args := make([]any, len(destHashes))
	for i, h := range destHashes {
		args[i] = h
	}
	_, err := q.Exec(ctx, `DELETE FROM one_time_code WHERE dest_hash IN (`+Placeholders(len(args))+`)`, args...)
	return err
}
