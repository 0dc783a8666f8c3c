package shoteval

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/eval/score"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shots"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestShotSet renders part of the harder shot set (edited reels with every
// transition kind and in-shot events, and a pan/zoom-only video) and checks
// the goals of the shots bench: all-boundary F1 >= 0.95, cut recall >= 0.99,
// gradual recall >= 0.90 within a frame of the truth, labels right, and no
// false boundary on the pan/zoom-only video. SHOTSET_VIDEOS and SHOTSET_SEED
// choose the set, SHOTSET_KINDS (comma-separated) restricts its transitions;
// SHOTSET_OUT keeps (and reuses) the videos.
func TestShotSet(t *testing.T) {
	if testing.Short() {
		t.Skip("renders evaluation videos")
	}
	ctx := context.Background()
	dir := testenv.Samples(t, "catalog_virgio")
	videos, seed := 3, uint64(101)
	if v, err := strconv.Atoi(os.Getenv("SHOTSET_VIDEOS")); err == nil && v > 0 {
		videos = v
	}
	if v, err := strconv.ParseUint(os.Getenv("SHOTSET_SEED"), 10, 64); err == nil {
		seed = v
	}
	out := os.Getenv("SHOTSET_OUT")
	if out == "" {
		out = t.TempDir()
	}
	cfg := gen.ShotSetConfig{CatalogDir: filepath.Join(dir, "catalog_virgio"), Seed: seed}
	if k := os.Getenv("SHOTSET_KINDS"); k != "" {
		cfg.Kinds = strings.Split(k, ",")
	}
	set, err := gen.ShotSetSeries(ctx, cfg, out, videos, 1, 30)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1
	var total score.ShotScore
	labelled, found, stillFP := 0, 0, 0
	for _, r := range set {
		res, _, err := Detect(ctx, r.VideoPath, shots.Config{}, media.FrameOptions{SkipLoopFilter: true})
		if err != nil {
			t.Fatal(err)
		}
		truth := score.TruthBoundaries(r.Truth)
		var pred []score.Boundary
		for _, b := range res.Boundaries {
			sb := score.Boundary{Frame: b.Frame, Lo: b.Frame, Hi: b.Frame, Kind: score.KindCut, Transition: string(b.Transition)}
			if b.Transition.Gradual() {
				sb.Kind = score.KindGradual
			}
			pred = append(pred, sb)
		}
		name := filepath.Base(r.VideoPath)
		if len(truth) == 0 {
			stillFP += len(pred)
			for _, b := range res.Boundaries {
				t.Logf("%s: false %s at %d (span %d..%d, score %.3f)", name, b.Transition, b.Frame, b.SpanStart, b.SpanEnd, b.Score)
			}
			continue
		}
		total.Add(score.Shots(truth, pred, tol))
		match := score.MatchBoundaries(truth, pred, tol)
		used := make([]bool, len(pred))
		for i, p := range match {
			tb := truth[i]
			if p < 0 {
				t.Logf("%s: missed %s (%s) at %d span %d..%d", name, r.Kinds[i], tb.Transition, tb.Frame, tb.Lo, tb.Hi)
				continue
			}
			used[p] = true
			found++
			if pred[p].Transition == tb.Transition {
				labelled++
			} else {
				t.Logf("%s: %s at %d labelled %s, want %s", name, r.Kinds[i], tb.Frame, pred[p].Transition, tb.Transition)
			}
		}
		for j, b := range res.Boundaries {
			if !used[j] {
				t.Logf("%s: false %s at %d (span %d..%d, score %.3f)", name, b.Transition, b.Frame, b.SpanStart, b.SpanEnd, b.Score)
			}
		}
	}
	t.Logf("all P=%.3f R=%.3f F1=%.3f; cut R=%.3f; gradual R=%.3f; labels %d of %d right; pan/zoom-only false %d",
		total.All.Precision, total.All.Recall, total.All.F1, total.Cut.Recall, total.Gradual.Recall, labelled, found, stillFP)
	if total.All.F1 < 0.95 {
		t.Errorf("all-boundary F1 %.3f below 0.95", total.All.F1)
	}
	if total.Cut.Recall < 0.99 {
		t.Errorf("cut recall %.3f below 0.99", total.Cut.Recall)
	}
	if total.Gradual.Recall < 0.90 {
		t.Errorf("gradual recall %.3f below 0.90", total.Gradual.Recall)
	}
	if labelled < found*95/100 {
		t.Errorf("%d of %d found boundaries labelled right, want 95%%", labelled, found)
	}
	if stillFP > 0 {
		t.Errorf("%d false boundaries on the pan/zoom-only video", stillFP)
	}
}

// TestShotSetCases renders single shot-set reels, each with a transition
// the detector once got wrong, and checks it: one boundary near it, of
// the right kind, within its span ± 1 frame. The seeds lie away from the
// bench's.
func TestShotSetCases(t *testing.T) {
	if testing.Short() {
		t.Skip("renders evaluation videos")
	}
	dir := testenv.Samples(t, "catalog_virgio")
	tests := []struct {
		name   string
		seed   uint64
		lo, hi int // frames of the true transition
		want   shots.Transition
		kinds  []string // gen.ShotSetConfig.Kinds
	}{
		// The smear grows up to the cut and its colours change little:
		// only the row and column profiles jump at the cut.
		{"whip pan between like photos", 4015, 746, 746, shots.Cut, nil},
		// The two photos have like colours, so only the pixels show
		// the slide.
		{"slide between like photos", 4011, 720, 729, shots.Wipe, nil},
		// The darkest frame of the fade is not quite flat, so its two
		// halves were found as two transitions.
		{"fade through a dark grey frame", 4001, 390, 401, shots.Fade, nil},
		// Whip pans back to back: the frame, colour and profile changes
		// each peak at the cut, none by the factor its own test asks.
		{"whip pan whose changes stand out only together", 6005, 677, 677, shots.Cut, []string{gen.ShotWhipPan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := gen.ShotSetConfig{CatalogDir: filepath.Join(dir, "catalog_virgio"), Seed: tc.seed, Kinds: tc.kinds}
			r, err := gen.ShotSet(context.Background(), cfg, t.TempDir(), "case")
			if err != nil {
				t.Fatal(err)
			}
			res, _, err := Detect(context.Background(), r.VideoPath, shots.Config{}, media.FrameOptions{SkipLoopFilter: true})
			if err != nil {
				t.Fatal(err)
			}
			var near []shots.Boundary
			for _, b := range res.Boundaries {
				if b.Frame >= tc.lo-12 && b.Frame <= tc.hi+12 {
					near = append(near, b)
				}
			}
			// Within the transition ± 1 frame, as the bench matches.
			if len(near) != 1 || near[0].Transition != tc.want || near[0].Frame < tc.lo-1 || near[0].Frame > tc.hi+1 {
				t.Errorf("boundaries near frames %d..%d: %+v, want one %s", tc.lo, tc.hi, near, tc.want)
			}
		})
	}
}
