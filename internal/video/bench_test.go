package video

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/jobs"
)

// peakRSS returns the process's peak resident set size in bytes (Linux),
// or 0 when unknown. It includes the ONNX Runtime's native memory.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// BenchmarkWorkflow runs the whole analysis workflow on sample videos and
// reports speed as a multiple of real time, per-step seconds and peak RSS.
// The empty catalog keeps the measurement about video analysis.
func BenchmarkWorkflow(b *testing.B) {
	samples := samplesDir(b)
	e := newEnv(b, envOptions{models: true})
	for _, name := range []string{
		"pyscenedetect_testvideo_fades.mp4",      // 1280x720, 24 s
		"pyscenedetect_bbc_multishot_people.mp4", // largest file
		"pets_pedestrians_vtest.mp4",             // longest
	} {
		path := filepath.Join(samples, "videos", name)
		if _, err := os.Stat(path); err != nil {
			b.Skipf("sample %s missing", path)
		}
		b.Run(strings.TrimSuffix(name, ".mp4"), func(b *testing.B) {
			var total time.Duration
			steps := map[string]time.Duration{}
			var dur float64
			for b.Loop() {
				start := time.Now()
				v, wf := e.addFile(b, path)
				total += time.Since(start)
				if wf.State != jobs.StateSucceeded {
					b.Fatalf("workflow %s: %+v", wf.State, wf.Steps)
				}
				got, _ := e.svc.Get(b.Context(), v.ID)
				dur = got.DurationS
				for k, d := range stepTimes(wf) {
					steps[k] += d
				}
			}
			n := float64(b.N)
			b.ReportMetric(dur/(total.Seconds()/n), "x_realtime")
			for _, s := range []string{StepDecode, StepShots, StepDetect, StepMatch} {
				b.ReportMetric(steps[s].Seconds()/n, s+"_s")
			}
			b.ReportMetric(float64(peakRSS())/(1<<20), "peak_MiB")
		})
	}
}
