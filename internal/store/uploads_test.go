package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

func newTenant(t *testing.T, db store.Engine, channel string) *roster.Organisation {
	t.Helper()
	id := roster.NewID()
	org := &roster.Organisation{ID: id, Name: channel, Channel: channel, IsTenant: true, RootOrgID: id, Status: 1, CreatedDate: roster.Now()}
	if err := store.InsertOrg(context.Background(), db, org); err != nil {
		t.Fatal(err)
	}
	return org
}

func newUploadFixture(t *testing.T, db store.Engine) (org *roster.Organisation, userID string) {
	t.Helper()
	org = newTenant(t, db, "TN")
	u := &store.UserRecord{User: roster.User{ID: roster.NewID(), Username: "u1", FirstName: "U", RootOrgID: org.ID, Status: 1, CreatedDate: roster.Now()}}
	if err := store.InsertUser(context.Background(), db, u); err != nil {
		t.Fatal(err)
	}
	return org, u.ID
}

func TestUploadLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		org, userID := newUploadFixture(t, db)
		now := roster.Now()
		up := &roster.Upload{ID: roster.NewID(), OrgID: org.ID, RootOrgID: org.ID, UploadedBy: "admin-1",
			FileName: "users.csv", FileSize: 42, Format: "csv", Columns: []string{"firstName", "email"},
			FileEnc: []byte("sealed"), Status: roster.UploadNew, Total: 3, CreatedAt: now, UpdatedAt: now}
		if err := store.InsertUpload(ctx, db, up); err != nil {
			t.Fatal(err)
		}
		got, err := store.GetUpload(ctx, db, up.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *up
		want.FileEnc = nil
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("got\n%+v\nwant\n%+v", *got, want)
		}
		if enc, err := store.UploadFile(ctx, db, up.ID); err != nil || string(enc) != "sealed" {
			t.Fatalf("file %q %v", enc, err)
		}

		later := now.Add(1e9)
		if err := store.StartUpload(ctx, db, up.ID, later); err != nil {
			t.Fatal(err)
		}
		// A second start (a retried job) keeps the first start time.
		if err := store.StartUpload(ctx, db, up.ID, later.Add(1e9)); err != nil {
			t.Fatal(err)
		}
		err = store.InTx(ctx, db, func(tx store.Tx) error {
			if err := store.LockUpload(ctx, tx, up.ID, later); err != nil {
				return err
			}
			rows := []roster.UploadRow{
				{UploadID: up.ID, RowNumber: 2, Status: roster.UploadRowCreated, UserID: userID, OriginalEnc: []byte("o2"), CreatedAt: later},
				{UploadID: up.ID, RowNumber: 4, Status: roster.UploadRowFailed, CreatedAt: later, OriginalEnc: []byte("o4"),
					Errors: []roster.FieldError{{Field: "email", Message: "is not a valid email address"}}},
			}
			if err := store.InsertUploadRows(ctx, tx, rows); err != nil {
				return err
			}
			return store.AddUploadProgress(ctx, tx, up.ID, 1, 1, later)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.InTx(ctx, db, func(tx store.Tx) error {
			return store.LockUpload(ctx, tx, "missing", later)
		}); !errors.Is(err, store.ErrNoRows) {
			t.Fatalf("lock of a missing upload: %v", err)
		}

		got, _ = store.GetUpload(ctx, db, up.ID)
		if got.Status != roster.UploadInProgress || got.StartedAt == nil || !got.StartedAt.Equal(later) ||
			got.Processed != 2 || got.Succeeded != 1 || got.Failed != 1 {
			t.Fatalf("after a chunk: %+v", got)
		}

		done, err := store.UploadRowsDone(ctx, db, up.ID, 2, 3)
		if err != nil || !reflect.DeepEqual(done, map[int]bool{2: true}) {
			t.Fatalf("done %v %v", done, err)
		}

		// Recording a row twice fails: a resumed upload can never double-count.
		err = store.InTx(ctx, db, func(tx store.Tx) error {
			return store.InsertUploadRows(ctx, tx, []roster.UploadRow{{UploadID: up.ID, RowNumber: 2, Status: roster.UploadRowFailed, CreatedAt: later}})
		})
		if !errors.Is(err, store.ErrUnique) {
			t.Fatalf("duplicate outcome: %v", err)
		}

		all, err := store.ListUploadRows(ctx, db, up.ID, "", 0, 10, true)
		if err != nil || len(all) != 2 || all[0].RowNumber != 2 || all[0].UserID != userID || string(all[0].OriginalEnc) != "o2" ||
			all[1].RowNumber != 4 || all[1].Errors[0].Message != "is not a valid email address" || all[1].UserID != "" {
			t.Fatalf("rows %+v %v", all, err)
		}
		failed, _ := store.ListUploadRows(ctx, db, up.ID, roster.UploadRowFailed, 0, 10, false)
		if len(failed) != 1 || failed[0].RowNumber != 4 || failed[0].OriginalEnc != nil {
			t.Fatalf("failed rows %+v", failed)
		}
		page, _ := store.ListUploadRows(ctx, db, up.ID, "", 2, 10, false)
		if len(page) != 1 || page[0].RowNumber != 4 {
			t.Fatalf("page after row 2: %+v", page)
		}

		if err := store.FinishUpload(ctx, db, up.ID, roster.UploadCompleted, "", later); err != nil {
			t.Fatal(err)
		}
		got, _ = store.GetUpload(ctx, db, up.ID)
		if got.Status != roster.UploadCompleted || got.FinishedAt == nil {
			t.Fatalf("finished: %+v", got)
		}
		if enc, err := store.UploadFile(ctx, db, up.ID); err != nil || enc != nil {
			t.Fatalf("the sealed file must be dropped when the upload finishes: %q %v", enc, err)
		}
	})
}

func TestListUploads(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		org, _ := newUploadFixture(t, db)
		other := newTenant(t, db, "KL")
		var ids []string
		for i := 0; i < 5; i++ {
			now := roster.Now()
			up := &roster.Upload{ID: roster.NewID(), OrgID: org.ID, RootOrgID: org.ID, UploadedBy: "a", FileName: "f.csv",
				Format: "csv", Status: roster.UploadNew, CreatedAt: now, UpdatedAt: now}
			if i == 2 {
				up.OrgID, up.RootOrgID = other.ID, other.ID
			} else {
				ids = append(ids, up.ID)
			}
			if err := store.InsertUpload(ctx, db, up); err != nil {
				t.Fatal(err)
			}
		}
		first, err := store.ListUploads(ctx, db, org.ID, "", 3)
		if err != nil || len(first) != 3 || first[0].ID != ids[3] || first[2].ID != ids[1] {
			t.Fatalf("first page %v %v", first, err)
		}
		second, _ := store.ListUploads(ctx, db, org.ID, first[2].ID, 3)
		if len(second) != 1 || second[0].ID != ids[0] {
			t.Fatalf("second page %+v", second)
		}
	})
}
