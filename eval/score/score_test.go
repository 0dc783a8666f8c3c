package score

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

func loadTruth(t *testing.T) *groundtruth.Video {
	t.Helper()
	v, err := groundtruth.Load(filepath.Join("testdata", "truth.gt.json"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func loadPred(t *testing.T, name string) *Prediction {
	t.Helper()
	p, err := LoadPrediction(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestShots(t *testing.T) {
	truth := TruthBoundaries(loadTruth(t))
	tests := []struct {
		pred     string
		tol      int
		cut      PR
		gradual  PR
		allRecal float64
	}{
		{"perfect.json", 0, PR{TP: 1, Precision: 1, Recall: 1, F1: 1}, PR{TP: 1, Precision: 1, Recall: 1, F1: 1}, 1},
		// Nothing predicted: no false positives, nothing found.
		{"empty.json", 2, PR{FN: 1, Precision: 1}, PR{FN: 1, Precision: 1}, 0},
		// One frame late: the cut is missed at tolerance 0 (and its
		// prediction is a false positive); the dissolve still lies inside
		// its transition span.
		{"offbyone.json", 0, PR{FP: 1, FN: 1}, PR{TP: 1, Precision: 1, Recall: 1, F1: 1}, 0.5},
		{"offbyone.json", 1, PR{TP: 1, Precision: 1, Recall: 1, F1: 1}, PR{TP: 1, Precision: 1, Recall: 1, F1: 1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.pred, func(t *testing.T) {
			got := Shots(truth, PredBoundaries(loadPred(t, tc.pred), 25), tc.tol)
			if got.Cut != tc.cut {
				t.Errorf("cut = %+v, want %+v", got.Cut, tc.cut)
			}
			if got.Gradual != tc.gradual {
				t.Errorf("gradual = %+v, want %+v", got.Gradual, tc.gradual)
			}
			if !near(got.All.Recall, tc.allRecal) {
				t.Errorf("all recall = %v, want %v", got.All.Recall, tc.allRecal)
			}
		})
	}
}

func TestShotsKindMismatch(t *testing.T) {
	// A dissolve reported as a cut counts for "all" but not per kind.
	truth := []Boundary{{Frame: 180, Lo: 175, Hi: 184, Kind: KindGradual}}
	pred := CutBoundaries([]int{178})
	got := Shots(truth, pred, 0)
	if got.All.TP != 1 || got.Gradual.FN != 1 || got.Cut.FP != 1 {
		t.Fatalf("got %+v", got)
	}
}

func TestShotsOneToOne(t *testing.T) {
	// Two predictions near one cut: one matches, the other is a false positive.
	got := Shots(CutBoundaries([]int{100}), CutBoundaries([]int{99, 100}), 2)
	want := PR{TP: 1, FP: 1, Precision: 0.5, Recall: 1, F1: 2.0 / 3}
	if got.Cut.TP != want.TP || got.Cut.FP != want.FP || !near(got.Cut.F1, want.F1) {
		t.Fatalf("cut = %+v, want %+v", got.Cut, want)
	}
}

func TestItems(t *testing.T) {
	truth := loadTruth(t)
	tests := []struct {
		pred        string
		opt         ItemOptions
		found       int
		top1, top10 float64
		timeIoU     float64
		boxIoU      float64
		falseN      int
	}{
		{"perfect.json", ItemOptions{}, 2, 1, 1, 1, 1, 0},
		{"empty.json", ItemOptions{}, 0, 0, 0, 0, 0, 0},
		// Shifted by one frame (0.04 s): IoU of [1,3] and [1.04,3.04] is 1.96/2.04.
		{"offbyone.json", ItemOptions{}, 2, 1, 1, 1.96 / 2.04, 1, 0},
		{"wrongproduct.json", ItemOptions{}, 0, 0, 0, 0, 0, 2},
		// Matches below MinScore are dropped, so B's only match disappears.
		{"perfect.json", ItemOptions{MinScore: 0.85}, 1, 0.5, 0.5, 1, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.pred, func(t *testing.T) {
			got := Items(truth, loadPred(t, tc.pred), tc.opt)
			if got.Found != tc.found || !near(got.Top1, tc.top1) || !near(got.Top10, tc.top10) {
				t.Errorf("found=%d top1=%v top10=%v, want %d %v %v", got.Found, got.Top1, got.Top10, tc.found, tc.top1, tc.top10)
			}
			if !near(got.MeanTimeIoU, tc.timeIoU) {
				t.Errorf("time IoU = %v, want %v", got.MeanTimeIoU, tc.timeIoU)
			}
			if !near(got.MeanBoxIoU, tc.boxIoU) {
				t.Errorf("box IoU = %v, want %v", got.MeanBoxIoU, tc.boxIoU)
			}
			if got.FalseMatches != tc.falseN || !near(got.FalseMatchesPerMin, float64(tc.falseN)*6) {
				t.Errorf("false matches = %d (%v/min), want %d", got.FalseMatches, got.FalseMatchesPerMin, tc.falseN)
			}
		})
	}
}

func TestItemsRank(t *testing.T) {
	truth := loadTruth(t)
	pred := loadPred(t, "perfect.json")
	// The right product third: found at k=5, not at k=1; it is a false
	// match because the top-1 is wrong.
	pred.Items[0].Matches = []Match{{"X", 0.9}, {"Y", 0.8}, {"A", 0.7}}
	for _, tc := range []struct {
		k     int
		found int
	}{{1, 1}, {3, 2}, {5, 2}} {
		got := Items(truth, pred, ItemOptions{K: tc.k})
		if got.Found != tc.found {
			t.Errorf("k=%d: found %d, want %d", tc.k, got.Found, tc.found)
		}
		if got.PerItem[0].Rank != 3 || !near(got.Top1, 0.5) || !near(got.Top5, 1) || got.FalseMatches != 1 {
			t.Errorf("k=%d: rank %d top1 %v top5 %v false %d", tc.k, got.PerItem[0].Rank, got.Top1, got.Top5, got.FalseMatches)
		}
	}
}

func TestSingleFrameItem(t *testing.T) {
	truth := loadTruth(t)
	pred := loadPred(t, "perfect.json")
	// Seen in one frame only: inside A's span it finds A; outside it is a
	// false match.
	pred.Items = []PredItem{
		{StartS: 2.0, EndS: 2.0, Matches: []Match{{"A", 0.9}}},
		{StartS: 4.5, EndS: 4.5, Matches: []Match{{"A", 0.9}}},
	}
	got := Items(truth, pred, ItemOptions{})
	if got.Found != 1 || got.FalseMatches != 1 || got.PerItem[0].Rank != 1 {
		t.Fatalf("found %d, false %d, rank %d", got.Found, got.FalseMatches, got.PerItem[0].Rank)
	}
}

func TestNegativeVideo(t *testing.T) {
	neg := &groundtruth.Video{Schema: groundtruth.Schema, FPS: 30, Frames: 900, Negative: true} // 30 s
	pred := loadPred(t, "perfect.json")
	got := Items(neg, pred, ItemOptions{})
	if got.FalseMatches != 2 || !near(got.FalseMatchesPerMin, 4) {
		t.Fatalf("false matches %d (%v/min), want 2 (4/min)", got.FalseMatches, got.FalseMatchesPerMin)
	}
	if got.FoundRate != 0 || got.TruthItems != 0 {
		t.Fatalf("found rate %v on a negative video", got.FoundRate)
	}
}

func TestMerge(t *testing.T) {
	truth := loadTruth(t)
	var total ItemScore
	total.Merge(Items(truth, loadPred(t, "perfect.json"), ItemOptions{}))
	total.Merge(Items(truth, loadPred(t, "wrongproduct.json"), ItemOptions{}))
	if total.TruthItems != 4 || total.Found != 2 || !near(total.FoundRate, 0.5) || !near(total.FalseMatchesPerMin, 2/(20.0/60)) {
		t.Fatalf("merged = %+v", total)
	}
	var shots ShotScore
	shots.Add(Shots(TruthBoundaries(truth), nil, 0))
	shots.Add(Shots(TruthBoundaries(truth), TruthBoundaries(truth), 0))
	if shots.All.TP != 2 || shots.All.FN != 2 || !near(shots.All.Recall, 0.5) {
		t.Fatalf("merged shots = %+v", shots.All)
	}
}

func TestBoxIoU(t *testing.T) {
	tests := []struct {
		a, b [4]float64
		want float64
	}{
		{[4]float64{0, 0, 1, 1}, [4]float64{0, 0, 1, 1}, 1},
		{[4]float64{0, 0, 0.5, 0.5}, [4]float64{0.5, 0.5, 0.5, 0.5}, 0},
		{[4]float64{0, 0, 0.5, 0.5}, [4]float64{0.25, 0, 0.5, 0.5}, 1.0 / 3},
		{[4]float64{0, 0, 0, 0}, [4]float64{0, 0, 0, 0}, 0},
	}
	for _, tc := range tests {
		got := BoxIoU(tc.a[0], tc.a[1], tc.a[2], tc.a[3], tc.b[0], tc.b[1], tc.b[2], tc.b[3])
		if !near(got, tc.want) {
			t.Errorf("BoxIoU(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, doc := range []string{
		`{"schema":"other/v1"}`,
		`{"items":[{"id":"x","start_s":3,"end_s":1}]}`,
		`not json`,
	} {
		if _, err := DecodePrediction(strings.NewReader(doc)); err == nil {
			t.Errorf("DecodePrediction(%q): no error", doc)
		}
	}
}

func BenchmarkItems(b *testing.B) {
	truth, err := groundtruth.Load(filepath.Join("testdata", "truth.gt.json"))
	if err != nil {
		b.Fatal(err)
	}
	pred, err := LoadPrediction(filepath.Join("testdata", "perfect.json"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		Items(truth, pred, ItemOptions{})
	}
}

func TestItemsTimed(t *testing.T) {
	truth := loadTruth(t)
	stretched := loadPred(t, "perfect.json")
	stretched.Items[0].StartS -= 1.5 // the first item starts 1.5 s early
	late := loadPred(t, "perfect.json")
	late.Items[1].EndS += 0.9 // within the default tolerance
	for _, tc := range []struct {
		name  string
		pred  *Prediction
		opt   ItemOptions
		timed int
	}{
		{"perfect", loadPred(t, "perfect.json"), ItemOptions{}, 2},
		{"one frame off", loadPred(t, "offbyone.json"), ItemOptions{}, 2},
		{"one frame off, tight tolerance", loadPred(t, "offbyone.json"), ItemOptions{TimeTolerance: 0.01}, 0},
		{"1.5 s early", stretched, ItemOptions{}, 1},
		{"0.9 s late", late, ItemOptions{}, 2},
		{"wrong product", loadPred(t, "wrongproduct.json"), ItemOptions{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Items(truth, tc.pred, tc.opt)
			if got.Timed != tc.timed || !near(got.TimedRate, float64(tc.timed)/float64(got.TruthItems)) {
				t.Errorf("timed %d (rate %v), want %d", got.Timed, got.TimedRate, tc.timed)
			}
			n := 0
			for _, r := range got.PerItem {
				if r.Timed {
					n++
					if !r.Found {
						t.Errorf("item %s timed but not found", r.ProductID)
					}
				}
			}
			if n != got.Timed {
				t.Errorf("%d per-item Timed flags, total %d", n, got.Timed)
			}
		})
	}
}

func TestPublishedPrecision(t *testing.T) {
	truth := loadTruth(t)
	perfect := loadPred(t, "perfect.json")
	wrong := loadPred(t, "wrongproduct.json")
	conf := func(c float64) *float64 { return &c }
	// perfect's right items plus wrong's two false ones, with statuses and
	// confidences: right ones confident and published, one false item
	// published with a low confidence, one waiting for review.
	mixed := *perfect
	mixed.Items = append([]PredItem(nil), perfect.Items...)
	mixed.Items[0].Status, mixed.Items[0].Confidence = "published", conf(0.9)
	mixed.Items[1].Status, mixed.Items[1].Confidence = "published", conf(0.8)
	fp, review := wrong.Items[0], wrong.Items[1]
	fp.Status, fp.Confidence = "published", conf(0.6)
	review.Status, review.Confidence = "needs_review", conf(0.4)
	mixed.Items = append(mixed.Items, fp, review)
	for _, tc := range []struct {
		name      string
		pred      *Prediction
		matched   int
		precision float64
		top1      float64
	}{
		{"perfect", perfect, 2, 1, 1},
		{"wrong", wrong, 2, 0, 0},
		{"all candidates", &mixed, 4, 0.5, 1},
		{"shown", mixed.Shown(), 3, 2.0 / 3, 1},
		{"confidence 0.7", mixed.AtConfidence(0.7), 2, 1, 1},
		{"confidence 0.85", mixed.AtConfidence(0.85), 1, 1, 0.5},
		{"confidence 0.95", mixed.AtConfidence(0.95), 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Items(truth, tc.pred, ItemOptions{})
			if got.MatchedItems != tc.matched || !near(got.Precision, tc.precision) || !near(got.Top1, tc.top1) {
				t.Errorf("matched %d precision %v top1 %v, want %d %v %v", got.MatchedItems, got.Precision, got.Top1, tc.matched, tc.precision, tc.top1)
			}
		})
	}
	if n := len(mixed.Items); n != 4 {
		t.Errorf("filters changed the prediction they were called on: %d items", n)
	}
}
