package confidence

import (
	"math"
	"path/filepath"
	"testing"
)

// TestShippedCalibrationRefits checks that each shipped calibration is
// the fit of the labelled samples shipped beside it (training/ for
// calibration.json, training/live/ for live_calibration.json, in name
// order, as `vitrine bench calibrate --from` joins them): refitting them
// gives the same weights, isotonic map and thresholds.
func TestShippedCalibrationRefits(t *testing.T) {
	for _, tc := range []struct {
		name, glob string
		shipped    *Model
	}{
		{"calibration.json", filepath.Join("training", "seed*.jsonl.gz"), Default()},
		{"live_calibration.json", filepath.Join("training", "live", "*.jsonl.gz"), DefaultLive()},
	} {
		t.Run(tc.name, func(t *testing.T) { checkRefits(t, tc.glob, tc.shipped) })
	}
}

func checkRefits(t *testing.T, glob string, want *Model) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no training samples %s (%v)", glob, err)
	}
	var samples []Sample
	for _, p := range files {
		s, err := LoadSamples(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		samples = append(samples, s...)
	}
	got, err := Fit(samples, FitOptions{Inputs: DefaultInputs, TargetPrecision: want.Fit.TargetPrecision})
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, a, b float64) {
		t.Helper()
		if math.Abs(a-b) > 1e-9*max(1, math.Abs(b)) {
			t.Errorf("%s: refit %v, shipped %v", what, a, b)
		}
	}
	if got.Fit.Samples != want.Fit.Samples || got.Fit.Positives != want.Fit.Positives {
		t.Fatalf("refit on %d samples (%d right), shipped fit on %d (%d)", got.Fit.Samples, got.Fit.Positives, want.Fit.Samples, want.Fit.Positives)
	}
	near("publish_at", got.PublishAt, want.PublishAt)
	near("review_at", got.ReviewAt, want.ReviewAt)
	near("bias", got.Bias, want.Bias)
	if len(got.Features) != len(want.Features) || len(got.IsoX) != len(want.IsoX) {
		t.Fatalf("refit has %d features and %d isotonic points, shipped %d and %d", len(got.Features), len(got.IsoX), len(want.Features), len(want.IsoX))
	}
	for i, f := range got.Features {
		w := want.Features[i]
		if f.Name != w.Name || f.Sign != w.Sign {
			t.Errorf("feature %d: refit %s (sign %d), shipped %s (sign %d)", i, f.Name, f.Sign, w.Name, w.Sign)
		}
		near(f.Name+" weight", f.Weight, w.Weight)
		near(f.Name+" mean", f.Mean, w.Mean)
		near(f.Name+" sd", f.SD, w.SD)
	}
	for i := range got.IsoX {
		near("iso_x", got.IsoX[i], want.IsoX[i])
		near("iso_y", got.IsoY[i], want.IsoY[i])
	}
}
