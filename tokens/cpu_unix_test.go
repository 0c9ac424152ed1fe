//go:build unix

package tokens

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds MB per CPU-second to a benchmark that set its bytes: on a
// loaded machine, wall-clock MB/s measures the load as much as the code.
func reportCPU(b *testing.B, start time.Duration, bytes int) {
	if d := cpuTime() - start; d > 0 && b.N > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/1e6/d.Seconds(), "MB/cpu-s")
	}
}
