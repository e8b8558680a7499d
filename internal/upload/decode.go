package upload

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/roster-dev/roster"
)

// Default limits: the seed allows 1000 users per file; 10 MB is far more
// than 1000 rows need, yet small enough to hold in memory while parsing.
const (
	DefaultMaxRows  = 1000
	DefaultMaxBytes = 10 << 20
)

// Defaults of the limits that keep a small file from causing large work.
// The template has 22 columns and a header of about 250 bytes; a sheet of
// 1000 users is 1–3 MB of XML. Each bound is checked before the work it
// guards: the header before it is matched, a workbook's parts before
// excelize reads any of them.
const (
	DefaultMaxHeaderBytes = 16 << 10
	DefaultMaxColumns     = 64
	DefaultMaxPartBytes   = 16 << 20
	DefaultMaxUnzipBytes  = 32 << 20
	DefaultMaxZipEntries  = 1000

	// A row lists its first DefaultMaxRowErrors errors, then how many more;
	// a file lists the errors of its first DefaultMaxListedRows failed rows,
	// then only each further failed row's count. With the default row limit
	// every failed row of a file lists its errors.
	DefaultMaxRowErrors  = 10
	DefaultMaxListedRows = DefaultMaxRows
)

// Limits bound what Parse accepts. Zero fields take the defaults.
type Limits struct {
	MaxRows int // data rows, not counting the header or blank rows
	// mode is the upload's mode, whose columns the header must have.
	mode string
	// activation: a create file may leave out the password column
	// (Service.Activation).
	activation bool
	MaxBytes   int64 // size of the uploaded file as sent

	MaxHeaderBytes int // the header row, in bytes of UTF-8
	MaxColumns     int // header cells, not counting empty ones at the end

	// For .xlsx: the inflated size of any one part and of all parts, the
	// number of parts, and the cells and shared strings of all sheets.
	// MaxCells defaults to twice (MaxRows+1)×MaxColumns, which leaves room
	// for formatted empty cells; shared strings can be no more than cells.
	MaxPartBytes  int64
	MaxUnzipBytes int64
	MaxZipEntries int
	MaxCells      int

	MaxRowErrors  int // errors listed per row
	MaxListedRows int // failed rows per file that list their errors
}

// WithDefaults fills zero fields with the defaults; the HTTP layer uses
// MaxBytes to cap the request body before reading it.
func (l Limits) WithDefaults() Limits {
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = DefaultMaxColumns
	}
	if l.MaxPartBytes <= 0 {
		l.MaxPartBytes = DefaultMaxPartBytes
	}
	if l.MaxUnzipBytes <= 0 {
		l.MaxUnzipBytes = DefaultMaxUnzipBytes
	}
	if l.MaxZipEntries <= 0 {
		l.MaxZipEntries = DefaultMaxZipEntries
	}
	if l.MaxRowErrors <= 0 {
		l.MaxRowErrors = DefaultMaxRowErrors
	}
	if l.MaxListedRows <= 0 {
		l.MaxListedRows = DefaultMaxListedRows
	}
	if l.MaxCells <= 0 {
		// Saturates instead of overflowing for the unlimited re-parse of
		// an accepted file.
		l.MaxCells = math.MaxInt
		if l.MaxRows < math.MaxInt/(4*l.MaxColumns) {
			l.MaxCells = 2 * (l.MaxRows + 1) * l.MaxColumns
		}
	}
	return l
}

// File formats and text encodings Parse recognises.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"

	EncodingUTF8        = "utf-8"
	EncodingUTF8BOM     = "utf-8-bom"
	EncodingUTF16LE     = "utf-16le"
	EncodingUTF16BE     = "utf-16be"
	EncodingWindows1252 = "windows-1252"
)

// File is a decoded upload: the recognised columns in the order the file
// has them, and every non-blank data row.
type File struct {
	Format    string
	Encoding  string // empty for xlsx
	Delimiter rune   // 0 for xlsx
	Columns   []string
	Rows      []Row

	width    int   // header cells, including unknown ones
	colIndex []int // position in the file of each of Columns
}

// Row is one data row. Number is the row as a spreadsheet shows it: the
// header is row 1, so the first data row is row 2. Blank rows are skipped
// but still counted, so the number always matches what the admin sees.
type Row struct {
	Number int
	Values map[string]string // trimmed, by column name; absent columns are missing
}

// Get returns the trimmed value of col, "" when the column is absent.
func (r Row) Get(col string) string { return r.Values[col] }

// maxListedRows caps how many rows a file-level error lists; an admin who
// saved with the wrong delimiter needs the first few, not a thousand.
const maxListedRows = 20

// Parse decodes an uploaded file: .xlsx (first sheet) or delimited text in
// UTF-8 (with or without BOM), UTF-16 (Excel "Unicode text") or
// Windows-1252, comma, semicolon or tab separated. Everything that makes the
// whole file unusable is returned as a *roster.Error before any row is
// validated, so nothing is written for a file that cannot be read.
func Parse(fileName string, data []byte, lim Limits) (*File, error) {
	lim = lim.WithDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, roster.Errorf(roster.ETOOLARGE, "the file is larger than the %s limit", formatBytes(lim.MaxBytes))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, roster.Errorf(roster.EINVALID, "the file is empty")
	}
	ext := strings.ToLower(filepath.Ext(fileName))
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return parseXLSX(data, lim)
	case bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		// OLE2 container: an Excel 97-2003 workbook or an encrypted .xlsx.
		return nil, roster.Errorf(roster.EINVALID, "old Excel (.xls) and password-protected workbooks are not supported; save the sheet as .xlsx without a password or as CSV")
	case ext == ".xlsx":
		return nil, roster.Errorf(roster.EINVALID, "the file is named .xlsx but is not an Excel workbook")
	}
	text, enc, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	return parseCSV(text, enc, lim)
}

// decodeText turns the bytes into UTF-8. Excel's "Unicode text" is UTF-16
// with a BOM; its plain "CSV" is the Windows code page, which in India is
// 1252; anything that is not valid UTF-8 is read as 1252 because every byte
// sequence is valid 1252 and it is by far the likeliest legacy encoding.
func decodeText(data []byte) (string, string, error) {
	var enc string
	var out []byte
	var err error
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		enc, out = EncodingUTF8BOM, data[3:]
		if !utf8.Valid(out) {
			return "", "", roster.Errorf(roster.EINVALID, "the file is marked as UTF-8 but is not valid UTF-8")
		}
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		enc = EncodingUTF16LE
		out, err = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		enc = EncodingUTF16BE
		out, err = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
	case len(data) >= 4 && data[0] != 0 && data[1] == 0 && data[2] != 0 && data[3] == 0:
		// UTF-16 without BOM: the header is ASCII, so every other byte is 0.
		enc = EncodingUTF16LE
		out, err = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder().Bytes(data)
	case len(data) >= 4 && data[0] == 0 && data[1] != 0 && data[2] == 0 && data[3] != 0:
		enc = EncodingUTF16BE
		out, err = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder().Bytes(data)
	case utf8.Valid(data):
		enc, out = EncodingUTF8, data
	default:
		enc = EncodingWindows1252
		out, err = charmap.Windows1252.NewDecoder().Bytes(data)
	}
	if err != nil {
		return "", "", roster.Errorf(roster.EINVALID, "the file could not be decoded as %s", enc)
	}
	if bytes.IndexByte(out, 0) >= 0 {
		return "", "", roster.Errorf(roster.EINVALID, "the file contains binary data; save it as CSV or .xlsx")
	}
	return string(out), enc, nil
}

// detectDelimiter picks the separator the header line uses most. Excel
// writes ";" where the decimal separator is ",", and TAB for "Unicode text".
func detectDelimiter(text string) rune {
	line, _, _ := strings.Cut(text, "\n")
	best, bestN := ',', strings.Count(line, ",")
	for _, d := range []rune{';', '\t'} {
		if n := strings.Count(line, string(d)); n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

func parseCSV(text, enc string, lim Limits) (*File, error) {
	// Classic Mac Excel ends lines with a lone CR, which encoding/csv does
	// not treat as a line break.
	if strings.IndexByte(text, '\n') < 0 && strings.IndexByte(text, '\r') >= 0 {
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	// A header far beyond any real one is refused before encoding/csv
	// splits it into cells; assemble checks the record again, since a
	// quoted header cell may span lines.
	if line, _, _ := strings.Cut(strings.TrimLeft(text, " \t\r\n"), "\n"); len(line) > lim.MaxHeaderBytes {
		return nil, headerTooLong(lim)
	}
	delim := detectDelimiter(text)
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = delim
	r.FieldsPerRecord = -1 // ragged rows get our own error, with all row numbers
	// encoding/csv reports physical lines; a spreadsheet shows a quoted
	// value spanning several lines as one row, so those extra lines are
	// subtracted to get the row number the admin sees.
	extra := 0
	next := func() (int, []string, error) {
		rec, err := r.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return 0, nil, roster.Errorf(roster.EINVALID, "row %d could not be read: %v", pe.StartLine-extra, pe.Err)
			}
			return 0, nil, err
		}
		line, _ := r.FieldPos(0)
		num := line - extra
		for _, v := range rec {
			extra += strings.Count(v, "\n")
		}
		return num, rec, nil
	}
	f, err := assemble(next, lim, true)
	if err != nil {
		return nil, err
	}
	f.Format, f.Encoding, f.Delimiter = FormatCSV, enc, delim
	return f, nil
}

func parseXLSX(data []byte, lim Limits) (*File, error) {
	if err := checkZip(data, lim); err != nil {
		return nil, err
	}
	// checkZip has bounded every part, so these limits never bite; the XML
	// one is above the part limit so that no sheet is spooled to a
	// temporary file (it holds passwords).
	book, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    lim.MaxUnzipBytes + 1,
		UnzipXMLSizeLimit: lim.MaxPartBytes + 1,
	})
	if err != nil {
		return nil, roster.Errorf(roster.EINVALID, "the file is not a readable Excel workbook")
	}
	defer book.Close()
	sheets := book.GetSheetList()
	if len(sheets) == 0 {
		return nil, roster.Errorf(roster.EINVALID, "the workbook has no sheets")
	}
	sheet := sheets[0]
	rows, err := book.Rows(sheet)
	if err != nil {
		return nil, roster.Errorf(roster.EINVALID, "the first sheet of the workbook cannot be read")
	}
	defer rows.Close()
	num := 0
	next := func() (int, []string, error) {
		if !rows.Next() {
			if rows.Error() != nil {
				return 0, nil, roster.Errorf(roster.EINVALID, "row %d of the workbook cannot be read", num+1)
			}
			return 0, nil, io.EOF
		}
		num++ // Next steps over missing <row> elements one at a time
		cells, err := rows.Columns()
		if err != nil {
			return 0, nil, roster.Errorf(roster.EINVALID, "row %d of the workbook cannot be read", num)
		}
		return num, cells, nil
	}
	f, err := assemble(next, lim, false)
	if err != nil {
		return nil, err
	}
	f.Format = FormatXLSX
	fixXLSXDates(book, sheet, f)
	return f, nil
}

// fixXLSXDates reads DOB cells that Excel stored as dates. Their displayed
// text depends on the cell format and the author's locale (1/2/90 may be
// 1 February or January 2), so the date value itself is used instead.
// The raw values come from a second pass over the sheet as a stream:
// excelize's cell getters load the whole sheet and pad it to a rectangle,
// so one empty cell at column XFD or row 1048576 costs gigabytes.
func fixXLSXDates(book *excelize.File, sheet string, f *File) {
	col := -1
	for i, c := range f.Columns {
		if c == ColDOB {
			col = i
		}
	}
	if col < 0 {
		return
	}
	j := f.colIndex[col]
	dated := map[int]*Row{}
	for i := range f.Rows {
		if f.Rows[i].Values[ColDOB] != "" {
			dated[f.Rows[i].Number] = &f.Rows[i]
		}
	}
	rows, err := book.Rows(sheet)
	if err != nil {
		return
	}
	defer rows.Close()
	// Numbered as in parseXLSX: Next steps over missing rows one at a time.
	for num := 1; len(dated) > 0 && rows.Next(); num++ {
		row := dated[num]
		if row == nil {
			continue
		}
		delete(dated, num)
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil || j >= len(cells) {
			continue
		}
		serial, err := strconv.ParseFloat(cells[j], 64)
		if err != nil || serial < 1 || serial > 2958465 {
			continue
		}
		if t, err := excelize.ExcelDateToTime(serial, false); err == nil {
			row.Values[ColDOB] = t.Format("02-01-2006")
		}
	}
}

// assemble turns raw records into a File: it maps the header, drops blank
// rows, enforces the row limit and rejects ragged rows. strict is false for
// xlsx, whose rows simply end at their last non-empty cell.
func assemble(next func() (int, []string, error), lim Limits, strict bool) (*File, error) {
	var header []string
	headerRow := 0
	for {
		num, rec, err := next()
		if err == io.EOF {
			return nil, roster.Errorf(roster.EINVALID, "the file is empty")
		} else if err != nil {
			return nil, err
		}
		if !blank(rec) {
			header, headerRow = rec, num
			break
		}
	}
	// Spreadsheets often carry empty cells after the last column.
	for len(header) > 0 && strings.TrimSpace(header[len(header)-1]) == "" {
		header = header[:len(header)-1]
	}
	if err := checkHeaderSize(header, lim); err != nil {
		return nil, err
	}
	f, err := mapHeader(header, lim.mode, lim.activation)
	if err != nil {
		return nil, err
	}
	var ragged []roster.FieldError
	raggedCount := 0
	for {
		num, rec, err := next()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if blank(rec) {
			continue
		}
		if len(f.Rows) == lim.MaxRows {
			return nil, roster.Errorf(roster.ETOOLARGE, "the file has more than %d data rows; split it into several files", lim.MaxRows)
		}
		if bad := extraValues(rec, f.width); bad || (strict && len(rec) < f.width) {
			raggedCount++
			if len(ragged) < maxListedRows {
				ragged = append(ragged, roster.FieldError{
					Field:   "row " + strconv.Itoa(num),
					Message: fmt.Sprintf("has %d values but the header has %d columns", len(rec), f.width),
				})
			}
			continue
		}
		row := Row{Number: num, Values: make(map[string]string, len(f.Columns))}
		for i, col := range f.Columns {
			if j := f.colIndex[i]; j < len(rec) {
				row.Values[col] = cleanValue(rec[j])
			} else {
				row.Values[col] = ""
			}
		}
		f.Rows = append(f.Rows, row)
	}
	if raggedCount > 0 {
		msg := "rows do not have as many values as the header has columns; check the delimiter and quotes"
		if raggedCount > len(ragged) {
			msg += fmt.Sprintf(" (%d rows, the first %d listed)", raggedCount, len(ragged))
		}
		return nil, &roster.Error{Code: roster.EINVALID, Message: msg, Fields: ragged}
	}
	if len(f.Rows) == 0 {
		return nil, roster.Errorf(roster.EINVALID, "the file has a header (row %d) but no data rows", headerRow)
	}
	return f, nil
}

// resultColumns are the columns ResultCSV adds. They are ignored on
// upload so a result file, once its rows are fixed, can be sent back as is.
var resultColumns = map[string]bool{columnKey(ResultStatusColumn): true, columnKey(ResultErrorsColumn): true}

// validColumns ends the header error when a cell is not a column of its
// own, once for the whole header, so the admin can see what was meant.
var validColumns = "valid columns are " + strings.Join(Columns, ", ")

func headerTooLong(lim Limits) error {
	return roster.Errorf(roster.ETOOLARGE, "the header row is longer than %s; it should hold only column names (%s)",
		formatBytes(int64(lim.MaxHeaderBytes)), validColumns)
}

// checkHeaderSize bounds the header before its cells are matched, since
// each cell may become an error of its own. Empty cells at the end are
// already dropped: stray separators are not columns.
func checkHeaderSize(header []string, lim Limits) error {
	if len(header) > lim.MaxColumns {
		return roster.Errorf(roster.ETOOLARGE, "the header row has %d columns, more than the limit of %d; %s",
			len(header), lim.MaxColumns, validColumns)
	}
	n := 0
	for _, cell := range header {
		n += len(cell) + 1
	}
	if n > lim.MaxHeaderBytes {
		return headerTooLong(lim)
	}
	return nil
}

// mapHeader matches header cells to Columns. Every problem is reported at
// once so the admin can fix the header in one go.
// header has no empty cells at the end (see assemble).
func mapHeader(header []string, mode string, activation bool) (*File, error) {
	f := &File{width: len(header)}
	var problems []roster.FieldError
	misnamed := false
	seenAt := map[string]int{}
	for i, cell := range header {
		cell = strings.TrimPrefix(strings.TrimSpace(cell), "\uFEFF")
		letter := columnLetter(i)
		if cell == "" {
			problems = append(problems, roster.FieldError{Field: "column " + letter, Message: "has no name in the header"})
			continue
		}
		if resultColumns[columnKey(cell)] {
			continue // a result CSV uploaded again after fixing its rows
		}
		col, ok := columnByKey[columnKey(cell)]
		if !ok {
			misnamed = true
			problems = append(problems, roster.FieldError{
				Field:   shorten(cell, 40),
				Message: "unknown column (column " + letter + ")",
			})
			continue
		}
		if j, dup := seenAt[col]; dup {
			misnamed = true
			problems = append(problems, roster.FieldError{
				Field:   col,
				Message: "column appears more than once (columns " + columnLetter(j) + " and " + letter + ")",
			})
			continue
		}
		seenAt[col] = i
		f.Columns = append(f.Columns, col)
		f.colIndex = append(f.colIndex, i)
	}
	problems = append(problems, missingColumns(seenAt, mode, activation)...)
	if len(problems) > 0 {
		msg := "the header row is invalid"
		if misnamed {
			msg += "; " + validColumns
		}
		return nil, &roster.Error{Code: roster.EINVALID, Message: msg, Fields: problems}
	}
	return f, nil
}

// missingColumns are the header's problems of mode's mandatory columns.
// An update file needs only the columns that find its users: userName, or
// the three externalId columns.
func missingColumns(seenAt map[string]int, mode string, activation bool) []roster.FieldError {
	var problems []roster.FieldError
	has := func(col string) bool { _, ok := seenAt[col]; return ok }
	if mode == roster.UploadModeUpdate {
		if !has(ColUserName) && !(has(ColExternalID) && has(ColExternalIDType) && has(ColExternalIDProvider)) {
			problems = append(problems, roster.FieldError{Field: ColUserName, Message: MsgUpdateHeader})
		}
		return problems
	}
	for _, col := range MandatoryColumns {
		if !has(col) && !(col == ColPassword && activation) {
			problems = append(problems, roster.FieldError{Field: col, Message: "mandatory column is missing"})
		}
	}
	// Every row needs an email or a phone; without either column every row
	// would fail, so say it once for the file.
	if !has(ColEmail) && !has(ColPhone) {
		problems = append(problems, roster.FieldError{Field: ColEmail, Message: "the file needs an email or a phone column (or both)"})
	}
	return problems
}

// extraValues reports whether rec has non-empty values beyond the header.
// Empty trailing cells (stray separators) are harmless.
func extraValues(rec []string, width int) bool {
	for _, v := range rec[min(width, len(rec)):] {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// cleanValue trims a cell and undoes the apostrophe the result CSV puts in
// front of values a spreadsheet would run as a formula (=, +, -, @), so a
// result file edited in a text editor re-uploads unchanged.
func cleanValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '\'' && strings.IndexByte("=+-@", v[1]) >= 0 {
		v = v[1:]
	}
	return v
}

// columnLetter is the spreadsheet name of the i-th (0-based) column.
func columnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func formatBytes(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	if n%(1<<10) == 0 {
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
