package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster"
)

// UserRecord is a users row as stored: PII only as ciphertext. The embedded
// User carries the non-PII columns; its plaintext PII fields stay empty here.
type UserRecord struct {
	roster.User
	EmailEnc         []byte
	PhoneEnc         []byte
	RecoveryEmailEnc []byte
	RecoveryPhoneEnc []byte
	PrevUsedEmailEnc []byte
	PrevUsedPhoneEnc []byte
	// SessionGeneration is read with the row but written only by
	// EndSessions, so a concurrent UpdateUser cannot undo an increment.
	SessionGeneration int64
	// PasswordMustChange marks a password chosen by someone else (an
	// administrator, an upload): sign-in then allows only choosing one's own.
	PasswordMustChange bool
	// Version counts the writes of the row. UpdateUser writes only over
	// the version it was read at and moves it on, so a change based on an
	// older read fails with ErrStale.
	Version int64
	// Key is a new user's data key, for the creator to insert with the row
	// (InsertUserKeys); reads leave it empty.
	Key UserKeyRecord
}

const userColumns = `id, username, first_name, last_name, email_enc, masked_email, email_verified,
	phone_enc, masked_phone, phone_verified, recovery_email_enc, recovery_phone_enc,
	prev_used_email_enc, prev_used_phone_enc, country_code, dob, gender, language, position,
	profile_summary, location, channel, root_org_id, flags_value, framework, profile_location,
	profile_user_types, all_tnc_accepted, tnc_accepted_on, tnc_accepted_version, managed_by,
	status, is_deleted, deleted_date, password_hash, created_by, created_date, updated_by, updated_date, password_must_change`

func (r *UserRecord) args() []any {
	u := &r.User
	return []any{u.ID, u.Username, u.FirstName, u.LastName, r.EmailEnc, u.MaskedEmail, u.EmailVerified,
		r.PhoneEnc, u.MaskedPhone, u.PhoneVerified, r.RecoveryEmailEnc, r.RecoveryPhoneEnc,
		r.PrevUsedEmailEnc, r.PrevUsedPhoneEnc, u.CountryCode, u.DOB, u.Gender, JSONText(u.Language, "[]"), u.Position,
		u.ProfileSummary, u.Location, u.Channel, u.RootOrgID, u.FlagsValue, JSONText(u.Framework, "{}"), JSONText(u.ProfileLocation, "[]"),
		JSONText(u.ProfileUserTypes, "[]"), JSONText(u.AllTncAccepted, "{}"), u.TncAcceptedOn, u.TncAcceptedVersion, NullString(u.ManagedBy),
		u.Status, u.IsDeleted, u.DeletedDate, u.PasswordHash, NullString(u.CreatedBy), u.CreatedDate, NullString(u.UpdatedBy), u.UpdatedDate, r.PasswordMustChange}
}

// userSelect is what reads fetch: the written columns, the session
// generation, the row version and the erasure date (written only by
// EraseUser).
const userSelect = userColumns + `, session_generation, version, erased_date`

func scanUser(row Row) (*UserRecord, error) {
	var r UserRecord
	u := &r.User
	var language, framework, profileLocation, profileUserTypes, allTnc string
	var managedBy, createdBy, updatedBy sql.NullString
	err := row.Scan(&u.ID, &u.Username, &u.FirstName, &u.LastName, &r.EmailEnc, &u.MaskedEmail, &u.EmailVerified,
		&r.PhoneEnc, &u.MaskedPhone, &u.PhoneVerified, &r.RecoveryEmailEnc, &r.RecoveryPhoneEnc,
		&r.PrevUsedEmailEnc, &r.PrevUsedPhoneEnc, &u.CountryCode, &u.DOB, &u.Gender, &language, &u.Position,
		&u.ProfileSummary, &u.Location, &u.Channel, &u.RootOrgID, &u.FlagsValue, &framework, &profileLocation,
		&profileUserTypes, &allTnc, &u.TncAcceptedOn, &u.TncAcceptedVersion, &managedBy,
		&u.Status, &u.IsDeleted, &u.DeletedDate, &u.PasswordHash, &createdBy, &u.CreatedDate, &updatedBy, &u.UpdatedDate, &r.PasswordMustChange, &r.SessionGeneration, &r.Version, &u.ErasedDate)
	if err != nil {
		return nil, err
	}
	u.ManagedBy, u.CreatedBy, u.UpdatedBy = managedBy.String, createdBy.String, updatedBy.String
	u.CreatedDate = u.CreatedDate.UTC()
	u.TncAcceptedOn = UTCPtr(u.TncAcceptedOn)
	u.UpdatedDate = UTCPtr(u.UpdatedDate)
	u.DeletedDate = UTCPtr(u.DeletedDate)
	u.ErasedDate = UTCPtr(u.ErasedDate)
	for _, f := range []struct {
		text string
		dst  any
	}{{language, &u.Language}, {framework, &u.Framework}, {profileLocation, &u.ProfileLocation},
		{profileUserTypes, &u.ProfileUserTypes}, {allTnc, &u.AllTncAccepted}} {
		if err := json.Unmarshal([]byte(f.text), f.dst); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// InsertUser writes a new users row.
func InsertUser(ctx context.Context, q Queryer, r *UserRecord) error {
	_, err := q.Exec(ctx, insertSQL(`users`, userColumns), r.args()...)
	return err
}

// ErrStale is UpdateUser's answer when the row was written by someone else
// since r was read.
var ErrStale = &roster.Error{Code: roster.ESTALE, Message: MsgStale}

// MsgStale tells whoever edited from an old copy what to do.
const MsgStale = "this user was changed by someone else since you loaded it; reload and make your change again"

// UpdateUser rewrites every mutable column of an existing row, provided
// the row is still at r.Version, and moves r.Version on.
func UpdateUser(ctx context.Context, q Queryer, r *UserRecord) error {
	cols := strings.Split(userColumns, ",")
	args := append(r.args(), r.Version)
	sets := make([]string, 0, len(cols))
	for i, c := range cols[1:] {
		sets = append(sets, strings.TrimSpace(c)+" = $"+strconv.Itoa(i+2))
	}
	sets = append(sets, "version = version + 1")
	n, err := q.Exec(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+` WHERE id = $1 AND version = $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return err
	}
	if n == 0 {
		if _, err := GetUser(ctx, q, r.ID); err != nil {
			return err
		}
		return ErrStale
	}
	r.Version++
	return nil
}

// GetUser reads one user by id.
func GetUser(ctx context.Context, q Queryer, id string) (*UserRecord, error) {
	return scanUser(q.QueryRow(ctx, `SELECT `+userSelect+` FROM users WHERE id = $1`, id))
}

// EndSessions invalidates every token issued to the user so far.
func EndSessions(ctx context.Context, q Queryer, id string) error {
	n, err := q.Exec(ctx, `UPDATE users SET session_generation = session_generation + 1 WHERE id = $1`, id)
	if err == nil && n == 0 {
		return ErrNoRows
	}
	return err
}

// ListUsersByOrg pages through the users who are members of orgID, ordered
// by id; a self-declared membership counts once approved (keyset pagination: pass the last id seen as after).
func ListUsersByOrg(ctx context.Context, q Queryer, orgID, after string, limit int) ([]UserRecord, error) {
	return queryAll(ctx, q, scanUser, `SELECT `+prefixed("u.", userSelect)+` FROM users u
		JOIN user_organisation m ON m.user_id = u.id
		WHERE m.organisation_id = $1 AND NOT m.is_deleted AND m.is_approved AND NOT m.is_rejected AND u.id > $2
		ORDER BY u.id LIMIT $3`, orgID, after, limit)
}

const lookupColumns = `type, value, user_id`

// InsertLookup claims (typ, value) for userID. It reports false, without an
// error, when another user already holds the value; ON CONFLICT keeps a
// PostgreSQL transaction usable after the clash.
func InsertLookup(ctx context.Context, q Queryer, typ, value, userID string) (bool, error) {
	n, err := q.Exec(ctx, insertSQL(`user_lookup`, lookupColumns)+`
		ON CONFLICT (type, value) DO NOTHING`, typ, value, userID)
	return n == 1, err
}

// LookupUserID returns the user holding (typ, value), or ErrNoRows.
func LookupUserID(ctx context.Context, q Queryer, typ, value string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT user_id FROM user_lookup WHERE type = $1 AND value = $2`, typ, value).Scan(&id)
	return id, err
}

// DeleteLookup releases (typ, value) if userID holds it.
func DeleteLookup(ctx context.Context, q Queryer, typ, value, userID string) error {
	_, err := q.Exec(ctx, `DELETE FROM user_lookup WHERE type = $1 AND value = $2 AND user_id = $3`, typ, value, userID)
	return err
}

// DeleteLookups releases every lookup value held by userID.
func DeleteLookups(ctx context.Context, q Queryer, userID string) error {
	_, err := q.Exec(ctx, `DELETE FROM user_lookup WHERE user_id = $1`, userID)
	return err
}

// ExternalIdentityRecord is a usr_external_identity row; the id is sealed.
type ExternalIdentityRecord struct {
	Provider, IDType, Hash string
	Enc                    []byte
	UserID, CreatedBy      string
	CreatedOn              time.Time
}

const externalIdentityColumns = `provider, id_type, external_id_hash, external_id_enc, user_id, created_by, created_on`

// InsertExternalIdentity stores an identity; false means another user
// already holds it.
func InsertExternalIdentity(ctx context.Context, q Queryer, r ExternalIdentityRecord) (bool, error) {
	n, err := q.Exec(ctx, insertSQL(`usr_external_identity`, externalIdentityColumns)+` ON CONFLICT DO NOTHING`,
		r.Provider, r.IDType, r.Hash, r.Enc, r.UserID, NullString(r.CreatedBy), r.CreatedOn)
	return n == 1, err
}

// ExternalIdentities lists a user's identities.
func ExternalIdentities(ctx context.Context, q Queryer, userID string) ([]ExternalIdentityRecord, error) {
	return queryAll(ctx, q, scanExternalIdentity, `SELECT `+externalIdentityColumns+`
		FROM usr_external_identity WHERE user_id = $1 ORDER BY provider, id_type`, userID)
}

// DeleteExternalIdentities removes every identity of userID.

func scanExternalIdentity(row Row) (*ExternalIdentityRecord, error) {
	var r ExternalIdentityRecord
	var createdBy sql.NullString
	if err := row.Scan(&r.Provider, &r.IDType, &r.Hash, &r.Enc, &r.UserID, &createdBy, &r.CreatedOn); err != nil {
		return nil, err
	}
	r.CreatedBy, r.CreatedOn = createdBy.String, r.CreatedOn.UTC()
	return &r, nil
}

// DeleteExternalIdentity removes userID's identity of provider and idType.
func DeleteExternalIdentity(ctx context.Context, q Queryer, userID, provider, idType string) error {
	_, err := q.Exec(ctx, `DELETE FROM usr_external_identity WHERE user_id = $1 AND provider = $2 AND id_type = $3`,
		userID, provider, idType)
	return err
}

func DeleteExternalIdentities(ctx context.Context, q Queryer, userID string) error {
	_, err := q.Exec(ctx, `DELETE FROM usr_external_identity WHERE user_id = $1`, userID)
	return err
}

// UpsertMembership inserts or replaces the (user, organisation) row.
func UpsertMembership(ctx context.Context, q Queryer, m roster.Membership) error {
	_, err := q.Exec(ctx, insertSQL(`user_organisation`, membershipColumns)+`
		ON CONFLICT (user_id, organisation_id) DO UPDATE SET
			association_type = excluded.association_type, roles = excluded.roles,
			is_approved = excluded.is_approved, is_rejected = excluded.is_rejected,
			is_deleted = excluded.is_deleted, approval_date = excluded.approval_date,
			org_join_date = excluded.org_join_date, org_left_date = excluded.org_left_date,
			updated_by = excluded.updated_by, updated_date = excluded.updated_date`, membershipArgs(m)...)
	return err
}

const membershipColumns = `user_id, organisation_id, association_type, roles,
	is_approved, is_rejected, is_deleted, approval_date, org_join_date, org_left_date, updated_by, updated_date`

func membershipArgs(m roster.Membership) []any {
	return []any{m.UserID, m.OrganisationID, m.AssociationType, JSONText(m.Roles, "[]"),
		m.IsApproved, m.IsRejected, m.IsDeleted, m.ApprovalDate, m.OrgJoinDate, m.OrgLeftDate,
		NullString(m.UpdatedBy), m.UpdatedDate}
}

// Memberships lists a user's organisation memberships, including left ones.
func Memberships(ctx context.Context, q Queryer, userID string) ([]roster.Membership, error) {
	return queryAll(ctx, q, scanMembership, `SELECT `+membershipColumns+`
		FROM user_organisation WHERE user_id = $1 ORDER BY org_join_date, organisation_id`, userID)
}

// Audit appends an audit_log entry. detail must not contain PII.

func scanMembership(row Row) (*roster.Membership, error) {
	var m roster.Membership
	var roles string
	var updatedBy sql.NullString
	if err := row.Scan(&m.UserID, &m.OrganisationID, &m.AssociationType, &roles, &m.IsApproved,
		&m.IsRejected, &m.IsDeleted, &m.ApprovalDate, &m.OrgJoinDate, &m.OrgLeftDate, &updatedBy, &m.UpdatedDate); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &m.Roles); err != nil {
		return nil, err
	}
	m.UpdatedBy = updatedBy.String
	m.OrgJoinDate = m.OrgJoinDate.UTC()
	m.ApprovalDate, m.OrgLeftDate, m.UpdatedDate = UTCPtr(m.ApprovalDate), UTCPtr(m.OrgLeftDate), UTCPtr(m.UpdatedDate)
	return &m, nil
}

// The row's tenant is derived from the object (or the actor), see
// AuditTenant for callers that know it.
func Audit(ctx context.Context, q Queryer, actorID, action, objectType, objectID, outcome, detail string) error {
	return AuditTenant(ctx, q, "", actorID, action, objectType, objectID, outcome, detail)
}

// CountManagedUsers counts the users, not deleted, whose parent is userID.
func CountManagedUsers(ctx context.Context, q Queryer, userID string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE managed_by = $1 AND is_deleted = $2`, userID, false).Scan(&n)
	return n, err
}

// DeleteUserIdentities removes userID's identities of one provider and id
// type and returns the hashes they held, so the caller can release the
// matching lookups.
func DeleteUserIdentities(ctx context.Context, q Queryer, userID, provider, idType string) ([]string, error) {
	return queryAll(ctx, q, scanHash, `DELETE FROM usr_external_identity
		WHERE user_id = $1 AND provider = $2 AND id_type = $3 RETURNING external_id_hash`, userID, provider, idType)
}

func scanHash(row Row) (*string, error) {
	var h string
	return &h, row.Scan(&h)
}
