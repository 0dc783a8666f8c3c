package shoteval

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/score"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shots"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestEvaluationSet generates videos with exactly known cuts, dissolves and
// fades, runs the detector and checks the F1 goals (cuts >= 0.95, gradual
// transitions >= 0.80) with a tolerance of 2 frames around each truth span.
func TestEvaluationSet(t *testing.T) {
	if testing.Short() {
		t.Skip("renders evaluation videos")
	}
	ctx := context.Background()
	videos := 4
	if v, err := strconv.Atoi(os.Getenv("SHOTEVAL_VIDEOS")); err == nil && v > 0 {
		videos = v
	}
	seed := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("SHOTEVAL_SEED"), 10, 64); err == nil {
		seed = v
	}
	out := os.Getenv("SHOTEVAL_OUT") // keep the videos for inspection
	if out == "" {
		out = t.TempDir()
	}
	opts := Options{SamplesDir: testenv.Samples(t, "videos"), OutDir: out, Seed: seed, Videos: videos, Shots: 12}
	// SHOTEVAL_HARD renders 640x360 with heavy compression (CRF 32).
	if os.Getenv("SHOTEVAL_HARD") != "" {
		opts.Width, opts.Height, opts.CRF = 640, 360, 32
	}
	cases, err := Generate(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		info, err := media.Probe(ctx, c.Path)
		if err != nil {
			t.Fatal(err)
		}
		if info.FrameCount != c.Truth.Frames {
			t.Fatalf("%s: %d frames, truth says %d", c.Path, info.FrameCount, c.Truth.Frames)
		}
	}
	total, per, err := Evaluate(ctx, cases, shots.Config{}, media.FrameOptions{SkipLoopFilter: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range per {
		t.Logf("%s: cut %+v gradual %+v", filepath.Base(pc.Case.Path), pc.Score.Cut, pc.Score.Gradual)
		if pc.Score.All.FP+pc.Score.All.FN > 0 {
			for i, s := range pc.Case.Truth.Shots {
				t.Logf("  shot %d from %d (%s): %s", i, s.StartFrame, s.TransitionIn, pc.Case.Sources[i])
			}
		}
		logMisses(t, pc)
	}
	t.Logf("TOTAL cut P=%.3f R=%.3f F1=%.3f (tp %d fp %d fn %d); gradual P=%.3f R=%.3f F1=%.3f (tp %d fp %d fn %d)",
		total.Cut.Precision, total.Cut.Recall, total.Cut.F1, total.Cut.TP, total.Cut.FP, total.Cut.FN,
		total.Gradual.Precision, total.Gradual.Recall, total.Gradual.F1, total.Gradual.TP, total.Gradual.FP, total.Gradual.FN)
	var exact score.ShotScore
	typed, gradual := 0, 0
	for _, pc := range per {
		exact.Add(score.Shots(score.TruthBoundaries(pc.Case.Truth), Boundaries(pc.Result), 0))
		for _, ts := range pc.Case.Truth.Boundaries() {
			if len(ts.TransitionFrames) != 2 {
				continue
			}
			gradual++
			for _, b := range pc.Result.Boundaries {
				if b.Frame >= ts.TransitionFrames[0]-2 && b.Frame <= ts.TransitionFrames[1]+2 && string(b.Transition) == ts.TransitionIn {
					typed++
					break
				}
			}
		}
	}
	t.Logf("cuts on the exact frame: F1=%.3f; gradual transitions found with the right type (fade/dissolve): %d of %d",
		exact.Cut.F1, typed, gradual)
	if total.Cut.F1 < 0.95 {
		t.Errorf("cut F1 %.3f below 0.95", total.Cut.F1)
	}
	if total.Gradual.F1 < 0.80 {
		t.Errorf("gradual F1 %.3f below 0.80", total.Gradual.F1)
	}
}

// logMisses lists truth boundaries without a detection and detections
// without a truth boundary, to explain the score.
func logMisses(t *testing.T, pc CaseResult) {
	truth := score.TruthBoundaries(pc.Case.Truth)
	pred := Boundaries(pc.Result)
	near := func(p score.Boundary, tb score.Boundary) bool {
		return p.Frame >= tb.Lo-2 && p.Frame <= tb.Hi+2 && p.Kind == tb.Kind
	}
	for i, tb := range truth {
		found := false
		for _, p := range pred {
			found = found || near(p, tb)
		}
		if !found {
			t.Logf("  missed %s (%s) at %d span %d..%d", tb.Kind, pc.Case.Kinds[i], tb.Frame, tb.Lo, tb.Hi)
		}
	}
	for j, p := range pred {
		found := false
		for _, tb := range truth {
			found = found || near(p, tb)
		}
		if !found {
			b := pc.Result.Boundaries[j]
			t.Logf("  false %s at %d (span %d..%d, score %.3f)", b.Transition, p.Frame, b.SpanStart, b.SpanEnd, b.Score)
		}
	}
}
