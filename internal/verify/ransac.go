package verify

import (
	"math"
	"math/rand/v2"
)

// Geometric models of Estimate and Options.Model.
const (
	// Homography is a plane seen from two viewpoints (8 degrees of
	// freedom, fitted to 4 points).
	Homography = "homography"
	// Affine is rotation, scale, shear and translation (6 degrees of
	// freedom, fitted to 3 points).
	Affine = "affine"
)

// Point is an image position (x, y).
type Point = [2]float64

// Transform is a 3x3 matrix in row-major order that maps homogeneous
// points (x, y, 1) of the first image to the second.
type Transform [9]float64

// Apply maps (x, y); ok is false for points the transform sends to
// infinity or behind the viewer (a homography's w <= 0).
func (t Transform) Apply(x, y float64) (u, v float64, ok bool) {
	w := t[6]*x + t[7]*y + t[8]
	if w <= 1e-12 {
		return 0, 0, false
	}
	return (t[0]*x + t[1]*y + t[2]) / w, (t[3]*x + t[4]*y + t[5]) / w, true
}

// Fit is the outcome of Estimate.
type Fit struct {
	// T maps the source points to the destination points (zero when no
	// model was found).
	T Transform
	// Inlier marks the correspondences within the threshold of T.
	Inlier []bool
	// Inliers counts them.
	Inliers int
	// Iterations is how many samples were drawn.
	Iterations int
}

// minimalSize is the number of correspondences that determine a model.
func minimalSize(kind string) int {
	if kind == Affine {
		return 3
	}
	return 4
}

// Estimate fits a Homography or Affine model to the correspondences src[i]
// -> dst[i] with RANSAC: minimal samples (that keep the orientation, so
// mirror images do not fit, and are not collinear) are drawn from a
// generator seeded with o.Seed until, at confidence o.Confidence, a sample
// of inliers only has been drawn, or o.MaxIterations. Every new best model
// is refitted by least squares to its inliers while that gains inliers
// (local optimisation). thresh is the largest reprojection error of an
// inlier, in destination units. Coordinates are normalised (centroid at
// the origin, mean distance sqrt 2) before fitting.
func Estimate(src, dst []Point, kind string, thresh float64, o Options) Fit {
	o = o.withDefaults()
	n := min(len(src), len(dst))
	s := minimalSize(kind)
	if n < s || thresh <= 0 {
		return Fit{}
	}
	ns, ts := normalise(src[:n])
	nd, td := normalise(dst[:n])
	thr2 := thresh * td.scale * thresh * td.scale
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))

	var best Transform
	bestN, bestCost := -1, math.Inf(1)
	mask := make([]bool, n)
	cand := make([]bool, n)
	var idx [4]int
	need := o.MaxIterations
	it := 0
	for ; it < need; it++ {
		sampleDistinct(rng, n, idx[:s])
		if !goodSample(ns, nd, idx[:s]) {
			continue
		}
		h, ok := fitModel(kind, ns, nd, idx[:s])
		if !ok {
			continue
		}
		cnt, cost := score(h, ns, nd, thr2, cand)
		if cnt < bestN || cnt == bestN && cost >= bestCost {
			continue
		}
		// Local optimisation: refit to the inliers while that helps.
		for range 4 {
			in := inlierIndices(cand)
			h2, ok := fitModel(kind, ns, nd, in)
			if !ok {
				break
			}
			cnt2, cost2 := score(h2, ns, nd, thr2, mask)
			if cnt2 < cnt || cnt2 == cnt && cost2 >= cost {
				break
			}
			h, cnt, cost = h2, cnt2, cost2
			copy(cand, mask)
		}
		if cnt > bestN || cnt == bestN && cost < bestCost {
			best, bestN, bestCost = h, cnt, cost
			need = min(o.MaxIterations, iterationsFor(float64(cnt)/float64(n), s, o.Confidence))
		}
	}
	if bestN < s {
		return Fit{Iterations: it}
	}
	score(best, ns, nd, thr2, mask)
	return Fit{T: denormalise(best, ts, td), Inlier: mask, Inliers: bestN, Iterations: it}
}

// iterationsFor is the number of samples after which one of only inliers
// has been drawn with probability conf, given the inlier ratio w.
func iterationsFor(w float64, s int, conf float64) int {
	p := math.Pow(w, float64(s))
	if p >= 1 {
		return 1
	}
	if p <= 0 {
		return math.MaxInt32
	}
	k := math.Log(1-conf) / math.Log(1-p)
	if k > math.MaxInt32 {
		return math.MaxInt32
	}
	return max(1, int(math.Ceil(k)))
}

// sampleDistinct fills idx with distinct indices below n.
func sampleDistinct(rng *rand.Rand, n int, idx []int) {
	for i := range idx {
	again:
		v := rng.IntN(n)
		for _, u := range idx[:i] {
			if u == v {
				goto again
			}
		}
		idx[i] = v
	}
}

// minArea is the smallest triangle area (in normalised coordinates, where
// points lie about sqrt 2 from their centroid) of a usable sample.
const minArea = 1e-3

func area(a, b, c Point) float64 {
	return ((b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])) / 2
}

// goodSample rejects samples with (nearly) collinear points on either side
// and samples whose triangles change orientation, which only a mirror
// image (or a degenerate homography) produces.
func goodSample(src, dst []Point, idx []int) bool {
	for i := 0; i < len(idx); i++ {
		for j := i + 1; j < len(idx); j++ {
			for k := j + 1; k < len(idx); k++ {
				as := area(src[idx[i]], src[idx[j]], src[idx[k]])
				ad := area(dst[idx[i]], dst[idx[j]], dst[idx[k]])
				if math.Abs(as) < minArea || math.Abs(ad) < minArea || (as > 0) != (ad > 0) {
					return false
				}
			}
		}
	}
	return true
}

// score counts the correspondences within sqrt(thr2) of t (marking them in
// mask) and returns the truncated squared error (MSAC cost).
func score(t Transform, src, dst []Point, thr2 float64, mask []bool) (int, float64) {
	cnt, cost := 0, 0.0
	for i, p := range src {
		u, v, ok := t.Apply(p[0], p[1])
		e := thr2
		if ok {
			du, dv := u-dst[i][0], v-dst[i][1]
			e = du*du + dv*dv
		}
		if ok && e < thr2 {
			mask[i] = true
			cnt++
			cost += e
		} else {
			mask[i] = false
			cost += thr2
		}
	}
	return cnt, cost
}

func inlierIndices(mask []bool) []int {
	var out []int
	for i, m := range mask {
		if m {
			out = append(out, i)
		}
	}
	return out
}

// fitModel fits kind to the correspondences idx: exactly for a minimal
// sample, by least squares (algebraic error, h33 = 1) otherwise.
func fitModel(kind string, src, dst []Point, idx []int) (Transform, bool) {
	if kind == Affine {
		return fitAffine(src, dst, idx)
	}
	return fitHomography(src, dst, idx)
}

// fitHomography solves the normal equations of the DLT with h33 = 1 (the
// plain 8x8 system for 4 points).
func fitHomography(src, dst []Point, idx []int) (Transform, bool) {
	if len(idx) < 4 {
		return Transform{}, false
	}
	var m [8][9]float64 // augmented normal equations
	add := func(row [8]float64, rhs float64) {
		for r := 0; r < 8; r++ {
			if row[r] == 0 {
				continue
			}
			for c := 0; c < 8; c++ {
				m[r][c] += row[r] * row[c]
			}
			m[r][8] += row[r] * rhs
		}
	}
	for _, i := range idx {
		x, y := src[i][0], src[i][1]
		u, v := dst[i][0], dst[i][1]
		add([8]float64{x, y, 1, 0, 0, 0, -u * x, -u * y}, u)
		add([8]float64{0, 0, 0, x, y, 1, -v * x, -v * y}, v)
	}
	rows := make([][]float64, 8)
	for r := range rows {
		rows[r] = m[r][:]
	}
	h, ok := solve(rows)
	if !ok {
		return Transform{}, false
	}
	return Transform{h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1}, true
}

// fitAffine solves the two 3x3 normal-equation systems of an affine map.
func fitAffine(src, dst []Point, idx []int) (Transform, bool) {
	if len(idx) < 3 {
		return Transform{}, false
	}
	var ata [3][3]float64
	var atu, atv [3]float64
	for _, i := range idx {
		r := [3]float64{src[i][0], src[i][1], 1}
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				ata[a][b] += r[a] * r[b]
			}
			atu[a] += r[a] * dst[i][0]
			atv[a] += r[a] * dst[i][1]
		}
	}
	var t Transform
	for k, rhs := range [2][3]float64{atu, atv} {
		rows := make([][]float64, 3)
		for a := range rows {
			rows[a] = []float64{ata[a][0], ata[a][1], ata[a][2], rhs[a]}
		}
		x, ok := solve(rows)
		if !ok {
			return Transform{}, false
		}
		copy(t[3*k:3*k+3], x)
	}
	t[8] = 1
	return t, true
}

// solve solves the augmented n x (n+1) system in place by Gaussian
// elimination with partial pivoting.
func solve(m [][]float64) ([]float64, bool) {
	n := len(m)
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		if math.Abs(m[p][c]) < 1e-12 {
			return nil, false
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			if f == 0 {
				continue
			}
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for k := r + 1; k < n; k++ {
			s -= m[r][k] * x[k]
		}
		x[r] = s / m[r][r]
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}
	}
	return x, true
}

// similarity is the normalising map p -> (p - c) * scale.
type similarity struct {
	cx, cy, scale float64
}

// normalise moves the points' centroid to the origin and scales their
// mean distance from it to sqrt 2.
func normalise(pts []Point) ([]Point, similarity) {
	var cx, cy float64
	for _, p := range pts {
		cx += p[0]
		cy += p[1]
	}
	cx /= float64(len(pts))
	cy /= float64(len(pts))
	var d float64
	for _, p := range pts {
		d += math.Hypot(p[0]-cx, p[1]-cy)
	}
	d /= float64(len(pts))
	s := 1.0
	if d > 0 {
		s = math.Sqrt2 / d
	}
	out := make([]Point, len(pts))
	for i, p := range pts {
		out[i] = Point{(p[0] - cx) * s, (p[1] - cy) * s}
	}
	return out, similarity{cx, cy, s}
}

// denormalise turns h, fitted between normalised coordinates, into the
// transform between the original ones: Td^-1 * h * Ts, scaled so t[8] = 1
// when that keeps the sign of w.
func denormalise(h Transform, ts, td similarity) Transform {
	S := Transform{ts.scale, 0, -ts.scale * ts.cx, 0, ts.scale, -ts.scale * ts.cy, 0, 0, 1}
	Dinv := Transform{1 / td.scale, 0, td.cx, 0, 1 / td.scale, td.cy, 0, 0, 1}
	t := mul(Dinv, mul(h, S))
	if t[8] > 0 {
		for i := range t {
			t[i] /= t[8]
		}
	}
	return t
}

func mul(a, b Transform) Transform {
	var c Transform
	for r := 0; r < 3; r++ {
		for k := 0; k < 3; k++ {
			for j := 0; j < 3; j++ {
				c[3*r+j] += a[3*r+k] * b[3*k+j]
			}
		}
	}
	return c
}
