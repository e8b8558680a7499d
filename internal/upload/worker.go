package upload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
)

// Process creates the users of an upload. It is what the River job runs,
// and it is safe to run again at any point, even concurrently with itself:
// rows whose outcome is already recorded are skipped, and a chunk's users
// and outcomes commit together, so a crash loses and duplicates nothing.
// A problem with the file as a whole marks the upload FAILED and returns
// nil (retrying cannot help); database errors are returned for a retry.
func (s *Service) Process(ctx context.Context, uploadID string) error {
	up, err := store.GetUpload(ctx, s.db, uploadID)
	if errors.Is(err, store.ErrNoRows) {
		return nil // deleted: nothing to do
	} else if err != nil {
		return err
	}
	if up.Status == roster.UploadCompleted || up.Status == roster.UploadFailed {
		return nil
	}
	fail := func(msg string) error {
		return store.FinishUpload(ctx, s.db, up.ID, roster.UploadFailed, msg, roster.Now())
	}
	enc, err := store.UploadFile(ctx, s.db, up.ID)
	if err != nil {
		return err
	} else if enc == nil {
		return fail("the uploaded file is no longer stored")
	}
	data, err := s.keys.Open(enc, pii.UploadFile(up.ID))
	if err != nil {
		return fail("the uploaded file cannot be decrypted (its key is no longer configured)")
	}
	// Limits were enforced on submit; a later change of configuration must
	// not turn an accepted upload into a failed one.
	f, err := Parse(up.FileName, []byte(data), Limits{MaxRows: math.MaxInt, MaxBytes: math.MaxInt64, mode: up.Mode, activation: s.Activation != nil})
	if err != nil {
		return fail(roster.ErrorMessage(err))
	}
	if err := store.StartUpload(ctx, s.db, up.ID, roster.Now()); err != nil {
		return err
	}
	recs := validateRows(f.Rows, s.Now(), up.Mode, s.Activation != nil)
	done, err := store.UploadRowsDone(ctx, s.db, up.ID, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	pending := make([]*Record, 0, len(recs))
	for i := range recs {
		if !done[recs[i].Row.Number] {
			pending = append(pending, &recs[i])
		}
	}
	var chunks [][]*Record
	for size := max(s.ChunkSize, 1); len(pending) > 0; pending = pending[min(size, len(pending)):] {
		chunks = append(chunks, pending[:min(size, len(pending))])
	}
	// Hashing is the slow part, so the next chunk is hashed while the
	// current one is written: the database work hides behind it. Every
	// chunk is fully hashed before its transaction opens, so no
	// transaction (or SQLite's write lock) waits on argon2.
	var hashed chan struct{}
	hash := func(c []*Record) chan struct{} {
		ch := make(chan struct{})
		go func() {
			if up.Mode != roster.UploadModeUpdate { // an update sets no password
				s.hashPasswords(ctx, c)
			}
			close(ch)
		}()
		return ch
	}
	defer func() {
		if hashed != nil {
			<-hashed // never leave hashing running after returning
		}
	}()
	if len(chunks) > 0 {
		hashed = hash(chunks[0])
	}
	for k, c := range chunks {
		<-hashed
		hashed = nil
		if err := ctx.Err(); err != nil {
			return err
		}
		if k+1 < len(chunks) {
			hashed = hash(chunks[k+1])
		}
		if err := s.processChunk(ctx, up, f.Columns, c); err != nil {
			return err
		}
		if s.afterChunk != nil {
			if err := s.afterChunk(up.ID, k); err != nil {
				return err
			}
		}
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		if err := store.FinishUpload(ctx, tx, up.ID, roster.UploadCompleted, "", roster.Now()); err != nil {
			return err
		}
		cur, err := store.GetUpload(ctx, tx, up.ID)
		if err != nil {
			return err
		}
		return store.Audit(ctx, tx, up.UploadedBy, "upload.complete", "upload", up.ID, "ok",
			fmt.Sprintf("mode=%s succeeded=%d failed=%d", cur.Mode, cur.Succeeded, cur.Failed))
	})
}

// processChunk writes a hashed chunk's users, their outcomes and the
// counters in one transaction.
func (s *Service) processChunk(ctx context.Context, up *roster.Upload, columns []string, chunk []*Record) error {
	first, last := chunk[0].Row.Number, chunk[len(chunk)-1].Row.Number
	uploader, err := s.uploader(ctx, up)
	if err != nil {
		return err
	}
	var activate []registry.SignUpContact
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		activate = activate[:0]
		now := roster.Now()
		// The lock makes a second worker on the same upload wait here and
		// then see this chunk's rows as done.
		if err := store.LockUpload(ctx, tx, up.ID, now); err != nil {
			return err
		}
		done, err := store.UploadRowsDone(ctx, tx, up.ID, first, last)
		if err != nil {
			return err
		}
		// The counter, read under the lock, is what caps the errors a
		// file lists, so a resumed upload caps exactly as an unbroken one.
		cur, err := store.GetUpload(ctx, tx, up.ID)
		if err != nil {
			return err
		}
		rows := make([]roster.UploadRow, 0, len(chunk))
		created, failed := 0, 0
		// A file of values that are mostly taken (the same file sent
		// twice) would make every set-wise attempt stop at its first row:
		// after an attempt that created nothing, the next rows go one by
		// one, twice as many each time, until an attempt creates again.
		solo, backoff := 0, 0
		for i := 0; i < len(chunk); i++ {
			rec := chunk[i]
			if done[rec.Row.Number] {
				continue
			}
			if up.Mode != roster.UploadModeCreate {
				rr, err := s.changeRow(ctx, tx, uploader, up, rec, false)
				if err != nil {
					return err
				}
				rows = append(rows, s.outcome(up, rec, rr, cur.Failed+failed, now, columns))
				if rr.status == roster.UploadRowFailed {
					failed++
				} else {
					created++
				}
				continue
			}
			if run := validRun(chunk[i:], done); solo > 0 {
				solo--
			} else if len(run) > 0 {
				made, err := s.createRun(ctx, tx, uploader, up, columns, run, now)
				if err != nil {
					return err
				}
				rows, created = append(rows, made...), created+len(made)
				if len(made) == len(run) {
					backoff = 0
					i += len(run) - 1
					continue
				}
				if len(made) == 0 {
					backoff = max(1, 2*backoff)
					solo = backoff
				} else {
					backoff = 0
				}
				i += len(made)
				rec = chunk[i] // the row the set-wise create stopped at
			}
			r, err := s.createOne(ctx, tx, uploader, up, columns, rec, cur.Failed+failed, now)
			if err != nil {
				return err
			}
			if r.Status == roster.UploadRowFailed {
				failed++
			} else {
				created++
			}
			rows = append(rows, r)
		}
		activate = s.activations(chunk, rows, activate)
		if err := store.InsertUploadRows(ctx, tx, rows); err != nil {
			return err
		}
		return store.AddUploadProgress(ctx, tx, up.ID, created, failed, now)
	})
	if err == nil && len(activate) > 0 {
		s.sendActivations(ctx, up, activate)
	}
	return err
}

// activations collects where to send the activation messages of the
// users created without a password, and notes on a created row that has
// no verified contact that none could be sent. Set-wise and one-by-one
// creates end up here alike.
func (s *Service) activations(chunk []*Record, rows []roster.UploadRow, to []registry.SignUpContact) []registry.SignUpContact {
	byNumber := make(map[int]*Record, len(chunk))
	for _, rec := range chunk {
		byNumber[rec.Row.Number] = rec
	}
	for i := range rows {
		r := &rows[i]
		rec := byNumber[r.RowNumber]
		if r.Status != roster.UploadRowCreated || rec == nil || !rec.User.Activate {
			continue
		}
		if c, ok := activationContact(rec.User); ok {
			to = append(to, c)
		} else {
			r.Errors = []roster.FieldError{{Field: FieldActivation, Message: MsgNoActivation}}
		}
	}
	return to
}

// validRun is the rows at the start of chunk that are valid and not done
// yet: the ones a set-wise create may take together.
func validRun(chunk []*Record, done map[int]bool) []*Record {
	n := 0
	for n < len(chunk) && chunk[n].OK() && !done[chunk[n].Row.Number] {
		n++
	}
	return chunk[:n]
}

// createRun creates the users of the longest prefix of run that the
// registry can create set-wise and returns their outcomes; the row after
// them (a clash, or an error to report) is for createOne. Rows reach it
// only while the uploader may still be told about conflicts, so the
// budget, which only a conflict moves, is asked once per run, not per row.
func (s *Service) createRun(ctx context.Context, tx store.Tx, uploader *roster.Principal, up *roster.Upload, columns []string,
	run []*Record, now time.Time) ([]roster.UploadRow, error) {
	if errs, err := s.overBudget(ctx, tx, uploader); errs != nil || err != nil {
		return nil, err
	}
	nus := make([]registry.NewUser, len(run))
	for i, rec := range run {
		nus[i] = uploadUser(rec, up.OrgID)
	}
	users, err := s.reg.CreateUsersUntilClashTx(ctx, tx, uploader, nus)
	if err != nil {
		return nil, err
	}
	rows := make([]roster.UploadRow, len(users))
	for i, u := range users {
		rec := run[i]
		rows[i] = roster.UploadRow{Action: roster.RowActionCreate, UploadID: up.ID, RowNumber: rec.Row.Number, CreatedAt: now,
			OriginalEnc: s.sealOriginal(up.ID, columns, rec.Row), Status: roster.UploadRowCreated, UserID: u.ID}
	}
	return rows, nil
}

// uploadUser is the user a create row asks for, in the upload's
// organisation orgID, verified by its tenant.
func uploadUser(rec *Record, orgID string) registry.NewUser {
	nu := rec.User
	nu.OrgID = orgID
	nu.AssociationType = roster.AssociationSystemUpload
	nu.User.FlagsValue = roster.FlagTenantVerified
	return nu
}

// createOne creates one row's user, or records why not; failedBefore is
// how many rows of the upload failed before it (for the cap on listed
// errors).
func (s *Service) createOne(ctx context.Context, tx store.Tx, uploader *roster.Principal, up *roster.Upload, columns []string,
	rec *Record, failedBefore int, now time.Time) (roster.UploadRow, error) {
	r := roster.UploadRow{Action: roster.RowActionCreate, UploadID: up.ID, RowNumber: rec.Row.Number, CreatedAt: now,
		OriginalEnc: s.sealOriginal(up.ID, columns, rec.Row)}
	errs := rec.Errors
	if len(errs) > 0 {
		// The row fails anyway; say too which of its values
		// existing users hold (a valid row learns that from
		// CreateUserTx).
		conflicts, err := s.conflicts(ctx, tx, uploader, up.OrgID, rec)
		if err != nil {
			return r, err
		}
		errs = append(errs[:len(errs):len(errs)], conflicts...)
	} else {
		nu := uploadUser(rec, up.OrgID)
		var err error
		if errs, err = s.overBudget(ctx, tx, uploader); err != nil {
			return r, err
		}
		var u *roster.User
		if errs == nil {
			u, err = s.reg.CreateUserTx(ctx, tx, uploader, nu)
		}
		var re *roster.Error
		switch {
		case errs != nil:
		case err == nil:
			r.Status, r.UserID = roster.UploadRowCreated, u.ID
		case errors.As(err, &re) && (re.Code == roster.ECONFLICT || re.Code == roster.EINVALID || re.Code == roster.EFORBIDDEN):
			if re.Code == roster.ECONFLICT {
				// Audited like any other answer that a value is taken.
				if _, err := s.reg.Conflicts(ctx, tx, uploader, nu); err != nil {
					return r, err
				}
			}
			errs = rec.columnErrors(re.Fields)
			if len(errs) == 0 {
				errs = []roster.FieldError{{Field: "row", Message: re.Message}}
			}
		default:
			return r, err
		}
	}
	if len(errs) > 0 {
		r.Status, r.Errors = roster.UploadRowFailed, capErrors(errs, failedBefore, s.Limits)
	}
	return r, nil
}

// uploader is the principal the rows are created for, as they stand now:
// the registry applies their rights to each row exactly as to an API
// create. One who can no longer sign in keeps no rights, so their
// remaining rows fail.
func (s *Service) uploader(ctx context.Context, up *roster.Upload) (*roster.Principal, error) {
	if up.UploadedBy == roster.SystemPrincipal.UserID {
		return roster.SystemPrincipal, nil
	}
	p, err := s.reg.Principal(ctx, up.UploadedBy)
	if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
		return &roster.Principal{UserID: up.UploadedBy}, nil
	}
	return p, err
}

// hashPasswords hashes the valid rows' passwords on s.Hashers goroutines,
// each waiting for a worker of the registry's hashing pool (its bulk lane),
// so an upload shares the machine with sign-ins instead of taking it. It
// stops early only when ctx ends.
func (s *Service) hashPasswords(ctx context.Context, chunk []*Record) {
	hashAll(ctx, chunk, s.Hashers, s.reg.HashForUpload)
}

// hashAll hashes with n goroutines pulling rows from a shared counter, so
// all workers stay busy even when some rows need no hash. The clear
// password is dropped as soon as its hash exists.
func hashAll(ctx context.Context, recs []*Record, n int, hash func(context.Context, string) (string, error)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(recs) {
					return
				}
				rec := recs[i]
				if rec.OK() && rec.User.User.PasswordHash == "" {
					h, err := hash(ctx, rec.User.Password)
					if err != nil {
						return // ctx ended; the caller sees it
					}
					rec.User.User.PasswordHash, rec.User.Password = h, ""
				}
			}
		})
	}
	wg.Wait()
}

// sealOriginal keeps a row's values for the result CSV, sealed because
// they include email, phone, DOB and external ids. The password is never
// kept, not even sealed.
func (s *Service) sealOriginal(uploadID string, columns []string, row Row) []byte {
	vals := make(map[string]string, len(columns))
	for _, c := range columns {
		vals[c] = row.Values[c]
	}
	if _, ok := vals[ColPassword]; ok {
		vals[ColPassword] = ""
	}
	b, _ := json.Marshal(vals)
	return s.keys.Seal(string(b), pii.UploadRow(uploadID, row.Number))
}

// openOriginal is the reverse of sealOriginal.
func (s *Service) openOriginal(uploadID string, row int, enc []byte) (map[string]string, error) {
	if enc == nil {
		return map[string]string{}, nil
	}
	pt, err := s.keys.Open(enc, pii.UploadRow(uploadID, row))
	if err != nil {
		return nil, err
	}
	vals := map[string]string{}
	return vals, json.Unmarshal([]byte(pt), &vals)
}
