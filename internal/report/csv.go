package report

import (
	"encoding/csv"
	"io"
)

// bom makes Excel read the file as UTF-8, so names in Indic scripts are not
// shown as mojibake.
const bom = "\xEF\xBB\xBF"

// SafeCell neutralises spreadsheet formula injection: a cell starting with
// = + - @ TAB or CR would be evaluated by Excel or LibreOffice, so it gets
// a leading apostrophe, which they display as text (OWASP's advice).
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

// CSVWriter writes the report's CSV: UTF-8 with BOM, CRLF line ends
// (RFC 4180, what Excel writes), every cell passed through SafeCell.
type CSVWriter struct {
	w   *csv.Writer
	rec []string
}

// NewCSVWriter writes the BOM and the header row to w.
func NewCSVWriter(w io.Writer) (*CSVWriter, error) {
	if _, err := io.WriteString(w, bom); err != nil {
		return nil, err
	}
	c := &CSVWriter{w: csv.NewWriter(w), rec: make([]string, len(Header))}
	c.w.UseCRLF = true
	return c, c.Write(Header)
}

// Write writes one row of len(Header) cells.
func (c *CSVWriter) Write(cells []string) error {
	for i, v := range cells {
		c.rec[i] = SafeCell(v)
	}
	return c.w.Write(c.rec[:len(cells)])
}

// Flush writes buffered rows and reports any write error.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}
