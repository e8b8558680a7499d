//go:build unix

package upload

import (
	"syscall"
	"time"
)

// cpuTime is the user+system CPU this process has used. Benchmarks report
// it next to wall time because on a shared machine wall time depends on
// what else runs, while the CPU an upload needs does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
