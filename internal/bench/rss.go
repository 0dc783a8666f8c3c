package bench

import (
	"os"
	"strconv"
	"strings"
)

// resetPeakRSS restarts the kernel's peak resident set count of this
// process (Linux: writing 5 to /proc/self/clear_refs), so that a suite's
// peak is not the one of the suites before it. It reports whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// PeakRSS is this process's peak resident set size in bytes since the last
// reset (VmHWM), including ONNX Runtime's native memory; 0 when unknown.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
