package httpapi

import (
	"strconv"
	"testing"
	"time"
)

func TestBackoffSchedule(t *testing.T) {
	th := newLoginThrottle()
	for f, want := range map[int]time.Duration{0: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 9: 16 * time.Second, 10: 30 * time.Second, 60: 30 * time.Second} {
		if got := th.account.delay(f); got != want {
			t.Errorf("account delay after %d failures: %v, want %v", f, got, want)
		}
	}
	for f, want := range map[int]time.Duration{9: 0, 10: time.Second, 19: 512 * time.Second, 20: 15 * time.Minute, 1000: 15 * time.Minute} {
		if got := th.client.delay(f); got != want {
			t.Errorf("client delay after %d failures: %v, want %v", f, got, want)
		}
	}
}

func TestLoginThrottleForgetsAndStaysBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	th := newLoginThrottle()
	th.now = func() time.Time { return now }
	acct := []string{"username:x"}
	for range 6 {
		th.Failed(acct, "")
	}
	if ok, wait := th.Allowed(acct, ""); ok || wait != 2*time.Second {
		t.Fatalf("after 6 failures: allowed %v, wait %v", ok, wait)
	}
	if ok, _ := th.Allowed([]string{"username:y"}, "192.0.2.1"); !ok {
		t.Fatal("another account and address are throttled too")
	}
	now = now.Add(2*time.Second + 15*time.Minute + time.Second)
	th.Failed(acct, "")
	if s := th.strikes[accountKeyPrefix+acct[0]]; s.failures != 1 {
		t.Fatalf("a count past its quiet time was kept: %d failures", s.failures)
	}

	th.max = 100
	victim := []string{"username:victim"}
	for range 7 {
		th.Failed(victim, "")
	}
	for i := range 1000 {
		th.Failed([]string{"flood:" + strconv.Itoa(i)}, "")
		if len(th.strikes) > th.max {
			t.Fatalf("%d entries, bound %d", len(th.strikes), th.max)
		}
	}
}

func TestClientAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:5555":             "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ff::1]:1":     "2001:db8:1:2::/64",
		"@":                          "@",
	} {
		if got := clientAddress(in); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
