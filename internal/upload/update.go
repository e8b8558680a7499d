package upload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
)

// DefaultChangeThreshold is the percentage of an organisation's members an
// update upload may change or block without confirm: past it, a wrong file
// (the wrong school's list, a shifted column) is more likely than a real
// yearly change, as Canvas's SIS import change threshold assumes.
const DefaultChangeThreshold = 10

// Options of a submitted file.
type Options struct {
	DryRun bool
	// Mode is roster.UploadModeCreate (default), UploadModeUpdate or
	// UploadModeUpsert.
	Mode string
	// Confirm lets an update upload change more than the threshold.
	Confirm bool
}

// MsgNoUser is an update row's answer when no user it may change has the
// row's userName or external id. A user outside the uploader's scope gets
// the same words, so a file cannot tell who exists elsewhere.
const MsgNoUser = "no user of this organisation's tenant that you manage has this value"

// MsgNoKey is an update row's answer when it names no user at all.
const MsgNoKey = "is required to find the user to update (or externalId, externalIdType and externalIdProvider)"

// MsgThreshold is the refusal of an unconfirmed update past the change
// threshold: changed, members, their percentage, the threshold.
const MsgThreshold = "this file would change or block %d of the organisation's %d users (%d%%), more than the %d%% allowed without confirmation; " +
	"check the file (a dry run lists every change), then upload it again with confirm"

// MsgExtIDTogether is the error of a row that gives only some of the
// three externalId columns.
const MsgExtIDTogether = "externalId, externalIdType and externalIdProvider must be given together"

// MsgUpdateHeader is the header problem of an update file that cannot
// name its users.
const MsgUpdateHeader = "an update file needs a userName column, or externalId, externalIdType and externalIdProvider columns, to find its users"

// checkMode normalises an upload mode.
func checkMode(mode string) (string, error) {
	switch m := strings.ToLower(strings.TrimSpace(mode)); m {
	case "", roster.UploadModeCreate:
		return roster.UploadModeCreate, nil
	case roster.UploadModeUpdate, roster.UploadModeUpsert:
		return m, nil
	}
	return "", roster.Invalid(roster.FieldError{Field: "mode", Message: "must be create, update or upsert"})
}

// threshold is the configured percentage.
func (s *Service) threshold() int {
	if s.ChangeThreshold > 0 {
		return s.ChangeThreshold
	}
	return DefaultChangeThreshold
}

// verdict counts the changing rows against the organisation's members.
func (s *Service) verdict(ctx context.Context, q store.Queryer, orgID string, rows []roster.UploadRow) (*roster.UploadThreshold, error) {
	n, err := store.CountOrgMembers(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	t := &roster.UploadThreshold{OrgUsers: n, Percent: s.threshold()}
	for _, r := range rows {
		if r.Action == roster.RowActionUpdate && r.Status != roster.UploadRowFailed {
			t.Changed++
		}
	}
	t.Exceeded = t.Changed*100 > t.Percent*n
	return t, nil
}

// thresholdError is the refusal of an unconfirmed upload past the threshold.
func thresholdError(t *roster.UploadThreshold) error {
	pct := 100
	if t.OrgUsers > 0 {
		pct = t.Changed * 100 / t.OrgUsers
	}
	return roster.Invalid(roster.FieldError{Field: "confirm", Message: fmt.Sprintf(MsgThreshold, t.Changed, t.OrgUsers, pct, t.Percent)})
}

// rowResult is one row's outcome before it is recorded.
type rowResult struct {
	status, action, userID string
	changes                []roster.FieldChange
	errs                   []roster.FieldError
}

// planRows works out every row of an update or upsert file inside tx, as
// processing would, and rolls each row's writes back.
func (s *Service) planRows(ctx context.Context, tx store.Tx, p *roster.Principal, up *roster.Upload, recs []Record) ([]rowResult, error) {
	out := make([]rowResult, len(recs))
	for i := range recs {
		r, err := s.changeRow(ctx, tx, p, up, &recs[i], true)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// changeRow is an update or upsert row's outcome: the matched user
// updated, or in upsert mode a new user created when none matched. With
// dryRun nothing is written but the audit of taken values.
func (s *Service) changeRow(ctx context.Context, tx store.Tx, p *roster.Principal, up *roster.Upload, rec *Record, dryRun bool) (rowResult, error) {
	if fe, err := s.overBudget(ctx, tx, p); fe != nil || err != nil {
		return rowResult{status: roster.UploadRowFailed, errs: fe}, err
	}
	id, err := s.reg.MatchUser(ctx, tx, p, up.RootOrgID, rec.Key)
	if err != nil {
		return rowResult{}, err
	}
	if id == "" && up.Mode == roster.UploadModeUpsert {
		return s.createRow(ctx, tx, p, up, rec, dryRun)
	}
	res := rowResult{action: roster.RowActionUpdate, userID: id}
	if id == "" {
		res.errs = mergeErrors(rec.UpdateErrors, []roster.FieldError{s.noUser(rec)})
		res.status = roster.UploadRowFailed
		return res, nil
	}
	ch := rec.Change
	ch.RolesOrgID = up.OrgID
	// A row with errors of its own is still checked by the registry (and
	// rolled back), so the admin sees all of its problems at once.
	res.changes, err = s.reg.ChangeUserTx(ctx, tx, p, id, ch, dryRun || len(rec.UpdateErrors) > 0)
	var re *roster.Error
	switch {
	case err == nil:
	case errors.As(err, &re) && re.Code == roster.ENOTFOUND:
		res.errs = []roster.FieldError{s.noUser(rec)}
	case errors.As(err, &re) && (re.Code == roster.ECONFLICT || re.Code == roster.EINVALID || re.Code == roster.EFORBIDDEN):
		res.errs = rec.columnErrors(re.Fields)
		if len(res.errs) == 0 {
			res.errs = []roster.FieldError{{Field: "row", Message: re.Message}}
		}
	default:
		return rowResult{}, err
	}
	if len(rec.UpdateErrors) > 0 {
		res.errs = mergeErrors(rec.UpdateErrors, res.errs)
	}
	switch {
	case len(res.errs) > 0:
		res.status, res.changes = roster.UploadRowFailed, nil
	case dryRun:
		res.status = roster.UploadRowValid
	default:
		res.status = roster.UploadRowUpdated
	}
	if len(res.changes) == 0 && len(res.errs) == 0 {
		res.action = roster.RowActionUnchanged
	}
	return res, nil
}

// mergeErrors puts the row's own errors and the registry's together in
// column order, one error per column: a cell that could not be read has
// its one error already.
func mergeErrors(own, reg []roster.FieldError) []roster.FieldError {
	out := append([]roster.FieldError{}, own...)
	for _, e := range reg {
		if !rowErrors(own).has(e.Field) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b roster.FieldError) int { return columnIndex(a.Field) - columnIndex(b.Field) })
	return out
}

// noUser is the error of a row whose user is not found (or not the
// uploader's to change), on the column that named them.
func (s *Service) noUser(rec *Record) roster.FieldError {
	switch {
	case rec.Key.Username != "":
		return roster.FieldError{Field: ColUserName, Message: MsgNoUser}
	case rec.Key.ExternalID != nil:
		return roster.FieldError{Field: ColExternalID, Message: MsgNoUser}
	}
	return roster.FieldError{Field: ColUserName, Message: MsgNoKey}
}

// createRow is an upsert row that matched nobody: checked (dry run) or
// created exactly as in create mode.
func (s *Service) createRow(ctx context.Context, tx store.Tx, p *roster.Principal, up *roster.Upload, rec *Record, dryRun bool) (rowResult, error) {
	res := rowResult{action: roster.RowActionCreate}
	errs := rec.Errors
	if rec.Change.Status == registry.StatusBlocked {
		errs = append(errs[:len(errs):len(errs)], roster.FieldError{Field: registry.FieldStatus, Message: registry.MsgStatusNew})
	}
	if dryRun || len(errs) > 0 {
		conflicts, err := s.conflicts(ctx, tx, p, up.OrgID, rec)
		if err != nil {
			return rowResult{}, err
		}
		errs = append(errs[:len(errs):len(errs)], conflicts...)
		if fe := s.reg.MayGrant(ctx, p, up.OrgID, rec.User.Roles); fe != nil {
			errs = append(errs, *fe)
		}
		res.status, res.errs = roster.UploadRowValid, errs
		if len(errs) > 0 {
			res.status = roster.UploadRowFailed
		}
		return res, nil
	}
	u, errs, err := s.create(ctx, tx, p, up, rec)
	if err != nil {
		return rowResult{}, err
	}
	res.errs = errs
	if len(errs) > 0 {
		res.status = roster.UploadRowFailed
	} else {
		res.status, res.userID = roster.UploadRowCreated, u.ID
	}
	return res, nil
}

// create creates a valid row's user; the row's errors come back as field
// errors, database failures as err.
func (s *Service) create(ctx context.Context, tx store.Tx, p *roster.Principal, up *roster.Upload, rec *Record) (*roster.User, []roster.FieldError, error) {
	nu := rec.User
	nu.OrgID = up.OrgID
	nu.AssociationType = roster.AssociationSystemUpload
	nu.User.FlagsValue = roster.FlagTenantVerified
	if errs, err := s.overBudget(ctx, tx, p); errs != nil || err != nil {
		return nil, errs, err
	}
	u, err := s.reg.CreateUserTx(ctx, tx, p, nu)
	var re *roster.Error
	switch {
	case err == nil:
		return u, nil, nil
	case errors.As(err, &re) && (re.Code == roster.ECONFLICT || re.Code == roster.EINVALID || re.Code == roster.EFORBIDDEN):
		if re.Code == roster.ECONFLICT {
			// Audited like any other answer that a value is taken.
			if _, err := s.reg.Conflicts(ctx, tx, p, nu); err != nil {
				return nil, nil, err
			}
		}
		errs := rec.columnErrors(re.Fields)
		if len(errs) == 0 {
			errs = []roster.FieldError{{Field: "row", Message: re.Message}}
		}
		return nil, errs, nil
	default:
		return nil, nil, err
	}
}

// cell reads an update row's cell: nil when blank (leave the field as it
// is), "" for the clear marker, else the value.
func cell(r Row, col string) *string {
	v := r.Values[col]
	switch {
	case v == "":
		return nil
	case strings.EqualFold(strings.TrimSpace(v), registry.ClearMarker):
		empty := ""
		return &empty
	}
	return &v
}

// cellList is cell for a comma-separated list.
func cellList(r Row, col string) *[]string {
	v := cell(r, col)
	if v == nil {
		return nil
	}
	l := list(*v)
	if l == nil {
		l = []string{}
	}
	return &l
}

// decodeChange reads an update row: the key naming its user and what it
// changes. Only what is particular to a file is checked here (the clear
// marker where it cannot apply, the externalIds JSON); the registry's rule
// book checks the values.
func decodeChange(r Row) (registry.UserKey, registry.UserChange, []roster.FieldError) {
	var errs rowErrors
	var key registry.UserKey
	var ch registry.UserChange
	noClear := func(col string) *string {
		v := cell(r, col)
		if v != nil && *v == "" {
			errs.add(col, registry.MsgNotCleared)
			return nil
		}
		return v
	}
	if v := noClear(ColUserName); v != nil {
		key.Username = strings.TrimSpace(*v)
	}
	id, idType, idProvider := noClear(ColExternalID), noClear(ColExternalIDType), noClear(ColExternalIDProvider)
	if id != nil || idType != nil || idProvider != nil {
		if id == nil || idType == nil || idProvider == nil {
			for _, c := range []string{ColExternalID, ColExternalIDType, ColExternalIDProvider} {
				if r.Values[c] == "" {
					errs.add(c, MsgExtIDTogether)
				}
			}
		} else {
			x := roster.ExternalIdentity{Provider: *idProvider, IDType: *idType, ExternalID: *id}
			if key.Username == "" {
				key.ExternalID = &x
			} else {
				ch.ExternalIDs = append(ch.ExternalIDs, registry.ExternalIDOp{Op: registry.ExternalIDSet, ID: x, Field: ColExternalID})
			}
		}
	}
	if v := noClear(ColFirstName); v != nil {
		ch.Patch.FirstName = v
	}
	p := &ch.Patch
	p.LastName, p.Email, p.Phone, p.DOB, p.Gender = cell(r, ColLastName), cell(r, ColEmail), cell(r, ColPhone), cell(r, ColDOB), cell(r, ColGender)
	ch.Grade, ch.Subject, ch.Language = cellList(r, ColGrade), cellList(r, ColSubject), cellList(r, ColLanguage)
	ch.Roles = cellList(r, ColRoles)
	ch.Position, ch.Location, ch.ProfileSummary = cell(r, ColPosition), cell(r, ColLocation), cell(r, ColProfileSummary)
	if v := noClear(ColStatus); v != nil {
		st, msg := registry.CheckStatus(*v)
		if msg != "" {
			errs.add(ColStatus, msg)
		}
		ch.Status = st
	}
	if v := noClear(ColExternalIDs); v != nil {
		if len([]rune(*v)) > maxExternalIDsText {
			errs.add(ColExternalIDs, registry.MsgTooLong(maxExternalIDsText))
		} else {
			ids, msg := parseExternalIDs(*v)
			if msg != "" {
				errs.add(ColExternalIDs, msg)
			}
			for i, x := range ids {
				op := strings.ToUpper(strings.TrimSpace(x.Operation))
				if op == "" {
					op = registry.ExternalIDAdd
				}
				ch.ExternalIDs = append(ch.ExternalIDs, registry.ExternalIDOp{Op: op, Entry: i + 1, Field: ColExternalIDs,
					ID: roster.ExternalIdentity{Provider: x.Provider, IDType: x.IDType, ExternalID: x.ID}})
			}
		}
	}
	if key.Username == "" && key.ExternalID == nil && !errs.has(ColUserName) && !errs.has(ColExternalID) {
		errs.add(ColUserName, MsgNoKey)
	}
	return key, ch, errs
}

// blankClears is the row as a create sees it: a clear marker in a row that
// creates its user means nothing to clear, so the cell is blank.
func blankClears(r Row) Row {
	out := Row{Number: r.Number, Values: make(map[string]string, len(r.Values))}
	for k, v := range r.Values {
		if strings.EqualFold(strings.TrimSpace(v), registry.ClearMarker) {
			v = ""
		}
		out.Values[k] = v
	}
	return out
}

// errRollback ends a transaction that only worked something out.
var errRollback = errors.New("rolled back")

// dryRunChanges is the dry run of an update or upsert file: every row
// worked out in one transaction, its writes rolled back, and recorded.
func (s *Service) dryRunChanges(ctx context.Context, p *roster.Principal, up *roster.Upload, f *File) (*DryRunResult, error) {
	recs := validateRows(f.Rows, s.Now(), up.Mode, s.Activation != nil)
	var res *DryRunResult
	err := store.InTx(ctx, s.db, func(tx store.Tx) error {
		results, err := s.planRows(ctx, tx, p, up, recs)
		if err != nil {
			return err
		}
		rows := make([]roster.UploadRow, len(recs))
		for i, rr := range results {
			rows[i] = s.outcome(up, &recs[i], rr, up.Failed, up.CreatedAt, f.Columns)
			if rr.status == roster.UploadRowFailed {
				up.Failed++
			} else {
				up.Succeeded++
			}
		}
		if up.Threshold, err = s.verdict(ctx, tx, up.OrgID, rows); err != nil {
			return err
		}
		res, err = s.recordDryRun(ctx, p, up, rows, tx)
		return err
	})
	return res, err
}

// outcome is the recorded row of a result; failedBefore caps its errors.
func (s *Service) outcome(up *roster.Upload, rec *Record, rr rowResult, failedBefore int, now time.Time, columns []string) roster.UploadRow {
	r := roster.UploadRow{UploadID: up.ID, RowNumber: rec.Row.Number, Status: rr.status, UserID: rr.userID,
		Action: rr.action, Changes: rr.changes, CreatedAt: now, OriginalEnc: s.sealOriginal(up.ID, columns, rec.Row)}
	if rr.status == roster.UploadRowFailed {
		r.Errors = capErrors(rr.errs, failedBefore, s.Limits)
	}
	return r
}

// checkThreshold works the file out and refuses it, unless confirmed,
// when it changes or blocks more members than the threshold allows.
// Nothing it works out is kept: processing does it again for real.
func (s *Service) checkThreshold(ctx context.Context, p *roster.Principal, up *roster.Upload, f *File, confirm bool) error {
	recs := validateRows(f.Rows, s.Now(), up.Mode, s.Activation != nil)
	err := store.InTx(ctx, s.db, func(tx store.Tx) error {
		results, err := s.planRows(ctx, tx, p, up, recs)
		if err != nil {
			return err
		}
		rows := make([]roster.UploadRow, len(results))
		for i, rr := range results {
			rows[i] = roster.UploadRow{Status: rr.status, Action: rr.action}
		}
		if up.Threshold, err = s.verdict(ctx, tx, up.OrgID, rows); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return err
	}
	if up.Threshold.Exceeded && !confirm {
		return thresholdError(up.Threshold)
	}
	return nil
}
