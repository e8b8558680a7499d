package upload

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/roster-dev/roster"
)

// wantValues checks every row's number and the listed columns.
func wantRows(t *testing.T, f *File, want []Row) {
	t.Helper()
	if len(f.Rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(f.Rows), len(want), f.Rows)
	}
	for i, w := range want {
		got := f.Rows[i]
		if got.Number != w.Number {
			t.Errorf("row %d: number %d, want %d", i, got.Number, w.Number)
		}
		for col, v := range w.Values {
			if got.Values[col] != v {
				t.Errorf("row %d: %s = %q, want %q", w.Number, col, got.Values[col], v)
			}
		}
	}
}

func row(n int, kv ...string) Row {
	r := Row{Number: n, Values: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		r.Values[kv[i]] = kv[i+1]
	}
	return r
}

func mustParse(t *testing.T, name string, data []byte) *File {
	t.Helper()
	f, err := Parse(name, data, Limits{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

// wantFileError checks code, message and (optionally) the field list.
func wantFileError(t *testing.T, err error, code, msg string, fields ...string) {
	t.Helper()
	var re *roster.Error
	if !errors.As(err, &re) {
		t.Fatalf("error = %v (%T), want *roster.Error", err, err)
	}
	if re.Code != code || re.Message != msg {
		t.Fatalf("error = [%s] %q, want [%s] %q", re.Code, re.Message, code, msg)
	}
	if fields == nil {
		return
	}
	var got []string
	for _, f := range re.Fields {
		got = append(got, f.String())
	}
	if strings.Join(got, "\n") != strings.Join(fields, "\n") {
		t.Fatalf("fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(fields, "\n"))
	}
}

const basicCSV = "firstName,userName,password,email\nAsha,asha1,secret123,asha@example.org\nRavi,ravi1,secret123,\n"

func basicWant() []Row {
	return []Row{
		row(2, ColFirstName, "Asha", ColUserName, "asha1", ColPassword, "secret123", ColEmail, "asha@example.org"),
		row(3, ColFirstName, "Ravi", ColUserName, "ravi1", ColEmail, ""),
	}
}

func TestParseEncodings(t *testing.T) {
	utf16le := func(s string, bom bool) []byte {
		enc := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
		if bom {
			enc = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
		}
		out, err := enc.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	utf16be := func(s string) []byte {
		out, err := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	crlf := strings.ReplaceAll(basicCSV, "\n", "\r\n")
	tabbed := strings.ReplaceAll(crlf, ",", "\t")
	cases := []struct {
		name  string
		data  []byte
		enc   string
		delim rune
	}{
		{"utf8", []byte(basicCSV), EncodingUTF8, ','},
		{"utf8 bom crlf", append([]byte("\xEF\xBB\xBF"), crlf...), EncodingUTF8BOM, ','},
		{"utf8 semicolon", []byte(strings.ReplaceAll(basicCSV, ",", ";")), EncodingUTF8, ';'},
		{"utf8 tab", []byte(strings.ReplaceAll(basicCSV, ",", "\t")), EncodingUTF8, '\t'},
		{"utf16le bom tab (Excel Unicode text)", utf16le(tabbed, true), EncodingUTF16LE, '\t'},
		{"utf16le no bom", utf16le(crlf, false), EncodingUTF16LE, ','},
		{"utf16be bom", utf16be(crlf), EncodingUTF16BE, ','},
		{"ascii crlf", []byte(crlf), EncodingUTF8, ','},
		{"lone CR (classic Mac)", []byte(strings.ReplaceAll(basicCSV, "\n", "\r")), EncodingUTF8, ','},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, "users.csv", c.data)
			if f.Format != FormatCSV || f.Encoding != c.enc || f.Delimiter != c.delim {
				t.Fatalf("format %s encoding %s delimiter %q, want csv %s %q", f.Format, f.Encoding, f.Delimiter, c.enc, c.delim)
			}
			wantRows(t, f, basicWant())
		})
	}
}

func TestParseWindows1252AndUTF8Names(t *testing.T) {
	text := "firstName;lastName;userName;password;email\r\nJosé;Müller–Ñ;jose1;secret123;j@example.org\r\n"
	cp, err := charmap.Windows1252.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, "users.csv", cp)
	if f.Encoding != EncodingWindows1252 || f.Delimiter != ';' {
		t.Fatalf("encoding %s delimiter %q", f.Encoding, f.Delimiter)
	}
	wantRows(t, f, []Row{row(2, ColFirstName, "José", ColLastName, "Müller–Ñ")})

	// The same text in UTF-8, with an Indic name, stays UTF-8.
	f = mustParse(t, "users.csv", []byte(strings.Replace(text, "José", "अंजलि", 1)))
	if f.Encoding != EncodingUTF8 {
		t.Fatalf("encoding %s", f.Encoding)
	}
	wantRows(t, f, []Row{row(2, ColFirstName, "अंजलि")})
}

func TestParseHeaderMatching(t *testing.T) {
	// Any order, any case, spaces ignored, optional columns absent.
	data := " User Name ,PASSWORD,e mail,First name,DOB\nasha1,pw,a@example.org,Asha,01-02-1990\n"
	f := mustParse(t, "u.csv", []byte(data))
	want := []string{ColUserName, ColPassword, ColEmail, ColFirstName, ColDOB}
	if strings.Join(f.Columns, ",") != strings.Join(want, ",") {
		t.Fatalf("columns %v, want %v", f.Columns, want)
	}
	wantRows(t, f, []Row{row(2, ColUserName, "asha1", ColEmail, "a@example.org", ColFirstName, "Asha", ColDOB, "01-02-1990")})
	if _, ok := f.Rows[0].Values[ColPhone]; ok {
		t.Fatal("absent column has a value")
	}
}

func TestParseHeaderErrors(t *testing.T) {
	// The valid columns are listed once, in the message, not in every
	// field error: a header of many bad cells must not repeat the list.
	misnamed := "the header row is invalid; valid columns are " + strings.Join(Columns, ", ")
	cases := []struct {
		name, header, msg string
		fields            []string
	}{
		{"unknown", "firstName,userName,password,email,mobile", misnamed, []string{
			"mobile: unknown column (column E)",
		}},
		{"duplicate", "firstName,userName,password,email,E-Mail,EMAIL", misnamed, []string{
			"E-Mail: unknown column (column E)",
			"email: column appears more than once (columns D and F)",
		}},
		{"missing mandatory", "lastName,phone", "the header row is invalid", []string{
			"firstName: mandatory column is missing",
			"userName: mandatory column is missing",
			"password: mandatory column is missing",
		}},
		{"no contact column", "firstName,userName,password,lastName", "the header row is invalid", []string{
			"email: the file needs an email or a phone column (or both)",
		}},
		{"unnamed column", "firstName,,userName,password,email", "the header row is invalid", []string{
			"column B: has no name in the header",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("u.csv", []byte(c.header+"\nA,b,c,d,e,f\n"), Limits{})
			wantFileError(t, err, roster.EINVALID, c.msg, c.fields...)
		})
	}
	// Trailing empty header cells (stray separators) are not columns.
	f := mustParse(t, "u.csv", []byte("firstName,userName,password,email,,\nAsha,a,p,a@example.org,,\n"))
	if len(f.Columns) != 4 || len(f.Rows) != 1 {
		t.Fatalf("columns %v rows %d", f.Columns, len(f.Rows))
	}
}

// Seed 002 lets a user have only a phone, so a file of such users needs no
// email column: the header needs firstName, userName and password only, and
// each row needs an email or a phone.
func TestPhoneOnlyFileWithoutEmailColumn(t *testing.T) {
	f := mustParse(t, "u.csv", []byte("firstName,userName,password,phone\nAsha,asha1,secret123,9876543210\nRavi,ravi1,secret123,\n"))
	if strings.Join(f.Columns, ",") != "firstName,userName,password,phone" {
		t.Fatalf("columns %v", f.Columns)
	}
	recs := ValidateRows(f.Rows, today)
	if !recs[0].OK() || recs[0].User.User.Phone != "+919876543210" || recs[0].User.User.Email != "" {
		t.Fatalf("phone-only row: %+v", recs[0])
	}
	if got := strings.Join(errorStrings(recs[1].Errors), "; "); got != "email: email or phone is required" {
		t.Fatalf("row without email or phone: %q", got)
	}
}

func TestParseEmptyAndHeaderOnly(t *testing.T) {
	for _, data := range []string{"", "  \r\n\n", "\xEF\xBB\xBF", "\xEF\xBB\xBF,,\r\n"} {
		_, err := Parse("u.csv", []byte(data), Limits{})
		wantFileError(t, err, roster.EINVALID, "the file is empty")
	}
	_, err := Parse("u.csv", []byte("firstName,userName,password,email\r\n,,,\r\n\r\n"), Limits{})
	wantFileError(t, err, roster.EINVALID, "the file has a header (row 1) but no data rows")
}

func TestParseRowNumbers(t *testing.T) {
	// Blank lines and all-empty rows are skipped but counted; a quoted value
	// spanning two lines is one spreadsheet row.
	data := "firstName,userName,password,email,profileSummary\n" +
		"A,a1,pw,,\n" + // row 2
		"\n" + // row 3: blank line
		",,,,\n" + // row 4: empty cells
		"B,b1,pw,,\"two\nlines\"\n" + // row 5
		"C,c1,pw,,\n" // row 6
	f := mustParse(t, "u.csv", []byte(data))
	wantRows(t, f, []Row{
		row(2, ColFirstName, "A"),
		row(5, ColFirstName, "B", ColProfileSummary, "two\nlines"),
		row(6, ColFirstName, "C"),
	})
}

func TestParseRaggedRows(t *testing.T) {
	data := "firstName,userName,password,email\n" +
		"A,a1,pw,a@example.org\n" +
		"B,b1,pw\n" + // row 3: one value short
		"C,c1,pw,c@example.org,extra\n" + // row 4: one too many
		"D,d1,pw,d@example.org,,\n" // row 5: stray empty separators are fine
	_, err := Parse("u.csv", []byte(data), Limits{})
	wantFileError(t, err, roster.EINVALID,
		"rows do not have as many values as the header has columns; check the delimiter and quotes",
		"row 3: has 3 values but the header has 4 columns",
		"row 4: has 5 values but the header has 4 columns")
}

func TestParseBadQuotes(t *testing.T) {
	data := "firstName,userName,password,email\nA,a1,pw,\nB \"Bee\",b1,pw,\n"
	_, err := Parse("u.csv", []byte(data), Limits{})
	wantFileError(t, err, roster.EINVALID, `row 3 could not be read: bare " in non-quoted-field`)
}

func TestParseLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("firstName,userName,password,email\n")
	for i := 0; i < 5; i++ {
		b.WriteString("A,a,pw,\n")
	}
	data := []byte(b.String())
	if f, err := Parse("u.csv", data, Limits{MaxRows: 5}); err != nil || len(f.Rows) != 5 {
		t.Fatalf("5 rows with MaxRows 5: %v", err)
	}
	_, err := Parse("u.csv", data, Limits{MaxRows: 4})
	wantFileError(t, err, roster.ETOOLARGE, "the file has more than 4 data rows; split it into several files")

	_, err = Parse("u.csv", data, Limits{MaxBytes: int64(len(data) - 1)})
	wantFileError(t, err, roster.ETOOLARGE, "the file is larger than the "+formatBytes(int64(len(data)-1))+" limit")
	if _, err := Parse("u.csv", data, Limits{MaxBytes: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	// The default: 10 MB.
	big := bytes.Repeat([]byte("x"), DefaultMaxBytes+1)
	_, err = Parse("u.csv", big, Limits{})
	wantFileError(t, err, roster.ETOOLARGE, "the file is larger than the 10 MB limit")
}

func TestParseApostropheGuard(t *testing.T) {
	data := "firstName,userName,password,email,phone\nA,a1,pw,,'+919876543210\n"
	f := mustParse(t, "u.csv", []byte(data))
	wantRows(t, f, []Row{row(2, ColPhone, "+919876543210")})
}

func TestParseNotAWorkbook(t *testing.T) {
	_, err := Parse("u.xlsx", []byte(basicCSV), Limits{})
	wantFileError(t, err, roster.EINVALID, "the file is named .xlsx but is not an Excel workbook")
	_, err = Parse("u.xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), Limits{})
	wantFileError(t, err, roster.EINVALID, "old Excel (.xls) and password-protected workbooks are not supported; save the sheet as .xlsx without a password or as CSV")
	_, err = Parse("u.xlsx", []byte("PK\x03\x04garbage"), Limits{})
	wantFileError(t, err, roster.EINVALID, "the file is not a readable Excel workbook")
	_, err = Parse("u.csv", []byte("firstName\x00,x\n"), Limits{})
	wantFileError(t, err, roster.EINVALID, "the file contains binary data; save it as CSV or .xlsx")
}

// xlsxFile builds a workbook whose first sheet holds cells (row-major, A1
// first); a second sheet proves only the first is read.
func xlsxFile(t *testing.T, cells [][]any, setup func(f *excelize.File, sheet string)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	for r, rowCells := range cells {
		for c, v := range rowCells {
			if v == nil {
				continue
			}
			name, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellValue(sheet, name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if setup != nil {
		setup(f, sheet)
	}
	if _, err := f.NewSheet("Other"); err != nil {
		t.Fatal(err)
	}
	_ = f.SetCellValue("Other", "A1", "not a header")
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseXLSX(t *testing.T) {
	dob := time.Date(1990, 2, 1, 0, 0, 0, 0, time.UTC)
	data := xlsxFile(t, [][]any{
		{"First Name", "userName", "password", "email", "phone", "DOB"},
		{"Asha", "asha1", "secret123", "asha@example.org", 9876543210, dob},
		{},                // row 3 empty
		{nil, nil, nil},   // row 4 empty
		{"Ravi", "ravi1"}, // row 5: trailing cells simply absent
	}, func(f *excelize.File, sheet string) {
		// A US date format would display 2/1/90; the date value is what counts.
		style, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
		_ = f.SetCellStyle(sheet, "F2", "F2", style)
	})
	// Detected by content, whatever the name says.
	f := mustParse(t, "upload.bin", data)
	if f.Format != FormatXLSX {
		t.Fatalf("format %s", f.Format)
	}
	wantRows(t, f, []Row{
		row(2, ColFirstName, "Asha", ColPhone, "9876543210", ColEmail, "asha@example.org", ColDOB, "01-02-1990"),
		row(5, ColFirstName, "Ravi", ColUserName, "ravi1", ColPassword, "", ColDOB, ""),
	})

	// Ragged xlsx rows: values beyond the header are an error.
	data = xlsxFile(t, [][]any{
		{"firstName", "userName", "password", "email"},
		{"A", "a", "p", "e@example.org", "extra"},
	}, nil)
	_, err := Parse("u.xlsx", data, Limits{})
	wantFileError(t, err, roster.EINVALID,
		"rows do not have as many values as the header has columns; check the delimiter and quotes",
		"row 2: has 5 values but the header has 4 columns")

	// Header problems are reported the same way as for CSV.
	data = xlsxFile(t, [][]any{{"firstName", "userName", "email"}, {"A", "a", "p"}}, nil)
	_, err = Parse("u.xlsx", data, Limits{})
	wantFileError(t, err, roster.EINVALID, "the header row is invalid", "password: mandatory column is missing")

	// Column limit, checked before the header is matched.
	wide := []any{"firstName", "userName", "password", "email"}
	for i := 0; i < 5; i++ {
		wide = append(wide, "x")
	}
	_, err = Parse("u.xlsx", xlsxFile(t, [][]any{wide, {"A", "a", "p", "e"}}, nil), Limits{MaxColumns: 8})
	wantFileError(t, err, roster.ETOOLARGE, "the header row has 9 columns, more than the limit of 8; "+validColumns)

	// Row limit.
	cells := [][]any{{"firstName", "userName", "password", "email"}}
	for i := 0; i < 3; i++ {
		cells = append(cells, []any{"A", "a", "p", ""})
	}
	_, err = Parse("u.xlsx", xlsxFile(t, cells, nil), Limits{MaxRows: 2})
	wantFileError(t, err, roster.ETOOLARGE, "the file has more than 2 data rows; split it into several files")
}

func TestColumnLetter(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA"} {
		if got := columnLetter(i); got != want {
			t.Errorf("columnLetter(%d) = %s, want %s", i, got, want)
		}
	}
}

// Excel's "Unicode text" and other UTF-16 files with Indic names: every
// character survives, with or without a BOM, in either byte order.
func TestParseUTF16IndicNames(t *testing.T) {
	text := "firstName\tlastName\tuserName\tpassword\temail\r\n" +
		"अंजलि\tशर्मा\tanjali1\tsecret123\ta@example.org\r\n" +
		"தமிழ்செல்வி\tமுருகன்\ttamil1\tsecret123\tt@example.org\r\n"
	encode := func(e encoding.Encoding) []byte {
		out, err := e.NewEncoder().Bytes([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name string
		data []byte
		enc  string
	}{
		{"utf16le bom", encode(unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)), EncodingUTF16LE},
		{"utf16be bom", encode(unicode.UTF16(unicode.BigEndian, unicode.UseBOM)), EncodingUTF16BE},
		{"utf16le no bom", encode(unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)), EncodingUTF16LE},
		{"utf16be no bom", encode(unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)), EncodingUTF16BE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, "users.txt", c.data)
			if f.Encoding != c.enc || f.Delimiter != '\t' {
				t.Fatalf("encoding %s delimiter %q, want %s TAB", f.Encoding, f.Delimiter, c.enc)
			}
			wantRows(t, f, []Row{
				row(2, ColFirstName, "अंजलि", ColLastName, "शर्मा", ColUserName, "anjali1"),
				row(3, ColFirstName, "தமிழ்செல்வி", ColLastName, "முருகன்", ColUserName, "tamil1"),
			})
		})
	}
}

// Files made for Sunbird decode as they are: its current NAME and MOBILE
// PHONE headers and the 1.x portal template's dob are seed 002's columns,
// and a yyyy-MM-dd DOB reaches the rule book, which accepts it.
func TestParseSunbirdColumnAliases(t *testing.T) {
	f := mustParse(t, "users.csv", []byte("NAME,Mobile Phone,EMAIL,ROLES,userName,password,dob\n"+
		"Meena,9812345677,meena@example.org,PUBLIC,meena_s,Welcome@2024,1990-05-17\n"))
	want := []string{ColFirstName, ColPhone, ColEmail, ColRoles, ColUserName, ColPassword, ColDOB}
	if strings.Join(f.Columns, ",") != strings.Join(want, ",") {
		t.Fatalf("columns %v, want %v", f.Columns, want)
	}
	r := f.Rows[0]
	if r.Get(ColFirstName) != "Meena" || r.Get(ColPhone) != "9812345677" || r.Get(ColDOB) != "1990-05-17" {
		t.Errorf("row %v", r.Values)
	}
	// An alias and its column in one header are one column twice.
	if _, err := Parse("users.csv", []byte("NAME,firstName,userName,password,email\nA,B,c,Welcome@2024,c@example.org\n"), Limits{}); err == nil ||
		!strings.Contains(err.Error(), "firstName: column appears more than once") {
		t.Errorf("alias and column: %v", err)
	}
}
