package video

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// cpuTime is the user+system CPU time of this process and its waited-for
// children (the ffmpeg runs).
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration {
		return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
	}
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// BenchmarkWorkflow runs the whole analysis workflow on sample videos and
// reports speed as a multiple of real time, per-step seconds and peak RSS.
// The empty catalog keeps the measurement about video analysis.
func BenchmarkWorkflow(b *testing.B) {
	samples := testenv.Samples(b)
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
			var total, cpu, handoff time.Duration
			steps := map[string]time.Duration{}
			var dur float64
			for b.Loop() {
				start, c0 := time.Now(), cpuTime()
				v, wf := e.addFile(b, path)
				total += time.Since(start)
				cpu += cpuTime() - c0
				if wf.State != jobs.StateSucceeded {
					b.Fatalf("workflow %s: %+v", wf.State, wf.Steps)
				}
				got, _ := e.svc.Get(b.Context(), v.ID)
				dur = got.DurationS
				for k, d := range stepTimes(wf) {
					steps[k] += d
				}
				handoff += stepGaps(wf)
			}
			n := float64(b.N)
			b.ReportMetric(dur/(total.Seconds()/n), "x_realtime")
			for _, s := range []string{StepDecode, StepShots, StepDetect, StepMatch} {
				b.ReportMetric(steps[s].Seconds()/n, s+"_s")
			}
			// Queue latency between one step's end and the next one's start.
			b.ReportMetric(handoff.Seconds()/n, "handoff_s")
			b.ReportMetric(float64(bench.PeakRSS())/(1<<20), "peak_MiB")
			// CPU seconds (this process and its ffmpeg children) per second
			// of video: comparable across runs on a busy shared machine.
			b.ReportMetric(cpu.Seconds()/n/dur, "cpu_s_per_video_s")
		})
	}
}

// stepGaps sums the time between each step's end and the next step's start:
// what the queue adds to a workflow's run.
func stepGaps(w *jobs.Workflow) time.Duration {
	var d time.Duration
	for i := 1; i < len(w.Steps); i++ {
		prev, cur := w.Steps[i-1], w.Steps[i]
		if prev.FinishedAt != nil && cur.StartedAt != nil {
			d += cur.StartedAt.Sub(*prev.FinishedAt)
		}
	}
	return d
}
