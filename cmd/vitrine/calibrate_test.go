package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/confidence"
)

// TestBenchCalibrateFrom refits the calibration from samples files of two
// runs without running a video, and rejects a broken file.
func TestBenchCalibrateFrom(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(name string, videos int) string {
		var s []confidence.Sample
		for v := range videos {
			for range 20 {
				right := rng.IntN(3) == 0
				score := 0.35 + 0.1*rng.NormFloat64()
				if right {
					score += 0.25
				}
				s = append(s, confidence.Sample{Features: confidence.Features{confidence.Score: score, confidence.Margin: score - 0.3},
					Right: right, Group: name + "-" + string(rune('a'+v)) + ".mp4"})
			}
		}
		p := filepath.Join(dir, name+".jsonl")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := confidence.WriteSamples(f, s); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	a, b := write("run1", 4), write("run2", 3)
	model := filepath.Join(dir, "calibration.json")
	joined := filepath.Join(dir, "joined.jsonl.gz")
	so, se, code := vitrine(t, cleanEnv(), "bench", "calibrate", "--from", a, "--from", b, "--write", model, "--samples-out", joined)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	if !strings.Contains(so, "140 candidate items") || !strings.Contains(so, "from 2 files") {
		t.Errorf("output: %s", so)
	}
	m, err := confidence.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	if m.Fit.Samples != 140 || !strings.Contains(m.Note, "run1.jsonl, run2.jsonl") || strings.Contains(m.Note, dir) {
		t.Errorf("fit of %d samples, note %q", m.Fit.Samples, m.Note)
	}
	if hi, lo := m.Confidence(confidence.Features{confidence.Score: 0.7, confidence.Margin: 0.4}),
		m.Confidence(confidence.Features{confidence.Score: 0.3, confidence.Margin: 0}); hi <= lo {
		t.Errorf("confidence %.3f for a strong match, %.3f for a weak one", hi, lo)
	}
	// The joined samples, written compressed, give the same fit again.
	again := filepath.Join(dir, "again.json")
	if _, se, code := vitrine(t, cleanEnv(), "bench", "calibrate", "--from", joined, "--write", again); code != 0 {
		t.Fatalf("--from %s: exit %d: %s", filepath.Base(joined), code, se)
	}
	m2, err := confidence.Load(again)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Fit != m.Fit || m2.PublishAt != m.PublishAt || m2.Bias != m.Bias {
		t.Errorf("refit from the joined samples: %+v at %v, first fit %+v at %v", m2.Fit, m2.PublishAt, m.Fit, m.PublishAt)
	}

	// An output that cannot be written fails the run before any work,
	// naming the file.
	for _, args := range [][]string{
		{"--from", a, "--write", filepath.Join(dir, "missing", "calibration.json")},
		{"--from", a, "--write", model, "--samples-out", filepath.Join(dir, "missing", "samples.jsonl.gz")},
		{"--seed", "7", "--models", filepath.Join(dir, "no-models"), "--write", filepath.Join(dir, "missing", "calibration.json")},
		{"--from", a, "--write", filepath.Join(a, "missing", "calibration.json")}, // under a file
	} {
		_, se, code := vitrine(t, cleanEnv(), append([]string{"bench", "calibrate"}, args...)...)
		if code == 0 || !strings.Contains(se, "missing") || !strings.Contains(se, "cannot write") {
			t.Errorf("%v: exit %d, stderr %q", args, code, se)
		}
	}

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"features\":{\"score\":0.5},\"right\":true}\n{oops\n"), 0o600)
	if _, se, code := vitrine(t, cleanEnv(), "bench", "calibrate", "--from", bad, "--write", model); code == 0 || !strings.Contains(se, "line 2") {
		t.Errorf("broken file: exit %d, stderr %q", code, se)
	}
	// Reviewed video items are not live decisions.
	if _, se, code := vitrine(t, cleanEnv(), "bench", "calibrate", "--live", "--reviews", "--from", joined, "--write", model); code == 0 || !strings.Contains(se, "not with --live") {
		t.Errorf("--live --reviews: exit %d, stderr %q", code, se)
	}
}
