package upload

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
)

// The header bomb of issue 9: a 2 MB header of "a,a,a,…" used to become a
// million errors each repeating the valid columns (a 320 MB answer). It is
// refused by its length, with one short message.
func TestParseHeaderBomb(t *testing.T) {
	bomb := strings.Repeat("a,", 1<<20) + "a\nx\n"
	_, err := Parse("u.csv", []byte(bomb), Limits{})
	wantCode(t, err, roster.ETOOLARGE)
	var re *roster.Error
	errors.As(err, &re)
	if want := headerTooLong(Limits{}.WithDefaults()).Error(); re.Message != want || len(re.Fields) != 0 {
		t.Fatalf("message %q (%d fields), want %q", re.Message, len(re.Fields), want)
	}
	if !strings.Contains(re.Message, "longer than 16 KB") {
		t.Fatalf("message does not name the limit: %q", re.Message)
	}

	// Just under the byte limit, the column limit applies.
	cols := strings.Repeat("x,", DefaultMaxColumns) + "x"
	_, err = Parse("u.csv", []byte(cols+"\n1\n"), Limits{})
	wantFileError(t, err, roster.ETOOLARGE, "the header row has 65 columns, more than the limit of 64; "+validColumns)

	// Trailing empty cells (stray separators) are not columns.
	ok := "firstName,userName,password,email" + strings.Repeat(",", 2*DefaultMaxColumns)
	if _, err := Parse("u.csv", []byte(ok+"\nA,a,secret123,a@example.org\n"), Limits{}); err != nil {
		t.Fatal(err)
	}

	// Lines ended by a lone CR (classic Mac) are lines too: a long file of
	// them is not one long header.
	mac := "firstName,userName,password,email\r" + strings.Repeat("A,a,secret123,\r", 2000)
	if f, err := Parse("u.csv", []byte(mac), Limits{MaxRows: 2000}); err != nil || len(f.Rows) != 2000 {
		t.Fatalf("lone-CR file: %v", err)
	}

	// A quoted header cell may span lines; the header record is measured too.
	long := "firstName,userName,password,email,\"" + strings.Repeat("x\n", 600) + "\"\n"
	_, err = Parse("u.csv", []byte(long+"A,a,p,e,f\n"), Limits{MaxHeaderBytes: 1000})
	wantFileError(t, err, roster.ETOOLARGE, headerTooLong(Limits{MaxHeaderBytes: 1000}).Error())

	// In a workbook, one huge header cell.
	data := xlsxFile(t, [][]any{{"firstName", "userName", "password", strings.Repeat("e", 2000)}, {"A"}}, nil)
	_, err = Parse("u.xlsx", data, Limits{MaxHeaderBytes: 1000})
	wantFileError(t, err, roster.ETOOLARGE, headerTooLong(Limits{MaxHeaderBytes: 1000}).Error())
}

// rezip copies a workbook, replacing (or adding) the parts in repl.
// A part given as lie claims to inflate to 100 bytes.
func rezip(t *testing.T, data []byte, repl map[string][]byte, lie map[string]bool) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	put := func(name string, content []byte) {
		if !lie[name] {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write(content)
			return
		}
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
		_, _ = fw.Write(content)
		_ = fw.Close()
		w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(content),
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: 100})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(comp.Bytes())
	}
	for _, f := range zr.File {
		content, ok := repl[f.Name]
		if !ok {
			rc, _ := f.Open()
			content, _ = io.ReadAll(rc)
			rc.Close()
		}
		delete(repl, f.Name)
		put(f.Name, content)
	}
	for name, content := range repl {
		put(name, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// The .xlsx bombs of issue 9: a small workbook whose sharedStrings.xml,
// workbook.xml or styles.xml inflates far beyond anything a sheet of users
// needs is refused before excelize reads it; one that lies about its size
// is refused as damaged.
func TestParseXLSXBombs(t *testing.T) {
	good := xlsxFile(t, [][]any{{"firstName", "userName", "password", "email"}, {"A", "a", "secret123", "a@example.org"}}, nil)
	if _, err := Parse("u.xlsx", good, Limits{}); err != nil {
		t.Fatal(err)
	}
	// Just over the default part limit, still a tiny file once zipped.
	padding := bytes.Repeat([]byte(" "), DefaultMaxPartBytes+1)
	for _, part := range []string{"xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml"} {
		for _, lie := range []bool{false, true} {
			bomb := rezip(t, good, map[string][]byte{part: padding}, map[string]bool{part: lie})
			if len(bomb) > 1<<20 {
				t.Fatalf("bomb is %d bytes", len(bomb))
			}
			_, err := Parse("u.xlsx", bomb, Limits{})
			if lie {
				// archive/zip stops at the declared size.
				wantFileError(t, err, roster.EINVALID, "the file is not a readable Excel workbook")
				continue
			}
			wantFileError(t, err, roster.ETOOLARGE, "the workbook's part "+part+" unpacks to more than the 16 MB limit; a sheet of 1000 users is far smaller")
		}
	}

	// Parts each under their limit, too much in all.
	lim := Limits{MaxPartBytes: 1 << 20, MaxUnzipBytes: 3 << 20}
	mb := bytes.Repeat([]byte(" "), 1<<20)
	bomb := rezip(t, good, map[string][]byte{"xl/media/a.png": mb, "xl/media/b.png": mb, "xl/media/c.png": mb}, nil)
	_, err := Parse("u.xlsx", bomb, lim)
	wantFileError(t, err, roster.ETOOLARGE, "the workbook unpacks to more than the 3 MB limit; a sheet of 1000 users is far smaller")

	// Cells and shared strings are counted as the parts stream by. With 2
	// rows and 4 columns the bound is 2×3×4 = 24.
	small := Limits{MaxRows: 2, MaxColumns: 4}
	sheet := `<worksheet><sheetData><row r="1">` + strings.Repeat(`<c t="n"><v>1</v></c>`, 25) + `</row></sheetData></worksheet>`
	bomb = rezip(t, good, map[string][]byte{"xl/worksheets/sheet1.xml": []byte(sheet)}, nil)
	_, err = Parse("u.xlsx", bomb, small)
	wantFileError(t, err, roster.ETOOLARGE, "the workbook has more than 24 cells; a sheet of 2 users needs far fewer")
	shared := `<sst>` + strings.Repeat(`<si><t>x</t></si>`, 25) + `</sst>`
	bomb = rezip(t, good, map[string][]byte{"xl/sharedStrings.xml": []byte(shared)}, nil)
	_, err = Parse("u.xlsx", bomb, small)
	wantFileError(t, err, roster.ETOOLARGE, "the workbook has more than 24 shared strings; a sheet of 2 users needs far fewer")

	// One shared string of many rich-text runs: excelize decodes the whole
	// part into structs, so its elements are bounded too (four per cell).
	// 900,000 runs in 28 KB of zip cost a server 240 MB and 25 s.
	shared = `<sst><si>` + strings.Repeat(`<r><t>x</t></r>`, 50) + `</si></sst>`
	bomb = rezip(t, good, map[string][]byte{"xl/sharedStrings.xml": []byte(shared)}, nil)
	_, err = Parse("u.xlsx", bomb, small)
	wantFileError(t, err, roster.ETOOLARGE, "the workbook's part xl/sharedStrings.xml has more than 96 XML elements; save the sheet again as a plain .xlsx or as CSV")

	// Many small elements in a part excelize parses whole.
	styles := `<styleSheet><cellXfs>` + strings.Repeat(`<xf/>`, maxPartElements) + `</cellXfs></styleSheet>`
	bomb = rezip(t, good, map[string][]byte{"xl/styles.xml": []byte(styles)}, nil)
	_, err = Parse("u.xlsx", bomb, Limits{})
	wantFileError(t, err, roster.ETOOLARGE, "the workbook's part xl/styles.xml has more than 50000 XML elements; save the sheet again as a plain .xlsx or as CSV")

	// Many parts.
	extra := map[string][]byte{}
	for i := 0; i < 20; i++ {
		extra["docProps/x"+strings.Repeat("a", i)+".xml"] = []byte("<x/>")
	}
	_, err = Parse("u.xlsx", rezip(t, good, extra, nil), Limits{MaxZipEntries: 20})
	wantFileError(t, err, roster.ETOOLARGE, "the workbook has more than 20 parts; save the sheet again as a plain .xlsx or as CSV")
}

// allocated returns the bytes fn allocates. Memory, unlike time, does not
// depend on how busy the machine is.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A cell far to the right or a row far down costs a few bytes of XML, but
// excelize pads a worksheet it loads whole to a full rectangle: 1000 rows
// each ending in an empty cell at column XFD (a 30 KB file) took a server
// to 3 GB. Reading the DOB column must stream the sheet like the rest.
func TestParseXLSXSparseCellsStayCheap(t *testing.T) {
	good := xlsxFile(t, [][]any{{"firstName", "userName", "password", "email", "DOB"}}, nil)
	var sheet strings.Builder
	sheet.WriteString(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">`)
	for i, h := range []string{"firstName", "userName", "password", "email", "DOB"} {
		fmt.Fprintf(&sheet, `<c r="%c1" t="inlineStr"><is><t>%s</t></is></c>`, 'A'+i, h)
	}
	sheet.WriteString(`</row>`)
	const rows = 200
	for n := 2; n < 2+rows; n++ {
		fmt.Fprintf(&sheet, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>Asha</t></is></c><c r="B%d" t="inlineStr"><is><t>u%d</t></is></c>`+
			`<c r="E%d"><v>32905</v></c><c r="XFD%d" s="0"/></row>`, n, n, n, n, n, n)
	}
	// And one empty cell in the last row a sheet can have.
	sheet.WriteString(`<row r="1048576"><c r="A1048576" s="0"/></row></sheetData></worksheet>`)
	bomb := rezip(t, good, map[string][]byte{"xl/worksheets/sheet1.xml": []byte(sheet.String())}, nil)

	var f *File
	var err error
	n := allocated(func() { f, err = Parse("u.xlsx", bomb, Limits{}) })
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != rows || f.Rows[0].Get(ColDOB) != "01-02-1990" || f.Rows[rows-1].Number != rows+1 || f.Rows[rows-1].Get(ColDOB) != "01-02-1990" {
		t.Fatalf("rows %d, first %+v", len(f.Rows), f.Rows[0])
	}
	if n > 64<<20 {
		t.Fatalf("parsing a %d KB workbook allocated %d MB", len(bomb)>>10, n>>20)
	}
}
