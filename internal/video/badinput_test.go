package video

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestBadInputsFailCleanly(t *testing.T) {
	samples := testenv.Samples(t)
	testenv.NeedFFmpeg(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rng := rand.New(rand.NewPCG(1, 1))
	noise := make([]byte, 64<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	real := filepath.Join(samples, "videos", "pyscenedetect_goldeneye_cuts.mp4")
	whole, err := os.ReadFile(real)
	if err != nil {
		t.Skipf("sample video missing: %v", err)
	}
	audio := filepath.Join(dir, "audio-only.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", "-y", audio).CombinedOutput(); err != nil {
		t.Fatalf("make audio-only file: %v: %s", err, out)
	}
	// With the index at the front the probe succeeds and decoding hits the cut.
	fast := filepath.Join(dir, "faststart.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", real, "-c", "copy", "-movflags", "+faststart", "-y", fast).CombinedOutput(); err != nil {
		t.Fatalf("remux: %v: %s", err, out)
	}
	fastBytes, err := os.ReadFile(fast)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		tool    *media.Tool
		wantErr string // in the failed step's error
	}{
		{"random bytes named mp4", write("random.mp4", noise), nil, "invalid"},
		{"truncated mp4", write("truncated.mp4", whole[:len(whole)*2/5]), nil, "invalid"},
		{"truncated mp4 with index first", write("truncated-fast.mp4", fastBytes[:len(fastBytes)*3/5]), nil, "truncated"},
		{"audio only", audio, nil, "no video stream"},
		{"huge declared dimensions", real, &media.Tool{MaxPixels: 320 * 240}, "exceeds limits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{tweak: func(d *Deps) { d.Media = tc.tool }})
			v, wf := e.addFile(t, tc.path)
			if wf.State != jobs.StateFailed {
				t.Fatalf("workflow state = %s, want failed (steps %+v)", wf.State, wf.Steps)
			}
			var failed *jobs.StepStatus
			for i := range wf.Steps {
				if wf.Steps[i].State == jobs.StateFailed {
					failed = &wf.Steps[i]
				}
			}
			if failed == nil || (failed.Name != StepProbe && failed.Name != StepDecode) {
				t.Fatalf("failed step = %+v, want probe or decode", failed)
			}
			if failed.Attempts != 1 {
				t.Errorf("step %s ran %d times; bad input must fail without retries", failed.Name, failed.Attempts)
			}
			if !strings.Contains(failed.Error, tc.wantErr) {
				t.Errorf("step error %q does not mention %q", failed.Error, tc.wantErr)
			}
			got, err := e.svc.Get(context.Background(), v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != StateFailed || got.Error == "" {
				t.Errorf("video state %q error %q, want failed with a message", got.State, got.Error)
			}
			for _, msg := range []string{failed.Error, got.Error} {
				if strings.Contains(msg, e.svc.cfg.WorkDir) {
					t.Errorf("error %q shows the server's work directory %s", msg, e.svc.cfg.WorkDir)
				}
			}
			t.Logf("%s: %s", failed.Name, got.Error)
		})
	}
	t.Run("empty upload", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		_, err := e.svc.Add(context.Background(), bytes.NewReader(nil), "empty.mp4", 0)
		if err == nil || !strings.Contains(err.Error(), "empty") {
			t.Fatalf("Add(empty) err = %v", err)
		}
	})
	t.Run("upload over the size limit", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		_, err := e.svc.Add(context.Background(), bytes.NewReader(whole), "big.mp4", 1000)
		if err == nil || !strings.Contains(err.Error(), "size limit") {
			t.Fatalf("Add(over limit) err = %v", err)
		}
		if vs, _ := e.svc.List(context.Background(), 0); len(vs) != 0 {
			t.Fatalf("rejected upload left a video row: %+v", vs)
		}
	})
}
