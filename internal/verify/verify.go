// Package verify decides whether two images show the same object instance
// from their XFeat local features (vision.LocalFeatures): descriptors are
// paired by mutual nearest neighbours, and the pairs that one geometric
// transform (homography or affine, fitted by RANSAC) explains are counted.
// Different products of the same category share few such inliers; the same
// garment in another photograph shares many.
//
//	q, _ := x.Extract(ctx, frame, garmentBox, 512)
//	r := verify.Match(q, productFeatures, verify.Options{})
//	if r.Inliers >= threshold { ... }
//
// Matching is deterministic (RANSAC draws from a seeded generator).
package verify

import (
	"context"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/vision"
)

// Options tune Match. Zero values take the defaults.
type Options struct {
	// MinCosine is the least descriptor cosine of a match (default 0.82,
	// as XFeat's own matcher).
	MinCosine float64
	// Model is Homography (default) or Affine.
	Model string
	// Threshold is the largest reprojection error of an inlier as a
	// fraction of the longer side of the second feature set's region
	// (default 0.01: 6.4 pixels of the 640-pixel model input).
	Threshold float64
	// MaxIterations caps the RANSAC samples (default 2000).
	MaxIterations int
	// Confidence stops RANSAC once a sample of inliers only has been
	// drawn with this probability (default 0.999).
	Confidence float64
	// Seed seeds the sampling (default 1).
	Seed uint64
	// MinGlueScore is the least LighterGlue confidence of a match in
	// MatchGlue (default 0.5).
	MinGlueScore float32
}

func (o Options) withDefaults() Options {
	if o.MinCosine == 0 {
		o.MinCosine = 0.82
	}
	if o.Model == "" {
		o.Model = Homography
	}
	if o.Threshold <= 0 {
		o.Threshold = 0.01
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = 2000
	}
	if o.Confidence <= 0 || o.Confidence >= 1 {
		o.Confidence = 0.999
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MinGlueScore <= 0 {
		o.MinGlueScore = 0.5
	}
	return o
}

// Result is the outcome of matching two feature sets.
type Result struct {
	// Matches is the number of mutual nearest neighbours above MinCosine
	// (in MatchGlue, of LighterGlue matches above MinGlueScore).
	Matches int
	// Inliers is the number of matches the best transform explains. A
	// minimal sample always fits, so any Matches >= 4 (3 for affine)
	// gives at least that many.
	Inliers int
	// InlierRatio is Inliers / Matches (0 without matches).
	InlierRatio float64
	// Model is the geometric model fitted, "" when there were too few
	// matches.
	Model string
	// Transform maps the first set's points to the second's.
	Transform Transform
	// Mirrored is set by MatchMirrored when the mirrored query won.
	Mirrored bool
}

// Match pairs a's and b's descriptors and counts the pairs that one
// transform from a's points to b's explains.
func Match(a, b *vision.LocalFeatures, opt Options) Result {
	opt = opt.withDefaults()
	pairs := MutualNN(a, b, opt.MinCosine)
	idx := make([][2]int, len(pairs))
	for i, p := range pairs {
		idx[i] = [2]int{p.A, p.B}
	}
	return verifyPairs(a, b, idx, opt)
}

// MatchGlue pairs a's and b's points with LighterGlue (matches above
// opt.MinGlueScore) instead of mutual nearest neighbours, then counts the
// pairs one transform explains, as Match does. LighterGlue leaves
// different products almost without matches, at about 45 ms per pair at
// 512 points and 190 ms at 1024 (two cores): use it on a short list, with
// vision.LocalFeatures.Top to cap the points.
func MatchGlue(ctx context.Context, g *vision.LighterGlue, a, b *vision.LocalFeatures, opt Options) (Result, error) {
	opt = opt.withDefaults()
	ms, err := g.Match(ctx, a, b, opt.MinGlueScore)
	if err != nil {
		return Result{}, fmt.Errorf("verify: %w", err)
	}
	idx := make([][2]int, len(ms))
	for i, m := range ms {
		idx[i] = [2]int{m.A, m.B}
	}
	return verifyPairs(a, b, idx, opt), nil
}

// verifyPairs fits opt.Model to the point pairs idx (a's index, b's).
func verifyPairs(a, b *vision.LocalFeatures, idx [][2]int, opt Options) Result {
	res := Result{Matches: len(idx)}
	if len(idx) < minimalSize(opt.Model) {
		return res
	}
	src := make([]Point, len(idx))
	dst := make([]Point, len(idx))
	for i, p := range idx {
		src[i] = Point{float64(a.Points[p[0]][0]), float64(a.Points[p[0]][1])}
		dst[i] = Point{float64(b.Points[p[1]][0]), float64(b.Points[p[1]][1])}
	}
	side := max(b.Region.Dx(), b.Region.Dy())
	if side <= 0 {
		side = max(b.W, b.H)
	}
	fit := Estimate(src, dst, opt.Model, opt.Threshold*float64(side), opt)
	if fit.Inliers == 0 {
		return res
	}
	res.Inliers = fit.Inliers
	res.InlierRatio = float64(fit.Inliers) / float64(len(idx))
	res.Model = opt.Model
	res.Transform = fit.T
	return res
}

// MatchMirrored matches both a and mirrored (the features of a's image
// flipped left to right, see vision.LocalFeatureExtractor.ExtractMirrored;
// nil skips it) against b and returns the result with more inliers.
func MatchMirrored(a, mirrored, b *vision.LocalFeatures, opt Options) Result {
	r := Match(a, b, opt)
	if mirrored == nil {
		return r
	}
	if m := Match(mirrored, b, opt); m.Inliers > r.Inliers {
		m.Mirrored = true
		return m
	}
	return r
}
