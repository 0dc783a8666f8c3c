package confidence

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Sample is one labelled candidate: its features and whether its product
// was right. Group (a video, say) keeps related samples in one
// cross-validation fold.
type Sample struct {
	Features Features
	Right    bool
	Group    string
}

// Input names a feature to fit and the sign its weight is held to: +1 for
// evidence for a match (the weight stays >= 0), -1 for evidence against,
// 0 for free.
type Input struct {
	Name string
	Sign int
}

// FitOptions tunes Fit. Zero fields take defaults.
type FitOptions struct {
	Inputs []Input
	// TargetPrecision chooses PublishAt: the lowest confidence at which the
	// published candidates (held-out predictions) reach it. Default 0.95.
	TargetPrecision float64
	// ReviewRecall chooses ReviewAt: the confidence above which this share
	// of the right candidates lies. Default 0.98; ReviewAt is at least
	// MinReviewAt (default 0.1).
	ReviewRecall float64
	MinReviewAt  float64
	// L2 is the ridge penalty on the standardised weights. Default 0.01.
	L2 float64
	// Folds for cross-validation by group; fewer than 2 groups fit once.
	// Default 5.
	Folds   int
	Version string
	Note    string
}

func (o FitOptions) withDefaults() FitOptions {
	if o.TargetPrecision <= 0 {
		o.TargetPrecision = 0.95
	}
	if o.ReviewRecall <= 0 {
		o.ReviewRecall = 0.98
	}
	if o.MinReviewAt <= 0 {
		o.MinReviewAt = 0.1
	}
	if o.L2 <= 0 {
		o.L2 = 0.01
	}
	if o.Folds <= 0 {
		o.Folds = 5
	}
	return o
}

// Fit fits a model to labelled samples. The thresholds are chosen on
// held-out predictions (cross-validated by group) so they are not flattered
// by the fit itself; the returned model is then fitted on all samples.
func Fit(samples []Sample, opt FitOptions) (*Model, error) {
	opt = opt.withDefaults()
	if len(opt.Inputs) == 0 {
		return nil, errors.New("confidence: fit: no inputs")
	}
	pos := 0
	for _, s := range samples {
		if s.Right {
			pos++
		}
	}
	if pos == 0 || pos == len(samples) {
		return nil, fmt.Errorf("confidence: fit: need right and wrong samples, have %d right of %d", pos, len(samples))
	}
	// Held-out predictions.
	groups := map[string]int{}
	var names []string
	for _, s := range samples {
		if _, ok := groups[s.Group]; !ok {
			groups[s.Group] = 0
			names = append(names, s.Group)
		}
	}
	sort.Strings(names)
	for i, g := range names {
		groups[g] = i % opt.Folds
	}
	held := make([]float64, len(samples))
	folds := min(opt.Folds, len(names))
	if folds >= 2 {
		for k := range folds {
			var train []Sample
			var at []int
			for i, s := range samples {
				if groups[s.Group] == k {
					at = append(at, i)
				} else {
					train = append(train, s)
				}
			}
			m, err := fitOnce(train, opt)
			if err != nil {
				// A fold without both outcomes: fall back to the full fit
				// for its samples below.
				for _, i := range at {
					held[i] = math.NaN()
				}
				continue
			}
			for _, i := range at {
				held[i] = m.Confidence(samples[i].Features)
			}
		}
	}
	m, err := fitOnce(samples, opt)
	if err != nil {
		return nil, err
	}
	for i := range held {
		if folds < 2 || math.IsNaN(held[i]) {
			held[i] = m.Confidence(samples[i].Features)
		}
	}
	m.Version, m.Note = opt.Version, opt.Note
	m.PublishAt, m.ReviewAt = thresholds(samples, held, opt)
	m.Fit = report(samples, held, m.PublishAt, opt.TargetPrecision)
	return m, m.Validate()
}

// fitOnce fits the logistic weights and the isotonic map.
func fitOnce(samples []Sample, opt FitOptions) (*Model, error) {
	pos := 0
	for _, s := range samples {
		if s.Right {
			pos++
		}
	}
	if pos == 0 || pos == len(samples) {
		return nil, errors.New("confidence: fit: one outcome only")
	}
	d := len(opt.Inputs)
	m := &Model{Features: make([]Feature, d)}
	x := make([][]float64, len(samples))
	for j, in := range opt.Inputs {
		var sum, sum2 float64
		n := 0
		for _, s := range samples {
			if v, ok := s.Features.Value(in.Name); ok && finite(v) {
				sum += v
				sum2 += v * v
				n++
			}
		}
		mean, sd := 0.0, 1.0
		if n > 0 {
			mean = sum / float64(n)
			if v := sum2/float64(n) - mean*mean; v > 1e-12 {
				sd = math.Sqrt(v)
			}
		}
		m.Features[j] = Feature{Name: in.Name, Mean: mean, SD: sd, Sign: in.Sign}
	}
	for i, s := range samples {
		x[i] = make([]float64, d)
		for j, f := range m.Features {
			if v, ok := s.Features.Value(f.Name); ok && finite(v) {
				x[i][j] = (v - f.Mean) / f.SD
			}
		}
	}
	// Projected gradient descent with Nesterov momentum on the mean
	// log-loss plus the ridge penalty; the features are standardised, so a
	// fixed step converges.
	w := make([]float64, d+1) // last: bias
	v := make([]float64, d+1)
	grad := make([]float64, d+1)
	const step, iters = 0.5, 3000
	n := float64(len(samples))
	for it := 0; it < iters; it++ {
		look := make([]float64, d+1)
		for j := range w {
			look[j] = w[j] + 0.9*v[j]
		}
		clear(grad)
		for i, s := range samples {
			z := look[d]
			for j := 0; j < d; j++ {
				z += look[j] * x[i][j]
			}
			p := sigmoid(z)
			y := 0.0
			if s.Right {
				y = 1
			}
			e := (p - y) / n
			for j := 0; j < d; j++ {
				grad[j] += e * x[i][j]
			}
			grad[d] += e
		}
		for j := 0; j < d; j++ {
			grad[j] += opt.L2 * look[j]
		}
		for j := range w {
			v[j] = 0.9*v[j] - step*grad[j]
			w[j] += v[j]
			if j < d {
				switch sign := opt.Inputs[j].Sign; {
				case sign > 0 && w[j] < 0, sign < 0 && w[j] > 0:
					w[j], v[j] = 0, 0
				}
			}
		}
	}
	for j := range m.Features {
		m.Features[j].Weight = w[j]
	}
	m.Bias = w[d]
	// Isotonic regression of the outcome on the linear score.
	type pt struct {
		x float64
		y bool
	}
	pts := make([]pt, len(samples))
	for i, s := range samples {
		pts[i] = pt{m.Linear(s.Features), s.Right}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].x < pts[j].x })
	type block struct{ sumX, pos, n float64 }
	var bs []block
	for _, p := range pts {
		b := block{sumX: p.x, n: 1}
		if p.y {
			b.pos = 1
		}
		bs = append(bs, b)
		for len(bs) > 1 {
			a, c := bs[len(bs)-2], bs[len(bs)-1]
			if a.pos/a.n < c.pos/c.n {
				break
			}
			bs = append(bs[:len(bs)-2], block{a.sumX + c.sumX, a.pos + c.pos, a.n + c.n})
		}
	}
	// Block means, shrunk towards a half by one sample so a small block at
	// either end does not claim certainty, then made monotone again.
	for _, b := range bs {
		y := (b.pos + 0.5) / (b.n + 1)
		if k := len(m.IsoY); k > 0 && y < m.IsoY[k-1] {
			y = m.IsoY[k-1]
		}
		m.IsoX = append(m.IsoX, b.sumX/b.n)
		m.IsoY = append(m.IsoY, y)
	}
	return m, nil
}

// thresholds chooses PublishAt and ReviewAt from held-out confidences.
func thresholds(samples []Sample, held []float64, opt FitOptions) (publish, review float64) {
	idx := make([]int, len(samples))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return held[idx[a]] > held[idx[b]] })
	// Walking down the ranking, the lowest confidence at which the
	// published set still meets the precision target.
	publish = 1
	tp := 0
	for k, i := range idx {
		if samples[i].Right {
			tp++
		}
		// Only at the end of a run of equal confidences.
		if k+1 < len(idx) && held[idx[k+1]] == held[i] {
			continue
		}
		if float64(tp)/float64(k+1) >= opt.TargetPrecision {
			publish = held[i]
		}
	}
	publish = max(publish, 0.5)
	// The confidence above which ReviewRecall of the right samples lie.
	var right []float64
	for i, s := range samples {
		if s.Right {
			right = append(right, held[i])
		}
	}
	sort.Float64s(right)
	review = right[int(math.Floor((1-opt.ReviewRecall)*float64(len(right))))]
	review = min(max(review, opt.MinReviewAt), publish)
	return publish, review
}

func report(samples []Sample, held []float64, publish, target float64) FitReport {
	r := FitReport{Samples: len(samples), TargetPrecision: target}
	var tp, fp int
	var ll float64
	for i, s := range samples {
		p := min(max(held[i], 1e-6), 1-1e-6)
		if s.Right {
			r.Positives++
			ll -= math.Log(p)
		} else {
			ll -= math.Log(1 - p)
		}
		if held[i] >= publish {
			if s.Right {
				tp++
			} else {
				fp++
			}
		}
	}
	r.LogLoss = ll / float64(len(samples))
	if tp+fp > 0 {
		r.Precision = float64(tp) / float64(tp+fp)
	}
	if r.Positives > 0 {
		r.Recall = float64(tp) / float64(r.Positives)
	}
	return r
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// AUC is the probability that a right sample's confidence is above a wrong
// one's (ties count half): how well confidences order right above wrong,
// whatever the thresholds. It is 0 without samples of both kinds.
func AUC(right, wrong []float64) float64 {
	if len(right) == 0 || len(wrong) == 0 {
		return 0
	}
	w := append([]float64(nil), wrong...)
	sort.Float64s(w)
	var wins float64
	for _, p := range right {
		lo := sort.SearchFloat64s(w, p)                                 // wrong ones below p
		hi := sort.Search(len(w), func(i int) bool { return w[i] > p }) // ... and equal to p
		wins += float64(lo) + 0.5*float64(hi-lo)
	}
	return wins / float64(len(right)*len(wrong))
}
