package httpapi

import (
	"testing"
	"time"
)

func TestLoginThrottle(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	th := newLoginThrottle(3, 10*time.Minute)
	th.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := th.Allowed("Priya@Example.org"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		th.Failed(" priya@example.org")
		now = now.Add(time.Minute)
	}
	ok, wait := th.Allowed("priya@example.org")
	if ok || wait != 7*time.Minute {
		t.Fatalf("after 3 failures: allowed %v, wait %v", ok, wait)
	}
	if ok, _ := th.Allowed("someone-else"); !ok {
		t.Fatal("another login is throttled too")
	}
	now = now.Add(7 * time.Minute) // the first failure leaves the window
	if ok, _ := th.Allowed("priya@example.org"); !ok {
		t.Fatal("still refused after the window")
	}
	th.Failed("priya@example.org")
	if ok, _ := th.Allowed("priya@example.org"); ok {
		t.Fatal("a new failure within the window did not count")
	}
	th.Succeeded("priya@example.org")
	if ok, _ := th.Allowed("priya@example.org"); !ok || len(th.failures) != 0 {
		t.Fatal("success did not clear the failures")
	}
}
