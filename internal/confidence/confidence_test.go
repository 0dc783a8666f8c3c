package confidence

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// synthetic draws candidates whose score and support are higher, on
// average, for right products, with a nuisance feature that says nothing.
func synthetic(n int, seed uint64) []Sample {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]Sample, n)
	for i := range out {
		right := r.Float64() < 0.4
		mu := 0.4
		if right {
			mu = 0.65
		}
		out[i] = Sample{
			Features: Features{
				Score:   mu + 0.08*r.NormFloat64(),
				Support: min(1, max(0, mu+0.2*r.NormFloat64())),
				Area:    r.Float64(),
			},
			Right: right,
			Group: "v" + strconv.Itoa(i%10),
		}
	}
	return out
}

var testInputs = []Input{{Score, +1}, {Support, +1}, {Area, 0}}

func TestFitSeparatesAndIsMonotone(t *testing.T) {
	train := synthetic(600, 1)
	m, err := Fit(train, FitOptions{Inputs: testInputs, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	// Held-out data: right candidates rank above wrong ones (AUC).
	test := synthetic(400, 2)
	var pos, neg []float64
	for _, s := range test {
		c := m.Confidence(s.Features)
		if c < 0 || c > 1 || math.IsNaN(c) {
			t.Fatalf("confidence %v outside 0..1", c)
		}
		if s.Right {
			pos = append(pos, c)
		} else {
			neg = append(neg, c)
		}
	}
	if auc := AUC(pos, neg); auc < 0.9 {
		t.Errorf("held-out AUC %.3f, want >= 0.9", auc)
	}
	// More evidence never lowers the confidence.
	base := Features{Score: 0.5, Support: 0.5, Area: 0.5}
	for _, name := range []string{Score, Support} {
		prev := -1.0
		for v := 0.0; v <= 1.0001; v += 0.05 {
			f := Features{}
			for k, x := range base {
				f[k] = x
			}
			f[name] = v
			c := m.Confidence(f)
			if c < prev-1e-12 {
				t.Fatalf("confidence falls from %.4f to %.4f as %s rises to %.2f", prev, c, name, v)
			}
			prev = c
		}
	}
	// The publish threshold meets the target on held-out data, roughly.
	var tp, fp int
	for _, s := range test {
		if m.Confidence(s.Features) >= m.PublishAt {
			if s.Right {
				tp++
			} else {
				fp++
			}
		}
	}
	if tp == 0 || float64(tp)/float64(tp+fp) < 0.9 {
		t.Errorf("held-out precision at publish %.3f: %d right, %d wrong", m.PublishAt, tp, fp)
	}
	if m.ReviewAt > m.PublishAt || m.ReviewAt < 0.1 {
		t.Errorf("review threshold %.3f, publish %.3f", m.ReviewAt, m.PublishAt)
	}
	if m.Fit.Samples != len(train) || m.Fit.Precision < 0.9 {
		t.Errorf("fit report %+v", m.Fit)
	}
}

func TestFitHoldsSigns(t *testing.T) {
	// Support is made anti-correlated with being right; held to +1 its
	// weight must stop at zero.
	train := synthetic(400, 3)
	for i := range train {
		train[i].Features[Support] = 1 - train[i].Features[Support]
	}
	m, err := Fit(train, FitOptions{Inputs: testInputs})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Features {
		if f.Name == Support && f.Weight < 0 {
			t.Errorf("support weight %v, held to >= 0", f.Weight)
		}
	}
}

func TestFitErrors(t *testing.T) {
	all := synthetic(50, 4)
	for i := range all {
		all[i].Right = true
	}
	for _, tc := range []struct {
		name    string
		samples []Sample
		opt     FitOptions
	}{
		{"no inputs", synthetic(50, 4), FitOptions{}},
		{"one outcome", all, FitOptions{Inputs: testInputs}},
		{"no samples", nil, FitOptions{Inputs: testInputs}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Fit(tc.samples, tc.opt); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestModelRoundTripAndDecide(t *testing.T) {
	m, err := Fit(synthetic(300, 5), FitOptions{Inputs: testInputs})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	f := Features{Score: 0.6, Support: 0.7}
	if a, b := m.Confidence(f), m2.Confidence(f); a != b {
		t.Errorf("confidence %v after a round trip, %v before", b, a)
	}
	m.PublishAt, m.ReviewAt = 0.8, 0.3
	for _, tc := range []struct {
		c, publish, review float64
		want               string
	}{
		{0.9, 0, 0, Publish},
		{0.8, 0, 0, Publish},
		{0.5, 0, 0, Review},
		{0.29, 0, 0, Drop},
		{0.5, 0.4, 0, Publish},
		{0.5, 0.9, 0.6, Drop},
	} {
		if got := m.Decide(tc.c, tc.publish, tc.review); got != tc.want {
			t.Errorf("Decide(%v, %v, %v) = %s, want %s", tc.c, tc.publish, tc.review, got, tc.want)
		}
	}
}

func TestParseRejectsBadModels(t *testing.T) {
	for _, tc := range []struct{ name, js string }{
		{"not json", `{`},
		{"no features", `{"features":[],"publish_at":0.9,"review_at":0.2}`},
		{"zero sd", `{"features":[{"name":"score","mean":0,"sd":0,"weight":1}],"publish_at":0.9,"review_at":0.2}`},
		{"repeated", `{"features":[{"name":"a","mean":0,"sd":1,"weight":1},{"name":"a","mean":0,"sd":1,"weight":1}],"publish_at":0.9,"review_at":0.2}`},
		{"iso not monotone", `{"features":[{"name":"a","mean":0,"sd":1,"weight":1}],"iso_x":[0,1],"iso_y":[0.9,0.1],"publish_at":0.9,"review_at":0.2}`},
		{"iso lengths", `{"features":[{"name":"a","mean":0,"sd":1,"weight":1}],"iso_x":[0,1],"iso_y":[0.1],"publish_at":0.9,"review_at":0.2}`},
		{"review above publish", `{"features":[{"name":"a","mean":0,"sd":1,"weight":1}],"publish_at":0.5,"review_at":0.7}`},
		{"publish zero", `{"features":[{"name":"a","mean":0,"sd":1,"weight":1}],"publish_at":0,"review_at":0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.js)); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestDefaultIsValid(t *testing.T) {
	m := Default()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if c := m.Confidence(Features{}); c < 0 || c > 1 {
		t.Errorf("neutral confidence %v", c)
	}
}

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		right, wrong []float64
		want         float64
	}{
		{[]float64{0.9, 0.8}, []float64{0.1, 0.2}, 1},
		{[]float64{0.1}, []float64{0.9}, 0},
		{[]float64{0.5}, []float64{0.5}, 0.5},
		{[]float64{0.5, 0.9}, []float64{0.5, 0.1}, 0.875},
		{nil, []float64{0.5}, 0},
	} {
		if got := AUC(tc.right, tc.wrong); got != tc.want {
			t.Errorf("AUC(%v, %v) = %v, want %v", tc.right, tc.wrong, got, tc.want)
		}
	}
}

// TestVerifiedInliers checks the features derived from the inlier counts:
// counts up to the noise floor are no evidence either way, and a model
// reads derived features from the raw ones a sample holds.
func TestVerifiedInliers(t *testing.T) {
	counts := func(first, next int) Features {
		a, b := math.Log1p(float64(first)), math.Log1p(float64(next))
		return Features{Inliers: a, InlierMargin: a - b}
	}
	for _, tc := range []struct {
		name                string
		f                   Features
		inliers, margin     float64
		hasInliers, hasMarg bool
	}{
		{"both at noise level", counts(0, 4), 0, 0, true, true},
		{"at the floor", counts(noiseInliers, 0), 0, 0, true, true},
		{"first beyond noise", counts(noiseInliers+9, 3), math.Log1p(9), math.Log1p(9), true, true},
		{"next beyond noise", counts(2, noiseInliers+4), 0, -math.Log1p(4), true, true},
		{"both beyond noise", counts(noiseInliers+20, noiseInliers+4), math.Log1p(20), math.Log1p(20) - math.Log1p(4), true, true},
		{"not verified", Features{Score: 0.5}, 0, 0, false, false},
		{"no margin", Features{Inliers: math.Log1p(30)}, math.Log1p(30 - noiseInliers), 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := tc.f.Value(VerifiedInliers)
			if ok != tc.hasInliers || math.Abs(v-tc.inliers) > 1e-9 {
				t.Errorf("verified inliers %v (%v), want %v (%v)", v, ok, tc.inliers, tc.hasInliers)
			}
			v, ok = tc.f.Value(VerifiedMargin)
			if ok != tc.hasMarg || math.Abs(v-tc.margin) > 1e-9 {
				t.Errorf("verified margin %v (%v), want %v (%v)", v, ok, tc.margin, tc.hasMarg)
			}
		})
	}
	// The model reads them: more inliers beyond the noise, more confidence;
	// within the noise, none changes it.
	m := &Model{Features: []Feature{{Name: VerifiedInliers, SD: 1, Weight: 1}, {Name: VerifiedMargin, SD: 1, Weight: 1}}}
	if a, b := m.Linear(counts(0, 4)), m.Linear(counts(3, 0)); a != b || a != 0 {
		t.Errorf("noise-level counts scored %v and %v, want 0 both", a, b)
	}
	if a, b := m.Linear(counts(40, 4)), m.Linear(counts(20, 4)); a <= b {
		t.Errorf("40 inliers scored %v, not above 20's %v", a, b)
	}
}
