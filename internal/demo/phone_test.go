package demo

import (
	"testing"

	"github.com/roster-dev/roster/internal/pii"
)

// Every learner up to the maximum gets a phone number of their own, and the
// numbers are valid across the range, past 100,000 where they used to
// overflow (normalising all million takes too long for the suite).
func TestPhonesValidAndDistinct(t *testing.T) {
	seen := make(map[string]bool, MaxLearners)
	for n := 1; n <= MaxLearners; n++ {
		p := phone(n)
		if seen[p] {
			t.Fatalf("learner %d: phone %s repeats", n, p)
		}
		seen[p] = true
		if n%1000 == 0 || n == 1 || n == 99_999 || n == 100_001 || n == MaxLearners-1 {
			if _, err := pii.NormalisePhone(p, ""); err != nil {
				t.Fatalf("learner %d: phone %s: %v", n, p, err)
			}
		}
	}
}
