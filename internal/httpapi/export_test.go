package httpapi

import "time"

// SetThrottleClock lets tests move the sign-in throttle's time.
func SetThrottleClock(s *Server, now func() time.Time) { s.throttle.now = now }
