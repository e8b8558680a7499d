package upload

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"path"
	"strings"

	"github.com/roster-dev/roster"
)

// checkZip reads every part of a workbook as a stream, before excelize
// sees it, because excelize reads whole parts into memory: a 300 KB file
// whose sharedStrings.xml (or styles.xml, workbook.xml) inflates to 300 MB
// would otherwise cost gigabytes. It refuses a workbook with too many
// parts, a part that declares or actually inflates to more than
// MaxPartBytes, more than MaxUnzipBytes in all, or more cells or shared
// strings than MaxCells. Only a bounded window of each part is ever held.
func checkZip(data []byte, lim Limits) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return roster.Errorf(roster.EINVALID, "the file is not a readable Excel workbook")
	}
	if len(zr.File) > lim.MaxZipEntries {
		return roster.Errorf(roster.ETOOLARGE, "the workbook has more than %d parts; save the sheet again as a plain .xlsx or as CSV", lim.MaxZipEntries)
	}
	var declared uint64
	for _, zf := range zr.File {
		if zf.UncompressedSize64 > uint64(lim.MaxPartBytes) {
			return partTooLarge(zf.Name, lim)
		}
		if declared += zf.UncompressedSize64; declared > uint64(lim.MaxUnzipBytes) {
			return unzipTooLarge(lim)
		}
	}
	// The declared sizes may lie; the actual ones are counted while
	// inflating, never past the limits.
	var total int64
	c := &xmlCounter{lim: lim}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			return roster.Errorf(roster.EINVALID, "the file is not a readable Excel workbook")
		}
		budget := min(lim.MaxPartBytes, lim.MaxUnzipBytes-total)
		r := &countingReader{r: io.LimitReader(rc, budget+1)}
		err = c.scan(zf.Name, r)
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		rc.Close()
		total += r.n
		switch {
		case r.n > lim.MaxPartBytes:
			return partTooLarge(zf.Name, lim)
		case total > lim.MaxUnzipBytes:
			return unzipTooLarge(lim)
		case err != nil:
			var re *roster.Error
			if errors.As(err, &re) {
				return err
			}
			return roster.Errorf(roster.EINVALID, "the file is not a readable Excel workbook")
		}
	}
	return nil
}

func partTooLarge(name string, lim Limits) error {
	return roster.Errorf(roster.ETOOLARGE, "the workbook's part %s unpacks to more than the %s limit; a sheet of %d users is far smaller",
		shorten(name, 60), formatBytes(lim.MaxPartBytes), lim.MaxRows)
}

func unzipTooLarge(lim Limits) error {
	return roster.Errorf(roster.ETOOLARGE, "the workbook unpacks to more than the %s limit; a sheet of %d users is far smaller",
		formatBytes(lim.MaxUnzipBytes), lim.MaxRows)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// xmlCounter counts the cells of every worksheet and the shared strings,
// together, since each becomes memory when excelize reads the sheet.
type xmlCounter struct {
	lim     Limits
	cells   int
	strings int
}

// maxPartElements bounds the elements of any XML part other than sheets
// and shared strings (styles, workbook, drawings…): excelize turns each
// into a struct, and Excel's own styles.xml has a few hundred.
const maxPartElements = 50_000

// scan counts the cells of sheets, the shared strings and the elements of
// every other XML part. A part that is not well-formed XML is left for
// excelize to judge; media are only measured.
func (c *xmlCounter) scan(name string, r io.Reader) error {
	dir, base := path.Split(name)
	sheet := strings.HasSuffix(dir, "worksheets/") && strings.HasSuffix(base, ".xml")
	shared := base == "sharedStrings.xml"
	if ext := path.Ext(base); ext != ".xml" && ext != ".rels" && ext != ".vml" {
		return nil
	}
	// Sheets are read as a stream, one cell at a time; every other part is
	// decoded whole. Shared strings may hold rich-text runs, so they get
	// room for four elements a cell rather than a fixed count: a plain
	// string is two, so the count of strings is what stops a plain part.
	limit := maxPartElements
	switch {
	case sheet:
		limit = math.MaxInt
	case shared:
		limit = c.lim.MaxCells
		if limit < math.MaxInt/4 {
			limit *= 4
		}
	}
	elements := 0
	d := xml.NewDecoder(r)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		} else if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil
			}
			return err
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if elements++; elements > limit {
			return roster.Errorf(roster.ETOOLARGE, "the workbook's part %s has more than %d XML elements; save the sheet again as a plain .xlsx or as CSV",
				shorten(name, 60), limit)
		}
		switch {
		case sheet && el.Name.Local == "c":
			if c.cells++; c.cells > c.lim.MaxCells {
				return roster.Errorf(roster.ETOOLARGE, "the workbook has more than %d cells; a sheet of %d users needs far fewer", c.lim.MaxCells, c.lim.MaxRows)
			}
		case shared && el.Name.Local == "si":
			if c.strings++; c.strings > c.lim.MaxCells {
				return roster.Errorf(roster.ETOOLARGE, "the workbook has more than %d shared strings; a sheet of %d users needs far fewer", c.lim.MaxCells, c.lim.MaxRows)
			}
		}
	}
}
