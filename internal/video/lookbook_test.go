package video

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/eval/score"
	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/review"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// TestLookbookWhatViewersSee analyses generated on-model lookbook reels
// against the on-model catalog and checks what a player would show:
// precision and recall of the published items, labels that are catalog
// categories, and a calibration refitted on the reels' own candidates that
// ranks right items above wrong ones.
func TestLookbookWhatViewersSee(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests the on-model catalog and analyses generated reels")
	}
	samples := testenv.Samples(t)
	catDir := filepath.Join(samples, "catalog_virgio")
	local, err := vision.OpenLocalFeatures(testenv.Models(t), vision.LocalFeatureOptions{SessionOptions: vision.SessionOptions{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	var reviews *review.Store
	e := newEnv(t, envOptions{models: true, catalog: filepath.Join(catDir, "products.csv"), tweak: func(d *Deps) {
		d.Local = local
		reviews = review.New(d.DB)
		d.Review = reviews
	}})
	ctx := context.Background()
	categories := catalogCategories(t, filepath.Join(catDir, "products.csv"))

	var shown, cands score.ItemScore
	var samplesFit []confidence.Sample
	var reviewed Video
	var reviewedDoc shoppable.Document
	for _, seed := range []uint64{21, 22} {
		res, err := gen.Lookbook(ctx, gen.LookbookConfig{CatalogDir: catDir, Backgrounds: gen.SampleBackgrounds(samples), Seed: seed,
			MinDurationS: 14, MaxDurationS: 18}, t.TempDir(), "lookbook")
		if err != nil {
			t.Fatalf("generate seed %d: %v", seed, err)
		}
		v, wf := e.addFile(t, res.VideoPath)
		if wf.State != jobs.StateSucceeded {
			t.Fatalf("seed %d: workflow %s: %+v", seed, wf.State, wf.Steps)
		}
		checkVerifiedFromKeptFrames(t, e, v.ID, wf, seed == 21)
		js, _, err := e.svc.Shoppable(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		var doc shoppable.Document
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatal(err)
		}
		for _, it := range doc.Items {
			if !categories[it.Label] {
				t.Errorf("seed %d: item %s labelled %q, not a catalog category", seed, it.ID, it.Label)
			}
			if it.Confidence == nil || *it.Confidence < 0 || *it.Confidence > 1 {
				t.Errorf("seed %d: item %s confidence %v", seed, it.ID, it.Confidence)
			}
		}
		if len(doc.Items) >= 2 && reviewed.ID == "" {
			reviewed, reviewedDoc = v, doc
		}
		pred, err := score.DecodePrediction(bytes.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		sc := score.Items(res.Truth, pred.Shown(), score.ItemOptions{K: 5, TimeTolerance: 1})
		shown.Merge(sc)
		cdoc, feats, err := e.svc.Candidates(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		cjs, err := json.Marshal(cdoc)
		if err != nil {
			t.Fatal(err)
		}
		cpred, err := score.DecodePrediction(bytes.NewReader(cjs))
		if err != nil {
			t.Fatal(err)
		}
		cands.Merge(score.Items(res.Truth, cpred, score.ItemOptions{K: 5, TimeTolerance: 1}))
		ev := map[string]map[string]float64{}
		for id, f := range feats {
			ev[id] = f
		}
		samplesFit = append(samplesFit, bench.Label(res.Truth, cpred, ev, fmt.Sprint(seed))...)
		t.Logf("seed %d: %d true items; %d published, %d right, found@1 %.2f; %d candidates", seed, sc.TruthItems, sc.MatchedItems, sc.MatchedItems-sc.FalseMatches, sc.Top1, len(cpred.Items))
	}
	t.Logf("published: precision %.3f, found@1 %.3f, found@5 %.3f, %.1f false per minute, box IoU %.3f; candidates: found@1 %.3f, precision %.3f",
		shown.Precision, shown.Top1, shown.Top5, shown.FalseMatchesPerMin, shown.MeanBoxIoU, cands.Top1, cands.Precision)
	// Floors under the measured values, so a regression fails: 15 of 15
	// published items right and 15 of 16 products found at rank 1 (see
	// bench/REPORT.md for the larger set). The floors leave one false
	// item and three missed products of margin.
	if shown.Precision < 0.9 {
		t.Errorf("published-item precision %.3f below the floor 0.9", shown.Precision)
	}
	if shown.Top1 < 0.75 {
		t.Errorf("found@1 %.3f below the floor 0.75", shown.Top1)
	}
	// Box IoU with the truth (the whole model), measured 0.601 (0.584
	// with dresses boxed by the region that matched, see showWholeBody);
	// the floor leaves room for another CPU's numerics.
	if shown.MeanBoxIoU < 0.55 {
		t.Errorf("mean box IoU %.3f below the floor 0.55", shown.MeanBoxIoU)
	}

	// Local-feature verification: right products share more inliers with
	// their crops than wrong ones.
	var inRight, inWrong []float64
	for _, smp := range samplesFit {
		v, ok := smp.Features[confidence.Inliers]
		if !ok {
			continue
		}
		if smp.Right {
			inRight = append(inRight, v)
		} else {
			inWrong = append(inWrong, v)
		}
	}
	mean := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s / float64(max(1, len(xs)))
	}
	t.Logf("verification: log(1+inliers) %.2f over %d right items, %.2f over %d wrong", mean(inRight), len(inRight), mean(inWrong), len(inWrong))
	if len(inRight)+len(inWrong) < len(samplesFit)*3/4 {
		t.Errorf("only %d of %d candidates were verified", len(inRight)+len(inWrong), len(samplesFit))
	}
	if mean(inRight) <= mean(inWrong)+0.5 {
		t.Errorf("right items' inliers (log %.2f) do not clearly exceed wrong ones' (log %.2f)", mean(inRight), mean(inWrong))
	}

	// Reviewers' decisions become labelled samples for the next fit:
	// an approved item is right, a rejected one wrong.
	if reviewed.ID == "" {
		t.Fatal("no reel with two items to review")
	}
	who := review.Actor{KeyID: 1, Name: "test"}
	if _, err := reviews.Record(ctx, reviewed.ID, reviewedDoc.Items[0], review.ActionApprove, "", "", who); err != nil {
		t.Fatal(err)
	}
	if _, err := reviews.Record(ctx, reviewed.ID, reviewedDoc.Items[1], review.ActionReject, "", "", who); err != nil {
		t.Fatal(err)
	}
	rs, err := e.svc.ReviewSamples(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || !rs[0].Right && !rs[1].Right || rs[0].Right && rs[1].Right || len(rs[0].Features) == 0 {
		t.Errorf("review samples %+v, want one right and one wrong with features", rs)
	}

	// A calibration refitted on these candidates orders right above wrong.
	m, err := confidence.Fit(samplesFit, confidence.FitOptions{Inputs: confidence.DefaultInputs, Folds: 2})
	if err != nil {
		t.Fatal(err)
	}
	var pos, neg []float64
	for _, s := range samplesFit {
		if s.Right {
			pos = append(pos, m.Confidence(s.Features))
		} else {
			neg = append(neg, m.Confidence(s.Features))
		}
	}
	auc := confidence.AUC(pos, neg)
	t.Logf("refit on %d candidates (%d right): AUC %.3f", len(samplesFit), len(pos), auc)
	if len(pos) == 0 || len(neg) == 0 || auc < 0.85 {
		t.Errorf("refitted calibration: AUC %.3f over %d right and %d wrong candidates, want >= 0.85", auc, len(pos), len(neg))
	}
}

// catalogCategories returns the lower-cased category column of a catalog.
func catalogCategories(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range rows[0] {
		if strings.EqualFold(h, "category") {
			col = i
		}
	}
	if col < 0 {
		t.Fatal("catalog has no category column")
	}
	out := map[string]bool{}
	for _, r := range rows[1:] {
		out[strings.ToLower(strings.TrimSpace(r[col]))] = true
	}
	return out
}

// checkVerifiedFromKeptFrames checks that the match step cut every
// verification crop from the frames the detect step kept, decoding none
// again, and that the publish step removed them. With fallback, it then
// drops the stored crop features and re-matches: the frames are gone, so
// verification decodes them, and must describe the same crops.
func checkVerifiedFromKeptFrames(t *testing.T, e *testEnv, id string, wf *jobs.Workflow, fallback bool) {
	t.Helper()
	crops := func(wf *jobs.Workflow) map[string]int {
		for _, st := range wf.Steps {
			if st.Name != StepMatch {
				continue
			}
			var out matchOutput
			if err := json.Unmarshal(st.Output, &out); err != nil {
				t.Fatalf("match output %s: %v", st.Output, err)
			}
			return out.Crops
		}
		t.Fatalf("workflow %d has no match step", wf.ID)
		return nil
	}
	if c := crops(wf); c["kept"] == 0 || c["decoded"] != 0 {
		t.Errorf("verification crops by origin %v: want all kept by the detect step, none decoded", c)
	}
	if _, err := os.Stat(e.svc.keptFramesOf(id).dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("kept frames after publish: %v, want removed", err)
	}
	if !fallback {
		return
	}
	ctx := context.Background()
	stored := func() map[int]string {
		rows, err := e.db.Read.QueryContext(ctx, `SELECT track_id, features FROM video_track_local WHERE video_id = ?`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int]string{}
		for rows.Next() {
			var tid int
			var b []byte
			if err := rows.Scan(&tid, &b); err != nil {
				t.Fatal(err)
			}
			out[tid] = string(b)
		}
		return out
	}
	before := stored()
	if _, err := e.db.Write.ExecContext(ctx, `DELETE FROM video_track_local WHERE video_id = ?`, id); err != nil {
		t.Fatal(err)
	}
	wfID, err := e.svc.Rematch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rw := e.wait(t, wfID)
	if rw.State != jobs.StateSucceeded {
		t.Fatalf("rematch: %+v", rw.Steps)
	}
	c := crops(rw)
	if c["decoded"] == 0 || c["kept"] != 0 || c["decoded"]+c["reused"] != len(before) {
		t.Errorf("re-match crops by origin %v: want %d decoded (or reused)", c, len(before))
	}
	after := stored()
	if len(after) != len(before) {
		t.Fatalf("%d crop features after decoding, %d from the kept frames", len(after), len(before))
	}
	// A crop reused from an earlier decoded frame may be of another box
	// than the largest (see reuseShare); every other must be the same.
	differ := 0
	for tid, f := range before {
		if after[tid] != f {
			differ++
		}
	}
	if differ > c["reused"] {
		t.Errorf("%d of %d tracks' crop features differ between the decoded and the kept frames (%d reused)", differ, len(before), c["reused"])
	}
}
