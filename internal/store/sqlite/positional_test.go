package sqlite

import (
	"strconv"
	"strings"
	"testing"
)

// Long statements numbered $1…$n in order become "?" placeholders (the
// quoted '$x' untouched); anything else stays as written.
func TestPositional(t *testing.T) {
	var rows []string
	for i := 0; i < 300; i++ {
		rows = append(rows, "($"+strconv.Itoa(3*i+1)+", '$x', $"+strconv.Itoa(3*i+2)+", $"+strconv.Itoa(3*i+3)+")")
	}
	long := "INSERT INTO t (a, b, c, d) VALUES " + strings.Join(rows, ", ")
	got := positional(long)
	if strings.Contains(got, "$1") || strings.Count(got, "?") != 900 || strings.Count(got, "'$x'") != 300 {
		t.Errorf("sequential parameters not made positional: %.200s", got)
	}
	// Any repeat or gap keeps the numbered form, which only $n expresses.
	for _, q := range []string{
		strings.Replace(long, "$2,", "$1,", 1),
		strings.Replace(long, "$5,", "$9,", 1),
		"UPDATE t SET a = $1 WHERE b = $2", // short: left alone
	} {
		if positional(q) != q {
			t.Errorf("rewrote %.80s", q)
		}
	}
}
