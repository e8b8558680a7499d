package store

import (
	"context"
	"time"
)

// UserKeyRecord is a user_key row: a user's data key, wrapped by the ring
// key named KeyID.
type UserKeyRecord struct {
	UserID  string
	KeyID   string
	Wrapped []byte
	Created time.Time
}

const userKeyColumns = `user_id, key_id, wrapped_enc, created`

// InsertUserKey stores a user's data key; false means the user already has
// one (another writer created it first), which the caller then reads.
func InsertUserKey(ctx context.Context, q Queryer, r UserKeyRecord) (bool, error) {
	n, err := q.Exec(ctx, insertSQL(`user_key`, userKeyColumns)+` ON CONFLICT (user_id) DO NOTHING`,
		r.UserID, r.KeyID, r.Wrapped, r.Created)
	return n == 1, err
}

// InsertUserKeys stores the data keys of new users (bulk loads).
func InsertUserKeys(ctx context.Context, q Queryer, rs []UserKeyRecord) error {
	return insertRows(ctx, q, `user_key`, userKeyColumns, len(rs), func(i int) []any {
		return []any{rs[i].UserID, rs[i].KeyID, rs[i].Wrapped, rs[i].Created}
	})
}

// GetUserKey reads a user's wrapped data key, or ErrNoRows when the user
// has none (created before per-user keys, or erased).
func GetUserKey(ctx context.Context, q Queryer, userID string) (*UserKeyRecord, error) {
	return scanUserKey(q.QueryRow(ctx, `SELECT `+userKeyColumns+` FROM user_key WHERE user_id = $1`, userID))
}

func scanUserKey(row Row) (*UserKeyRecord, error) {
	var r UserKeyRecord
	if err := row.Scan(&r.UserID, &r.KeyID, &r.Wrapped, &r.Created); err != nil {
		return nil, err
	}
	r.Created = r.Created.UTC()
	return &r, nil
}

// UserKeysNotUnder pages, by user id, through the data keys wrapped by a
// ring key other than keyID: what a rewrap still has to move.
func UserKeysNotUnder(ctx context.Context, q Queryer, keyID, afterUserID string, limit int) ([]UserKeyRecord, error) {
	return queryAll(ctx, q, scanUserKey, `SELECT `+userKeyColumns+` FROM user_key
		WHERE key_id <> $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, keyID, afterUserID, limit)
}

// CountUserKeysNotUnder counts the data keys wrapped by a ring key other
// than keyID.
func CountUserKeysNotUnder(ctx context.Context, q Queryer, keyID string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM user_key WHERE key_id <> $1`, keyID).Scan(&n)
	return n, err
}

// RewrapUserKey replaces a data key's wrapping, only if it is still the one
// the caller read (false otherwise: the user was erased or rewrapped
// meanwhile), so a rewrap is safe while the service runs.
func RewrapUserKey(ctx context.Context, q Queryer, old UserKeyRecord, keyID string, wrapped []byte) (bool, error) {
	n, err := q.Exec(ctx, `UPDATE user_key SET key_id = $3, wrapped_enc = $4 WHERE user_id = $1 AND key_id = $2`,
		old.UserID, old.KeyID, keyID, wrapped)
	return n == 1, err
}

// UserKeysFor reads the wrapped data keys of users, one query for a page.
func UserKeysFor(ctx context.Context, q Queryer, userIDs []string) ([]UserKeyRecord, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		args[i] = id
	}
	return queryAll(ctx, q, scanUserKey, `SELECT `+userKeyColumns+` FROM user_key WHERE user_id IN (`+
		Placeholders(len(args))+`)`, args...)
}

// SealedUser is what a rewrap reads to move a user's values from the ring
// onto their data key: the sealed columns, by name.
type SealedUser struct {
	UserID  string
	Columns map[string][]byte // "email_enc" → value
}

// userSealedColumns are the users columns sealed per user.
var userSealedColumns = []string{"email_enc", "phone_enc", "recovery_email_enc", "recovery_phone_enc",
	"prev_used_email_enc", "prev_used_phone_enc"}

// UserSealedColumns returns the names of the users columns sealed per user.
func UserSealedColumns() []string { return append([]string(nil), userSealedColumns...) }

// SealedUsers pages, by id, through users not erased, with their sealed
// columns.
func SealedUsers(ctx context.Context, q Queryer, afterUserID string, limit int) ([]SealedUser, error) {
	return queryAll(ctx, q, func(row Row) (*SealedUser, error) {
		vals := make([][]byte, len(userSealedColumns))
		dst := []any{new(string)}
		for i := range vals {
			dst = append(dst, &vals[i])
		}
		if err := row.Scan(dst...); err != nil {
			return nil, err
		}
		u := &SealedUser{UserID: *dst[0].(*string), Columns: map[string][]byte{}}
		for i, c := range userSealedColumns {
			u.Columns[c] = vals[i]
		}
		return u, nil
	}, `SELECT id, `+joinColumns(userSealedColumns)+` FROM users
		WHERE erased_date IS NULL AND id > $1 ORDER BY id LIMIT $2`, afterUserID, limit)
}

// CountSealedUsers counts the users not erased.
func CountSealedUsers(ctx context.Context, q Queryer) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE erased_date IS NULL`).Scan(&n)
	return n, err
}

func joinColumns(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

// ResealUserColumn replaces one sealed column of a user only if it still
// holds old, so a value changed meanwhile by the running service is never
// overwritten with a stale one. column must be one of UserSealedColumns.
func ResealUserColumn(ctx context.Context, q Queryer, userID, column string, old, sealed []byte) (bool, error) {
	if !isUserSealedColumn(column) {
		panic("store: not a sealed users column: " + column)
	}
	n, err := q.Exec(ctx, `UPDATE users SET `+column+` = $3 WHERE id = $1 AND `+column+` = $2`, userID, old, sealed)
	return n == 1, err
}

func isUserSealedColumn(c string) bool {
	for _, s := range userSealedColumns {
		if s == c {
			return true
		}
	}
	return false
}

// ResealExternalIdentity replaces an identity's sealed id only if it still
// holds old.
func ResealExternalIdentity(ctx context.Context, q Queryer, r ExternalIdentityRecord, sealed []byte) (bool, error) {
	n, err := q.Exec(ctx, `UPDATE usr_external_identity SET external_id_enc = $5
		WHERE provider = $1 AND id_type = $2 AND user_id = $3 AND external_id_enc = $4`,
		r.Provider, r.IDType, r.UserID, r.Enc, sealed)
	return n == 1, err
}

// EraseUser blanks every personal field of a user, deletes their data key,
// lookups and external identities and marks them erased, inactive and
// deleted. The row, memberships and enrolments stay. It returns ErrNoRows
// when the user is already erased. Run it in the transaction that audits.
func EraseUser(ctx context.Context, q Queryer, userID, actorID string, now time.Time) error {
	n, err := q.Exec(ctx, `UPDATE users SET
		email_enc = NULL, phone_enc = NULL, recovery_email_enc = NULL, recovery_phone_enc = NULL,
		prev_used_email_enc = NULL, prev_used_phone_enc = NULL, masked_email = '', masked_phone = '',
		email_verified = FALSE, phone_verified = FALSE,
		username = '', first_name = '', last_name = '', dob = '', gender = '', profile_summary = '', location = '',
		profile_location = '[]', password_hash = '',
		status = 0, is_deleted = TRUE, deleted_date = COALESCE(deleted_date, $2), erased_date = $2,
		updated_by = $3, updated_date = $2, session_generation = session_generation + 1
		WHERE id = $1 AND erased_date IS NULL`, userID, now, NullString(actorID))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNoRows
	}
	for _, stmt := range []string{
		`DELETE FROM user_key WHERE user_id = $1`,
		`DELETE FROM user_lookup WHERE user_id = $1`,
		`DELETE FROM usr_external_identity WHERE user_id = $1`,
		// Sealed by the ring, not the user's key (uploads are sealed per
		// upload), so erased here: the rows stay for the upload's counts.
		`UPDATE upload_row SET original_enc = NULL WHERE user_id = $1`,
	} {
		if _, err := q.Exec(ctx, stmt, userID); err != nil {
			return err
		}
	}
	// Declarations stay for the review history, without the teacher id
	// (ring-sealed before per-user keys) or the reviewer's reason, which
	// is free text about the user.
	_, err = q.Exec(ctx, `UPDATE user_declaration SET teacher_id_enc = $2, reason = '' WHERE user_id = $1`, userID, []byte{})
	return err
}

// ErasedDate returns when a user was erased (nil: not erased).
func ErasedDate(ctx context.Context, q Queryer, userID string) (*time.Time, error) {
	var t *time.Time
	err := q.QueryRow(ctx, `SELECT erased_date FROM users WHERE id = $1`, userID).Scan(&t)
	return UTCPtr(t), err
}
