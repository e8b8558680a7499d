package zipcrypt

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// drawData mixes the kinds of input that stress different paths: random
// bytes (deflate stores them), repetitive text (long matches) and tiny
// hand-drawn slices that shrink well.
func drawData(t *rapid.T, label string) []byte {
	switch rapid.IntRange(0, 2).Draw(t, label+" kind") {
	case 0:
		return randomBytes(rapid.Uint64().Draw(t, label+" seed"), rapid.IntRange(0, 200_000).Draw(t, label+" len"))
	case 1:
		return csvBytes(rapid.IntRange(0, 200_000).Draw(t, label+" len"))
	default:
		return rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, label)
	}
}

func TestRapidRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		password := rapid.StringN(1, 30, maxPasswordLen).Draw(t, "password")
		entries := make([]testEntry, rapid.IntRange(0, 4).Draw(t, "entries"))
		for i := range entries {
			entries[i] = testEntry{
				name: fmt.Sprintf("dir%d/%s.csv", i, rapid.StringMatching(`[a-zA-Z0-9äöü日本 _-]{1,20}`).Draw(t, "name")),
				data: drawData(t, fmt.Sprint("data", i)),
				mod:  time.Unix(rapid.Int64Range(315532800, 4102444800).Draw(t, "mod"), 0),
			}
		}
		archive := writeArchive(t, password, entries)
		checkEntries(t, archive, password, entries)
		if len(entries) == 0 {
			return
		}

		// Any other password fails; which error depends on the 2-byte
		// verifier, but never success.
		wrong := rapid.StringN(1, 30, maxPasswordLen).Filter(func(s string) bool { return s != password }).Draw(t, "wrong")
		i := rapid.IntRange(0, len(entries)-1).Draw(t, "entry")
		if _, err := readEntry(mustOpen(t, archive, wrong).Files[i]); !errors.Is(err, ErrPassword) && !errors.Is(err, ErrAuthentication) {
			t.Fatalf("wrong password: err = %v", err)
		}

		// Any flipped bit in the entry's data is caught by Open.
		off, size := entryRegion(t, archive, i)
		pos := rapid.Int64Range(0, size-1).Draw(t, "pos")
		bad := append([]byte(nil), archive...)
		bad[off+pos] ^= 1 << rapid.IntRange(0, 7).Draw(t, "bit")
		_, err := mustOpen(t, bad, password).Files[i].Open()
		switch {
		case pos < 16: // salt: new keys, so the verifier fails unless 1 in 65536
			if !errors.Is(err, ErrPassword) && !errors.Is(err, ErrAuthentication) {
				t.Fatalf("flipped salt byte %d: err = %v", pos, err)
			}
		case pos < 18:
			if !errors.Is(err, ErrPassword) {
				t.Fatalf("flipped verifier byte %d: err = %v, want ErrPassword", pos, err)
			}
		default:
			if !errors.Is(err, ErrAuthentication) {
				t.Fatalf("flipped byte %d of %d: err = %v, want ErrAuthentication", pos, size, err)
			}
		}
	})
}
