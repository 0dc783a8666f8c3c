package verify

import (
	"math"
	"math/rand/v2"
	"testing"
)

// synthetic returns n correspondences of which the first n-outliers follow
// t (plus Gaussian noise of sigma pixels) and the rest are random, on a
// 640x480 image.
func synthetic(t Transform, n, outliers int, sigma float64, seed uint64) (src, dst []Point) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < n; i++ {
		x, y := rng.Float64()*640, rng.Float64()*480
		u, v, _ := t.Apply(x, y)
		if i >= n-outliers {
			u, v = rng.Float64()*640, rng.Float64()*480
		} else {
			u += rng.NormFloat64() * sigma
			v += rng.NormFloat64() * sigma
		}
		src = append(src, Point{x, y})
		dst = append(dst, Point{u, v})
	}
	return src, dst
}

// maxGridError is the largest distance between where got and want send
// the points of a grid over the 640x480 image.
func maxGridError(got, want Transform) float64 {
	worst := 0.0
	for x := 0.0; x <= 640; x += 64 {
		for y := 0.0; y <= 480; y += 48 {
			u1, v1, ok1 := got.Apply(x, y)
			u2, v2, ok2 := want.Apply(x, y)
			if !ok1 || !ok2 {
				return math.Inf(1)
			}
			worst = max(worst, math.Hypot(u1-u2, v1-v2))
		}
	}
	return worst
}

var (
	// perspective: rotated by 10 degrees, scaled 0.8, shifted, with a
	// visible perspective term.
	perspective = Transform{0.79, -0.14, 60, 0.12, 0.77, 30, 0.0002, -0.0001, 1}
	affineT     = Transform{0.6, 0.2, 100, -0.1, 0.7, 40, 0, 0, 1}
	mirror      = Transform{-1, 0, 640, 0, 1, 0, 0, 0, 1}
)

func TestEstimateRecoversModels(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kind     string
		truth    Transform
		n, out   int
		minIn    int // inliers at least
		maxIn    int // and at most (outliers that land within the threshold by chance)
		maxError float64
	}{
		{"homography clean", Homography, perspective, 100, 0, 97, 100, 1.5},
		{"homography half outliers", Homography, perspective, 200, 100, 95, 104, 2},
		{"homography 80% outliers", Homography, perspective, 300, 240, 57, 66, 3},
		{"affine clean", Affine, affineT, 100, 0, 97, 100, 1.5},
		{"affine half outliers", Affine, affineT, 200, 100, 95, 104, 2},
		{"affine 80% outliers", Affine, affineT, 300, 240, 57, 66, 3},
		{"homography fits affine data", Homography, affineT, 200, 100, 95, 104, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := synthetic(tc.truth, tc.n, tc.out, 0.5, 1)
			fit := Estimate(src, dst, tc.kind, 3, Options{})
			if fit.Inliers < tc.minIn || fit.Inliers > tc.maxIn {
				t.Errorf("%d inliers, want %d..%d", fit.Inliers, tc.minIn, tc.maxIn)
			}
			wrong := 0
			for i, in := range fit.Inlier {
				if in && i >= tc.n-tc.out {
					wrong++
				}
			}
			if e := maxGridError(fit.T, tc.truth); e > tc.maxError {
				t.Errorf("transform %v is %.2f px off the truth, want <= %.1f", fit.T, e, tc.maxError)
			}
			t.Logf("%d inliers (%d of them outliers), %d iterations", fit.Inliers, wrong, fit.Iterations)
		})
	}
}

func TestEstimateRejectsWhatDoesNotFit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  string
		truth Transform
		n     int
		out   int
		maxIn int
	}{
		// A mirror image maps every triangle to one of the opposite
		// orientation: no sample is accepted, except a nearly flat
		// triangle that the noise turned over, which fits only itself.
		{"homography on mirror", Homography, mirror, 100, 0, 4},
		{"affine on mirror", Affine, mirror, 100, 0, 3},
		{"homography on noise", Homography, perspective, 150, 150, 10},
		{"affine on noise", Affine, perspective, 150, 150, 8},
		{"affine on strong perspective", Affine, Transform{1, 0, 0, 0, 1, 0, 0.0015, 0.001, 1}, 200, 0, 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := synthetic(tc.truth, tc.n, tc.out, 0.5, 2)
			fit := Estimate(src, dst, tc.kind, 3, Options{})
			if fit.Inliers > tc.maxIn {
				t.Errorf("%d inliers, want at most %d", fit.Inliers, tc.maxIn)
			}
			t.Logf("%d inliers, %d iterations", fit.Inliers, fit.Iterations)
		})
	}
}

func TestEstimateEdgeCases(t *testing.T) {
	src, dst := synthetic(perspective, 3, 0, 0, 3)
	if fit := Estimate(src, dst, Homography, 3, Options{}); fit.Inliers != 0 || fit.Inlier != nil {
		t.Errorf("3 points gave a homography: %+v", fit)
	}
	line := []Point{{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}}
	if fit := Estimate(line, line, Homography, 3, Options{}); fit.Inliers != 0 {
		t.Errorf("collinear points gave %d inliers", fit.Inliers)
	}
	src, dst = synthetic(perspective, 300, 200, 0.5, 4)
	a := Estimate(src, dst, Homography, 3, Options{Seed: 9})
	b := Estimate(src, dst, Homography, 3, Options{Seed: 9})
	if a.Inliers != b.Inliers || a.T != b.T || a.Iterations != b.Iterations {
		t.Errorf("same seed, different fits: %+v / %+v", a.T, b.T)
	}
	clean := Estimate(src[:100], dst[:100], Homography, 3, Options{})
	if clean.Iterations > 20 {
		t.Errorf("all inliers took %d iterations; early stopping should end after a few", clean.Iterations)
	}
}

func BenchmarkEstimate(b *testing.B) {
	for _, tc := range []struct {
		name string
		kind string
		out  int
	}{
		{"homography/inliers=50%", Homography, 100},
		{"homography/inliers=10%", Homography, 180},
		{"homography/inliers=0%", Homography, 200},
		{"affine/inliers=10%", Affine, 180},
		{"affine/inliers=0%", Affine, 200},
	} {
		src, dst := synthetic(perspective, 200, tc.out, 0.5, 5)
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				Estimate(src, dst, tc.kind, 3, Options{})
			}
		})
	}
}
