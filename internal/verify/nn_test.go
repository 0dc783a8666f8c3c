package verify

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/vision"
)

// randomFeatures returns n random unit descriptors quantised as the
// extractor stores them, at random points of a 640x640 image.
func randomFeatures(n int, rng *rand.Rand) *vision.LocalFeatures {
	f := &vision.LocalFeatures{W: 640, H: 640, Region: image.Rect(0, 0, 640, 640)}
	v := make([]float64, dim)
	for i := 0; i < n; i++ {
		var s float64
		for k := range v {
			v[k] = rng.NormFloat64()
			s += v[k] * v[k]
		}
		for k := range v {
			f.Desc = append(f.Desc, int8(math.Round(v[k]/math.Sqrt(s)*vision.DescriptorScale)))
		}
		f.Points = append(f.Points, [2]float32{rng.Float32() * 640, rng.Float32() * 640})
		f.Scores = append(f.Scores, 1)
	}
	return f
}

// noisyPermutation returns f's descriptors in the order perm with Gaussian
// noise of sigma per component (before quantisation).
func noisyPermutation(f *vision.LocalFeatures, perm []int, sigma float64, rng *rand.Rand) *vision.LocalFeatures {
	g := &vision.LocalFeatures{W: f.W, H: f.H, Region: f.Region}
	v := make([]float64, dim)
	for _, i := range perm {
		var s float64
		for k, q := range f.Descriptor(i) {
			v[k] = float64(q)/vision.DescriptorScale + rng.NormFloat64()*sigma
			s += v[k] * v[k]
		}
		for k := range v {
			g.Desc = append(g.Desc, int8(math.Round(v[k]/math.Sqrt(s)*vision.DescriptorScale)))
		}
		g.Points = append(g.Points, f.Points[i])
		g.Scores = append(g.Scores, 1)
	}
	return g
}

func naiveDots(a, b *vision.LocalFeatures) []int32 {
	out := make([]int32, a.Len()*b.Len())
	for i := 0; i < a.Len(); i++ {
		for j := 0; j < b.Len(); j++ {
			var s int32
			for k, v := range a.Descriptor(i) {
				s += int32(v) * int32(b.Descriptor(j)[k])
			}
			out[i*b.Len()+j] = s
		}
	}
	return out
}

func TestPackedDotsAreExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range [][2]int{{1, 1}, {2, 5}, {3, 3}, {7, 4}, {130, 33}} {
		t.Run(fmt.Sprintf("%dx%d", n[0], n[1]), func(t *testing.T) {
			a, b := randomFeatures(n[0], rng), randomFeatures(n[1], rng)
			// Extreme values too: every component -127 or 127.
			a.Desc[0], b.Desc[0] = -127, -127
			want := naiveDots(a, b)
			bi := make([]int64, len(b.Desc))
			for i, v := range b.Desc {
				bi[i] = int64(v)
			}
			got := make([]float32, len(want))
			dotsPacked(got, a.Desc, bi, a.Len(), b.Len())
			for i := range want {
				if int32(got[i]) != want[i] {
					t.Fatalf("dot %d: %v, want %d", i, got[i], want[i])
				}
			}
		})
	}
	all := &vision.LocalFeatures{Desc: make([]int8, 3*dim), Points: make([][2]float32, 3)}
	for i := range all.Desc {
		all.Desc[i] = -127
	}
	bi := make([]int64, dim)
	for i := range bi {
		bi[i] = -127
	}
	got := make([]float32, 3)
	dotsPacked(got, all.Desc, bi, 3, 1)
	for _, v := range got {
		if v != 64*127*127 {
			t.Fatalf("extreme dot %v, want %d", v, 64*127*127)
		}
	}
}

func TestMutualNN(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	a := randomFeatures(300, rng)
	perm := rng.Perm(300)
	for _, tc := range []struct {
		name    string
		sigma   float64
		minCos  float64
		minFrac float64 // of the 300 true pairs found
	}{
		{"exact copy", 0, 0.82, 1},
		{"small noise", 0.05, 0.82, 0.99},
		{"noise below the cosine floor", 0.2, 0.82, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := noisyPermutation(a, perm, tc.sigma, rng)
			for _, acc := range []bool{true, false} {
				saved := accelerated
				accelerated = acc && saved
				pairs := MutualNN(a, b, tc.minCos)
				accelerated = saved
				right := 0
				for _, p := range pairs {
					if perm[p.B] != p.A {
						t.Fatalf("pair %+v: a's point %d is b's %d", p, perm[p.B], p.B)
					}
					if float64(p.Cos) < tc.minCos {
						t.Fatalf("pair %+v below the cosine floor", p)
					}
					right++
				}
				if float64(right) < tc.minFrac*300 || tc.minFrac == 0 && right > 0 {
					t.Errorf("simd=%v: %d true pairs, want >= %.0f", acc, right, tc.minFrac*300)
				}
			}
		})
	}
	if got := MutualNN(a, &vision.LocalFeatures{}, 0.5); got != nil {
		t.Errorf("empty set: %v", got)
	}
}

func BenchmarkMutualNN(b *testing.B) {
	for _, n := range []int{512, 1024} {
		rng := rand.New(rand.NewPCG(3, 3))
		x, y := randomFeatures(n, rng), randomFeatures(n, rng)
		for _, acc := range []bool{true, false} {
			if acc && !accelerated {
				continue
			}
			b.Run(fmt.Sprintf("%dx%d/simd=%v", n, n, acc), func(b *testing.B) {
				saved := accelerated
				accelerated = acc
				defer func() { accelerated = saved }()
				for b.Loop() {
					MutualNN(x, y, 0.82)
				}
			})
		}
	}
}
