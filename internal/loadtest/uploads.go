package loadtest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// HeaderBomb is a CSV whose header is size bytes of "a,a,a,…" and one row.
func HeaderBomb(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 16)
	for b.Len() < size {
		b.WriteString("a,")
	}
	b.WriteString("a\nx\n")
	return b.Bytes()
}

// XLSXBomb is a small, well-formed workbook one of whose parts
// ("sharedStrings", "workbook" or "styles") inflates to about size bytes.
// Only the size of the file sent is small; every part is valid XML.
func XLSXBomb(part string, size int) ([]byte, error) {
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	const rel = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	files := []struct{ name, head, fill, tail string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
			`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>` +
			`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>`, "", ""},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`, "", ""},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` +
			`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`, "", ""},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook ` + ns + ` ` + rel + `><sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets><definedNames>`,
			`<definedName name="n">Users!$A$1</definedName>`, `</definedNames></workbook>`},
		{"xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-8"?><worksheet ` + ns + `><sheetData>` + sheetRows() + `</sheetData></worksheet>`, "", ""},
		{"xl/sharedStrings.xml", `<?xml version="1.0" encoding="UTF-8"?><sst ` + ns + `>` + sharedStrings(),
			`<si><t>aaaaaaaa</t></si>`, `</sst>`},
		{"xl/styles.xml", `<?xml version="1.0" encoding="UTF-8"?><styleSheet ` + ns + `><numFmts>`,
			`<numFmt numFmtId="164" formatCode="0"/>`, `</numFmts></styleSheet>`},
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			return nil, err
		}
		io.WriteString(w, f.head)
		if f.fill != "" && f.name == "xl/"+part+".xml" {
			found = true
			chunk := []byte(strings.Repeat(f.fill, 64<<10/len(f.fill)))
			for n := 0; n < size; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return nil, err
				}
			}
		} else if f.fill != "" {
			io.WriteString(w, f.fill)
		}
		io.WriteString(w, f.tail)
	}
	if !found {
		return nil, fmt.Errorf("no part %q to inflate", part)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// bombCells are the workbook's only cells: a header and one valid row, so
// that the workbook would be an acceptable upload if it were not for the
// inflated part.
var bombCells = [][]string{
	{"firstName", "lastName", "email", "userName", "password"},
	{"Asha", "Rao", "asha.rao@load.example.org", "asha_rao_load", "Welcome@2024"},
}

func sharedStrings() string {
	var b strings.Builder
	for _, row := range bombCells {
		for _, v := range row {
			b.WriteString("<si><t>" + v + "</t></si>")
		}
	}
	return b.String()
}

func sheetRows() string {
	var b strings.Builder
	for i, row := range bombCells {
		fmt.Fprintf(&b, `<row r="%d">`, i+1)
		for j := range row {
			fmt.Fprintf(&b, `<c r="%c%d" t="s"><v>%d</v></c>`, 'A'+j, i+1, i*len(row)+j)
		}
		b.WriteString("</row>")
	}
	return b.String()
}

func uploadForm(orgID, fileName string, data []byte) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("orgId", orgID)
	fw, _ := mw.CreateFormFile("file", fileName)
	_, _ = fw.Write(data)
	_ = mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func (r *runner) bombs(ctx context.Context) (bool, error) {
	fmt.Fprintf(r.out, "\n== scenario 2: upload bombs (target: refused %d or %d within %s using < %d MiB extra)\n",
		bombStatusA, bombStatusB, MaxBombTime, MaxBombExtraMB)
	type bomb struct {
		name, file string
		data       []byte
	}
	bombs := []bomb{{name: fmt.Sprintf("%d MB header a,a,a,…", r.o.HeaderMB), file: "header.csv", data: HeaderBomb(r.o.HeaderMB << 20)}}
	for _, part := range []string{"sharedStrings", "workbook", "styles"} {
		data, err := XLSXBomb(part, r.o.BombMB<<20)
		if err != nil {
			return false, err
		}
		bombs = append(bombs, bomb{name: fmt.Sprintf(".xlsx, %s.xml inflating to %d MB", part, r.o.BombMB), file: "bomb-" + part + ".xlsx", data: data})
	}
	ok := true
	for _, b := range bombs {
		if err := r.fresh(ctx); err != nil {
			return false, err
		}
		if err := r.signIn(ctx); err != nil {
			return false, err
		}
		ct, body := uploadForm(r.o.OrgID, b.file, b.data)
		mem := r.sample(r.srv.Restart != nil)
		start := time.Now()
		status, _, err := r.post(ctx, "/api/v1/uploads", ct, body, r.token)
		took := time.Since(start)
		before, peak := mem.end()
		if err != nil {
			return false, err
		}
		pass := (status == bombStatusA || status == bombStatusB) && took < MaxBombTime
		extra := "unknown"
		if peak > 0 {
			extra = mib(max(peak-before, 0))
			pass = pass && peak-before < MaxBombExtraMB<<20
		}
		ok = ok && pass
		fmt.Fprintf(r.out, "%s (%d KB sent): %d in %s, server memory +%s: %s\n",
			b.name, len(b.data)>>10, status, took.Round(time.Millisecond), extra, verdict(pass))
	}
	return ok, nil
}

// PasswordCSV is an upload of n new users with passwords, unique per tag.
func PasswordCSV(n int, tag string) []byte {
	var b bytes.Buffer
	b.WriteString("firstName,lastName,email,userName,password\n")
	for i := range n {
		last := string([]byte{byte('A' + i/676%26), byte('a' + i/26%26), byte('a' + i%26)})
		fmt.Fprintf(&b, "Load,%s,load.%s.%d@load.example.org,load_%s_%d,Welcome@2024\n", last, tag, i, tag, i)
	}
	return b.Bytes()
}

func (r *runner) upload(ctx context.Context) (bool, error) {
	if err := r.fresh(ctx); err != nil {
		return false, err
	}
	if err := r.signIn(ctx); err != nil {
		return false, err
	}
	fmt.Fprintf(r.out, "\n== scenario 3: %d-row upload with passwords while %d concurrent wrong sign-ins hammer (target: it finishes)\n",
		r.o.UploadRows, r.o.Hammer)
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mem := r.sample(r.srv.Restart != nil)
	b := r.burst(bctx, r.o.Hammer)
	health := r.pollHealth(bctx)
	tag := fmt.Sprintf("%x", time.Now().UnixNano())
	ct, body := uploadForm(r.o.OrgID, "load.csv", PasswordCSV(r.o.UploadRows, tag))
	start := time.Now()
	status, resp, err := r.post(ctx, "/api/v1/uploads", ct, body, r.token)
	if err != nil {
		return false, err
	}
	if status != http.StatusAccepted {
		cancel()
		b.wait()
		return false, fmt.Errorf("upload answered %d: %.300s", status, resp)
	}
	var up struct {
		ID, Status, Failure string
		Succeeded, Failed   int
	}
	if err := json.Unmarshal(resp, &up); err != nil {
		return false, err
	}
	for up.Status != "COMPLETED" && up.Status != "FAILED" && time.Since(start) < r.o.UploadMax {
		time.Sleep(250 * time.Millisecond)
		st, body, err := r.get(ctx, "/api/v1/uploads/"+up.ID)
		if err != nil {
			return false, err
		}
		if st == http.StatusOK {
			_ = json.Unmarshal(body, &up)
		}
	}
	took := time.Since(start)
	cancel()
	answers := b.wait()
	<-health.done
	before, peak := mem.end()
	pass := up.Status == "COMPLETED" && up.Succeeded == r.o.UploadRows
	fmt.Fprintf(r.out, "upload: %s, %d created, %d failed, in %s: %s\n", orDefault(up.Status, "?"), up.Succeeded, up.Failed, took.Round(100*time.Millisecond), verdict(pass))
	if up.Failure != "" {
		fmt.Fprintf(r.out, "upload failure: %s\n", up.Failure)
	}
	fmt.Fprintf(r.out, "sign-in answers meanwhile: %s\n", answers)
	fmt.Fprintf(r.out, "/healthz meanwhile: slowest %s, %d failed\n", time.Duration(health.worst.Load()).Round(time.Millisecond), health.failures.Load())
	if peak > 0 {
		fmt.Fprintf(r.out, "server RSS: %s before, peak %s\n", mib(before), mib(peak))
	}
	return pass, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
