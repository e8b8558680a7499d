package zipcrypt

import (
	stdflate "compress/flate"
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
)

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// appendRow appends one report-like CSV row; generating rows on the fly
// keeps the test's own memory out of the measurement.
func appendRow(b []byte, i int) []byte {
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ",Learner "...)
	b = strconv.AppendInt(b, int64(i*7919%1000003), 10)
	b = append(b, ",learner"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "@example.com,Course "...)
	b = strconv.AppendInt(b, int64(i%37), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(i*13%101), 10)
	b = append(b, "%,2026-01-"...)
	b = strconv.AppendInt(b, int64(10+i%18), 10)
	return append(b, "T10:00:00Z\n"...)
}

// TestStreamingMemoryStaysFlat writes 200 MB through one entry and samples
// the heap along the way: an implementation that buffered the entry (or
// its compressed form) would grow by far more than the bound.
func TestStreamingMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MB; skipped in -short mode")
	}
	const total = 200 << 20
	const bound = 32 << 20
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}

	start := time.Now()
	var out countingWriter
	w, err := NewWriter(&out, "pw")
	if err != nil {
		t.Fatal(err)
	}
	ew, err := w.Create("report.csv", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	row := make([]byte, 0, 64<<10)
	written, nextSample := 0, 0
	for i := 0; written < total; i++ {
		row = appendRow(row, i)
		if len(row) < 60<<10 {
			continue
		}
		if _, err := ew.Write(row); err != nil {
			t.Fatal(err)
		}
		written += len(row)
		row = row[:0]
		if written >= nextSample {
			sample()
			nextSample += 8 << 20
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sample()
	elapsed := time.Since(start)

	growth := int64(peak) - int64(base)
	t.Logf("wrote %d MB of CSV as %d MB in %v (%.0f MB/s); peak heap growth %.1f MB",
		written>>20, out.n>>20, elapsed.Round(time.Millisecond), float64(written)/1e6/elapsed.Seconds(), float64(growth)/(1<<20))
	if growth > bound {
		t.Fatalf("peak heap grew by %d MB while streaming %d MB; want < %d MB", growth>>20, written>>20, bound>>20)
	}
	if out.n < 1<<20 || out.n > int64(written) {
		t.Fatalf("archive is %d bytes for %d bytes of CSV", out.n, written)
	}
}

// BenchmarkWriter measures end-to-end throughput (deflate + AES-CTR +
// HMAC-SHA1) on report-like CSV, in MB/s of plaintext.
func BenchmarkWriter(b *testing.B) {
	var chunk []byte
	for i := 0; len(chunk) < 4<<20; i++ {
		chunk = appendRow(chunk, i)
	}
	const perOp = 8 // 8 x 4 MB = 32 MB per archive
	b.SetBytes(int64(len(chunk) * perOp))
	b.ReportAllocs()
	for b.Loop() {
		w, _ := NewWriter(io.Discard, "benchmark password")
		ew, _ := w.Create("report.csv", time.Time{})
		for range perOp {
			if _, err := ew.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReader measures Open (which authenticates the whole entry
// first) plus decrypting and inflating it.
func BenchmarkReader(b *testing.B) {
	var chunk []byte
	for i := 0; len(chunk) < 32<<20; i++ {
		chunk = appendRow(chunk, i)
	}
	archive := writeArchive(b, "benchmark password", []testEntry{{"report.csv", chunk, time.Time{}}})
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		r := mustOpen(b, archive, "benchmark password")
		rc, err := r.Files[0].Open()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeflate puts the standard library's deflate beside the one the
// writer uses, on the same report-like CSV at the same level, so the ratio
// comes from one run on one machine (docs/BENCHMARKS.md).
func BenchmarkDeflate(b *testing.B) {
	var chunk []byte
	for i := 0; len(chunk) < 8<<20; i++ {
		chunk = appendRow(chunk, i)
	}
	for _, c := range []struct {
		name string
		new  func(io.Writer) (io.WriteCloser, error)
	}{
		{"stdlib", func(w io.Writer) (io.WriteCloser, error) { return stdflate.NewWriter(w, stdflate.DefaultCompression) }},
		{"klauspost", func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.DefaultCompression) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(chunk)))
			var out countingWriter
			for b.Loop() {
				out.n = 0
				fw, err := c.new(&out)
				if err != nil {
					b.Fatal(err)
				}
				fw.Write(chunk)
				fw.Close()
			}
			b.ReportMetric(float64(out.n)/float64(len(chunk))*100, "%size")
		})
	}
}
