package report

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/sheet"
)

// A Kind is one report the service builds. The request and its
// one-pending-request rule, the job, the encrypted archive, download links
// and retention are the same for every kind; a kind says only what the
// file holds. A new report is a new Kind in kinds.
type Kind struct {
	Name   string   // stored in report_request.kind; the API's and CLI's "kind"; starts the file name
	Title  string   // what people call it
	Header []string // the file's first row
	// Rows draws the rows from src, applies the kind's rules (which
	// personal fields show, and when) and hands each row's cells to write,
	// in Header's order. Stats counts what was written.
	Rows func(ctx context.Context, src *Source, write func(cells []string) error) (Stats, error)
	// FileBase names the file inside the archive and the archive itself
	// (without extension); nil is fileBase's <kind>_<course>_<batch>_<date>.
	FileBase func(r *roster.ReportRequest) string
}

// Source is what a kind builds from: one request, the course and batches
// it covers, and the moment the data is read as of.
type Source struct {
	Request  *roster.ReportRequest
	Course   *roster.Course
	Batches  []roster.Batch
	Snapshot time.Time

	s *Service
}

// A Format writes a kind's rows into the file inside the archive.
type Format struct {
	Name string // stored in report_request.format; the API's and CLI's "format"
	Ext  string // of the file inside the archive
	New  func(w io.Writer, header []string) (RowWriter, error)
}

// RowWriter is an open report file of some format.
type RowWriter interface {
	Write(cells []string) error
	Flush() error
}

var kinds = []*Kind{&userProfileExhaust, &sunbirdUserInfo}

var formats = []*Format{{Name: roster.ReportCSV, Ext: ".csv",
	New: func(w io.Writer, header []string) (RowWriter, error) { return sheet.NewWriter(w, header) }}}

// KindNames lists the kinds a request may ask for; the first is the default.
func KindNames() []string { return names(kinds, func(k *Kind) string { return k.Name }) }

// FormatNames lists the output formats; the first is the default.
func FormatNames() []string { return names(formats, func(f *Format) string { return f.Name }) }

func names[T any](list []T, name func(T) string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = name(v)
	}
	return out
}

func lookup[T any](list []T, name func(T) string, want string) (T, bool) {
	for _, v := range list {
		if name(v) == want {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func kindOf(name string) (*Kind, bool) {
	return lookup(kinds, func(k *Kind) string { return k.Name }, name)
}

func formatOf(name string) (*Format, bool) {
	return lookup(formats, func(f *Format) string { return f.Name }, name)
}

// kindAndFormat resolves what a requester asked for: the first kind and
// format when left empty, field errors for unknown ones.
func kindAndFormat(kind, format string) (*Kind, *Format, error) {
	kind, format = strings.TrimSpace(kind), strings.TrimSpace(format)
	if kind == "" {
		kind = kinds[0].Name
	}
	if format == "" {
		format = formats[0].Name
	}
	k, okKind := kindOf(kind)
	f, okFormat := formatOf(format)
	var fields []roster.FieldError
	if !okKind {
		fields = append(fields, roster.FieldError{Field: "kind", Message: "must be one of: " + strings.Join(KindNames(), ", ")})
	}
	if !okFormat {
		fields = append(fields, roster.FieldError{Field: "format", Message: "must be one of: " + strings.Join(FormatNames(), ", ")})
	}
	if fields != nil {
		return nil, nil, roster.Invalid(fields...)
	}
	return k, f, nil
}

// fileBase names the file inside the archive and the downloaded archive.
func fileBase(r *roster.ReportRequest) string {
	if k, ok := kindOf(r.Kind); ok && k.FileBase != nil {
		return k.FileBase(r)
	}
	batchID := r.BatchID
	if batchID == "" {
		batchID = "all-batches"
	}
	return r.Kind + "_" + r.CourseID + "_" + batchID + "_" + r.RequestedAt.UTC().Format("20060102")
}

// userProfileExhaust is seed 000's report: one row per learner enrolled in
// a batch, personal fields only for learners who consent and only those the
// course tenant's policy shares.
var userProfileExhaust = Kind{
	Name:   roster.ReportUserProfileExhaust,
	Title:  "User Profile Exhaust",
	Header: ExhaustHeader,
	Rows:   exhaustRows(&seedLayout),
}
