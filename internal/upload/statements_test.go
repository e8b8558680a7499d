package upload

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// countingDB counts the statements Roster sends through store.Queryer,
// including BEGIN, COMMIT and ROLLBACK. (River's own statements go
// through the native pool and are not counted.)
type countingDB struct {
	store.Engine
	n *atomic.Int64
}

func (d countingDB) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	d.n.Add(1)
	return d.Engine.Exec(ctx, sql, args...)
}

func (d countingDB) Query(ctx context.Context, sql string, args ...any) (store.Rows, error) {
	d.n.Add(1)
	return d.Engine.Query(ctx, sql, args...)
}

func (d countingDB) QueryRow(ctx context.Context, sql string, args ...any) store.Row {
	d.n.Add(1)
	return d.Engine.QueryRow(ctx, sql, args...)
}

func (d countingDB) Begin(ctx context.Context) (store.Tx, error) {
	d.n.Add(1)
	tx, err := d.Engine.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return countingTx{tx, d.n}, nil
}

type countingTx struct {
	store.Tx
	n *atomic.Int64
}

func (t countingTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	t.n.Add(1)
	return t.Tx.Exec(ctx, sql, args...)
}

func (t countingTx) Query(ctx context.Context, sql string, args ...any) (store.Rows, error) {
	t.n.Add(1)
	return t.Tx.Query(ctx, sql, args...)
}

func (t countingTx) QueryRow(ctx context.Context, sql string, args ...any) store.Row {
	t.n.Add(1)
	return t.Tx.QueryRow(ctx, sql, args...)
}

func (t countingTx) Commit(ctx context.Context) error {
	t.n.Add(1)
	return t.Tx.Commit(ctx)
}

func (t countingTx) Rollback(ctx context.Context) error {
	t.n.Add(1)
	return t.Tx.Rollback(ctx)
}

// countingFixture is a fixture whose every service (upload, registry)
// talks to the database through a counter.
func countingFixture(t *testing.T, db store.Engine) (*fixture, *atomic.Int64) {
	n := &atomic.Int64{}
	f := newFixture(t, countingDB{db, n})
	f.reg.HashPassword = testkit.CheapHash
	return f, n
}

// Issue 13: an upload's rows are written as sets, so the statements of a
// 1000-row upload do not grow with its rows (it issued ~9,000 when each
// row had its own savepoint, lookups and membership), and a dry run looks
// all its values up at once (it made 3,000 single-row lookups).
func TestUploadStatementsAreSetWise(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f, n := countingFixture(t, db)
		process := func(t *testing.T, chunk int, iter int) int64 {
			f.svc.ChunkSize = chunk
			up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "bench.csv", benchFile(iter), false)
			if err != nil {
				t.Fatal(err)
			}
			n.Store(0)
			if err := f.svc.Process(f.ctx, up.ID); err != nil {
				t.Fatal(err)
			}
			got := n.Load()
			t.Logf("%d statements", got)
			if up, _ := f.svc.Get(f.ctx, f.adminA, up.ID); up.Succeeded != benchRows {
				t.Fatalf("created %d of %d users: %+v", up.Succeeded, benchRows, up)
			}
			return got
		}
		t.Run("one chunk", func(t *testing.T) {
			if got := process(t, benchRows, 0); got > 50 {
				t.Errorf("a 1000-row upload in one chunk took %d statements, want ≤ 50", got)
			}
		})
		t.Run("default chunks", func(t *testing.T) {
			// Each chunk is a transaction with a fixed cost (lock, rows
			// done, counters, budget, organisation): ~23 statements.
			chunks := benchRows / DefaultChunkSize
			if got := process(t, DefaultChunkSize, 1); got > int64(chunks*25) {
				t.Errorf("a 1000-row upload in %d chunks took %d statements, want ≤ %d", chunks, got, chunks*25)
			}
		})
		t.Run("dry run", func(t *testing.T) {
			n.Store(0)
			res, err := f.svc.DryRun(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "bench.csv", benchFile(2))
			if err != nil {
				t.Fatal(err)
			}
			got := n.Load()
			t.Logf("%d statements", got)
			if got > 20 {
				t.Errorf("a 1000-row dry run took %d statements, want ≤ 20", got)
			}
			if res.Upload.Succeeded != benchRows {
				t.Errorf("dry run: %d valid rows, want %d", res.Upload.Succeeded, benchRows)
			}
			// Values the first upload took: found by the one lookup.
			taken := bytes.SplitAfter(benchFile(0), []byte("\n"))
			res, err = f.svc.DryRun(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "bench.csv", bytes.Join(taken[:4], nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Upload.Failed != 3 {
				t.Fatalf("dry run of taken values: %d failed rows, want 3", res.Upload.Failed)
			}
			if errs := res.Rows[2].Errors; len(errs) != 3 || !strings.Contains(errs[0].Message, "already in use") {
				t.Errorf("row 3: %+v", errs)
			}
		})
	})
}

// A row whose value an existing user holds stops the set-wise create at
// that row only: it fails with the usual message naming its column, the
// rows before and after it are created, each audited once.
func TestSetWiseCreateStopsOnlyTheClashingRow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f, _ := countingFixture(t, db)
		first, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "a.csv", csvFile(header, userRows("a", 2)...), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Process(f.ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		rows := userRows("b", 6)
		rows[2][2] = "a1@example.org" // taken by the first upload
		rows[4][4] = "a_0"            // likewise
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "b.csv", csvFile(header, rows...), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]string{2: "email: email already in use", 4: "userName: userName already in use"}
		for i, r := range got {
			if msg, bad := want[i]; bad {
				if r.Status != roster.UploadRowFailed || JoinErrors(r.Errors) != msg {
					t.Errorf("row %d: %s %q, want FAILED %q", r.RowNumber, r.Status, JoinErrors(r.Errors), msg)
				}
			} else if r.Status != roster.UploadRowCreated || r.UserID == "" {
				t.Errorf("row %d: %s %q, want CREATED", r.RowNumber, r.Status, JoinErrors(r.Errors))
			}
		}
		if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'user.create' AND actor_id = $1`, f.adminA.UserID); n != 2+4 {
			t.Errorf("%d user.create audit rows, want 6", n)
		}
		if n := f.members(t, f.schoolA.ID); n != 2+4 {
			t.Errorf("%d members, want 6", n)
		}
	})
}

// A resumed chunk skips the rows already done, wherever they are: a
// set-wise run ends before such a row and the next starts after it.
func TestSetWiseCreateSkipsRowsDone(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f, _ := countingFixture(t, db)
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "c.csv", csvFile(header, userRows("c", 6)...), false)
		if err != nil {
			t.Fatal(err)
		}
		before, err := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{})
		if err != nil {
			t.Fatal(err)
		}
		// Row 6 (the second of the second chunk) is done by another
		// worker after this one listed the rows pending.
		f.svc.ChunkSize = 3
		f.svc.afterChunk = func(id string, k int) error {
			if k > 0 {
				return nil
			}
			done := roster.UploadRow{UploadID: id, RowNumber: 6, Status: roster.UploadRowFailed, Action: roster.RowActionCreate,
				Errors: []roster.FieldError{{Field: "row", Message: "done before"}}, CreatedAt: roster.Now()}
			return store.InsertUploadRows(f.ctx, db, []roster.UploadRow{done})
		}
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		if n := f.members(t, f.schoolA.ID); n != 5 {
			t.Errorf("%d members, want 5 (row 6 was done)", n)
		}
		rows, err := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(before) != 0 || len(rows) != 6 {
			t.Fatalf("%d rows before, %d after, want 0 and 6", len(before), len(rows))
		}
		for _, r := range rows {
			if r.RowNumber == 6 {
				if JoinErrors(r.Errors) != "row: done before" {
					t.Errorf("row 6 redone: %+v", r)
				}
			} else if r.Status != roster.UploadRowCreated {
				t.Errorf("row %d: %s %q", r.RowNumber, r.Status, JoinErrors(r.Errors))
			}
		}
	})
}
