// Package sheet writes CSV files meant to be opened in a spreadsheet: UTF-8
// with a BOM, so Excel reads names in Indic scripts instead of showing
// mojibake; CRLF line ends (RFC 4180, what Excel writes and expects); and
// every cell guarded against formula injection. Every CSV Roster hands to a
// person (upload results, the upload template, reports) goes through it.
package sheet

import (
	"encoding/csv"
	"io"
)

const bom = "\xEF\xBB\xBF"

// SafeCell neutralises spreadsheet formula injection: a cell starting with
// = + - @ TAB or CR would be evaluated by Excel or LibreOffice, so it gets
// a leading apostrophe, which they display as text (OWASP's advice) and
// Excel never saves back. The upload parser removes it again, so a result
// file can be uploaded as it is.
func SafeCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

// Writer writes one spreadsheet-safe CSV.
type Writer struct {
	w   *csv.Writer
	rec []string
}

// NewWriter writes the BOM and the header row to w.
func NewWriter(w io.Writer, header []string) (*Writer, error) {
	if _, err := io.WriteString(w, bom); err != nil {
		return nil, err
	}
	c := &Writer{w: csv.NewWriter(w)}
	c.w.UseCRLF = true
	return c, c.Write(header)
}

// Write writes one row, every cell passed through SafeCell.
func (c *Writer) Write(cells []string) error {
	if cap(c.rec) < len(cells) {
		c.rec = make([]string, len(cells))
	}
	rec := c.rec[:len(cells)]
	for i, v := range cells {
		rec[i] = SafeCell(v)
	}
	return c.w.Write(rec)
}

// Flush writes buffered rows and reports any write error.
func (c *Writer) Flush() error {
	c.w.Flush()
	return c.w.Error()
}
