package upload

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/i18n"
	"github.com/roster-dev/roster/internal/sheet"
	"github.com/roster-dev/roster/internal/store"
)

// Result CSV columns added after the file's own columns.
// The outcome column is "result", not "status", because status is a
// column of the file itself (active or blocked).
const (
	ResultStatusColumn = "result"
	ResultErrorsColumn = "errors"
)

// ResultCSV writes the upload's result file: the file's own columns in
// their original order (password blank) with each row's original values,
// then result and errors. An admin can delete the CREATED rows, fix the
// others, fill in passwords and upload the file again as it is: Parse
// ignores the status and errors columns. Rows of an upload still in
// progress appear once processed. Values are written through sheet, whose
// formula guard Parse undoes. The errors column is in the language of ctx
// (i18n.Lang), the language the admin reads the console in; the column
// names stay as the seeds spell them.
func (s *Service) ResultCSV(ctx context.Context, p *roster.Principal, id string, w io.Writer) error {
	up, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	header := append(append([]string{}, up.Columns...), ResultStatusColumn, ResultErrorsColumn)
	cw, err := sheet.NewWriter(w, header)
	if err != nil {
		return err
	}
	lang := i18n.Lang(ctx)
	const page = 500
	after := 0
	for {
		rows, err := store.ListUploadRows(ctx, s.db, id, "", after, page, true)
		if err != nil {
			return err
		}
		for _, r := range rows {
			vals, err := s.openOriginal(id, r.RowNumber, r.OriginalEnc)
			if err != nil {
				return err
			}
			rec := make([]string, 0, len(header))
			for _, c := range up.Columns {
				rec = append(rec, vals[c])
			}
			rec = append(rec, r.Status, JoinErrors(localizeErrors(lang, r.Errors)))
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		if len(rows) < page {
			break
		}
		after = rows[len(rows)-1].RowNumber
	}
	return cw.Flush()
}

// LocalizeRows returns rows with their error messages in lang; the field
// names stay, being the file's column names. rows itself is left as is.
func LocalizeRows(lang string, rows []roster.UploadRow) []roster.UploadRow {
	if lang == i18n.Default {
		return rows
	}
	out := make([]roster.UploadRow, len(rows))
	for i, r := range rows {
		r.Errors = localizeErrors(lang, r.Errors)
		out[i] = r
	}
	return out
}

func localizeErrors(lang string, errs []roster.FieldError) []roster.FieldError {
	if lang == i18n.Default || len(errs) == 0 {
		return errs
	}
	out := make([]roster.FieldError, len(errs))
	for i, e := range errs {
		e.Message = i18n.Message(lang, e.Message)
		out[i] = e
	}
	return out
}

// capErrors bounds what a failed row stores: its first MaxRowErrors errors
// and a count of the rest, or only the count once the file has listed the
// errors of MaxListedRows failed rows (failedBefore counts those before this
// one). The row's FAILED status and the upload's failed counter are kept
// either way, so the API and the result CSV still say how many rows failed.
func capErrors(errs []roster.FieldError, failedBefore int, lim Limits) []roster.FieldError {
	lim = lim.WithDefaults()
	if failedBefore >= lim.MaxListedRows {
		return []roster.FieldError{{Field: "row", Message: fmt.Sprintf(
			"has %d errors, not listed: a file lists the errors of its first %d failed rows only; fix those and upload again",
			len(errs), lim.MaxListedRows)}}
	}
	if len(errs) <= lim.MaxRowErrors {
		return errs
	}
	out := append(errs[:lim.MaxRowErrors:lim.MaxRowErrors], roster.FieldError{Field: "row",
		Message: fmt.Sprintf("has %d more errors, not listed", len(errs)-lim.MaxRowErrors)})
	return out
}

// JoinErrors renders a row's errors for one cell: "column: message; …".
func JoinErrors(errs []roster.FieldError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.String()
	}
	return strings.Join(parts, "; ")
}

// RowResult is a row's outcome with the values the file gave it
// (password blank), as the result CSV shows them.
type RowResult struct {
	roster.UploadRow
	Values map[string]string
}

// RowResults returns up to limit rows after row number after, with their
// original values, to those who may read the upload. It serves the
// Sunbird upload status (internal/sunbird), which echoes each input row.
func (s *Service) RowResults(ctx context.Context, p *roster.Principal, id string, after, limit int) ([]RowResult, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), 1000)
	rows, err := store.ListUploadRows(ctx, s.db, id, "", after, limit, true)
	if err != nil {
		return nil, err
	}
	out := make([]RowResult, 0, len(rows))
	for _, r := range rows {
		vals, err := s.openOriginal(id, r.RowNumber, r.OriginalEnc)
		if err != nil {
			return nil, err
		}
		r.OriginalEnc = nil
		out = append(out, RowResult{UploadRow: r, Values: vals})
	}
	return out, nil
}
