package project

import (
	"math"
	"math/rand/v2"
	"testing"
)

// synthetic makes groups of vectors: a product is a random direction, and
// every view adds a shared nuisance (one strong direction, like light,
// with a random weight) and small noise.
func synthetic(rng *rand.Rand, products, views, dim int) (centres [][]float32, groups [][][]float32) {
	nuisance := randVec(rng, dim)
	for range products {
		c := randVec(rng, dim)
		centres = append(centres, c)
		var g [][]float32
		for range views {
			g = append(g, view(rng, c, nuisance))
		}
		groups = append(groups, g)
	}
	return centres, groups
}

func view(rng *rand.Rand, c, nuisance []float32) []float32 {
	w := float32(3 * rng.NormFloat64())
	v := make([]float32, len(c))
	for i := range v {
		v[i] = c[i] + w*nuisance[i] + float32(0.3*rng.NormFloat64())
	}
	return v
}

func randVec(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func cos(a, b []float32) float64 {
	var s, na, nb float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return s / math.Sqrt(na*nb)
}

// rank1 is the share of queries whose nearest gallery vector (after f) is
// their own product's.
func rank1(gallery [][]float32, queries [][]float32, owner []int, f func([]float32) []float32) float64 {
	g := make([][]float32, len(gallery))
	for i, v := range gallery {
		g[i] = f(v)
	}
	hit := 0
	for qi, q := range queries {
		fq := f(q)
		best, bi := -2.0, -1
		for i, v := range g {
			if c := cos(fq, v); c > best {
				best, bi = c, i
			}
		}
		if bi == owner[qi] {
			hit++
		}
	}
	return float64(hit) / float64(len(queries))
}

func TestFitRanksHeldOutViewsBetter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	_, groups := synthetic(rng, 60, 6, 48)
	// Held out: the last view of each product is a query; the first is
	// the gallery (the catalog photo).
	var gallery, queries [][]float32
	var owner []int
	train := make([][][]float32, len(groups))
	for i, g := range groups {
		gallery = append(gallery, g[0])
		queries = append(queries, g[len(g)-1])
		owner = append(owner, i)
		train[i] = g[:len(g)-1]
	}
	p, err := Fit(train, Config{Dim: 24})
	if err != nil {
		t.Fatal(err)
	}
	if p.In != 48 || p.Out != 24 {
		t.Fatalf("projection %d -> %d, want 48 -> 24", p.In, p.Out)
	}
	raw := rank1(gallery, queries, owner, func(v []float32) []float32 { return v })
	proj := rank1(gallery, queries, owner, p.Apply)
	t.Logf("held-out rank-1: raw %.2f, projected %.2f", raw, proj)
	if proj <= raw || proj < 0.9 {
		t.Errorf("projected rank-1 %.2f, raw %.2f: the projection should remove the nuisance", proj, raw)
	}
	// ApplyAll agrees with Apply.
	all := p.ApplyAll(queries)
	for i, q := range queries {
		for k, x := range p.Apply(q) {
			if math.Abs(float64(x-all[i][k])) > 1e-4 {
				t.Fatalf("ApplyAll[%d][%d] = %v, Apply %v", i, k, all[i][k], x)
			}
		}
	}
	// Unit length out.
	var n float64
	for _, x := range p.Apply(queries[0]) {
		n += float64(x) * float64(x)
	}
	if math.Abs(n-1) > 1e-4 {
		t.Errorf("|Apply(v)|^2 = %v, want 1", n)
	}
}

func TestFitDeterministicAndBounded(t *testing.T) {
	_, groups := synthetic(rand.New(rand.NewPCG(5, 6)), 10, 3, 32)
	a, err := Fit(groups, Config{Dim: 100})
	if err != nil {
		t.Fatal(err)
	}
	if a.Out != 9 {
		t.Errorf("Out = %d, want 9 (groups less one)", a.Out)
	}
	b, _ := Fit(groups, Config{Dim: 100})
	for i := range a.W {
		if a.W[i] != b.W[i] {
			t.Fatal("two fits of the same data differ")
		}
	}
	// A fit capped to fewer vectors than it has still works.
	if _, err := Fit(groups, Config{Dim: 4, MaxVectors: 12}); err != nil {
		t.Errorf("capped fit: %v", err)
	}
}

func TestFitErrors(t *testing.T) {
	v := func(xs ...float32) []float32 { return xs }
	tests := []struct {
		name   string
		groups [][][]float32
	}{
		{"nothing", nil},
		{"one group", [][][]float32{{v(1, 0), v(0, 1)}}},
		{"no group with two views", [][][]float32{{v(1, 0)}, {v(0, 1)}, {v(1, 1)}}},
		{"mixed dimensions", [][][]float32{{v(1, 0), v(0, 1)}, {v(1, 0, 0), v(0, 1, 0)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Fit(tc.groups, Config{}); err == nil {
				t.Error("Fit succeeded")
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	_, groups := synthetic(rand.New(rand.NewPCG(1, 1)), 12, 3, 16)
	p, err := Fit(groups, Config{Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q Projection
	if err := q.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	x := groups[0][0]
	a, b := p.Apply(x), q.Apply(x)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("decoded projection differs at %d", i)
		}
	}
	for _, bad := range [][]byte{nil, []byte("nope"), data[:len(data)-4], append([]byte("VTPROJ1\n"), 0, 0, 0, 0, 1, 0, 0, 0)} {
		if err := new(Projection).UnmarshalBinary(bad); err == nil {
			t.Errorf("decoded %d bad bytes", len(bad))
		}
	}
}

// BenchmarkFit fits a projection of 1280-dimensional vectors (the
// MobileNetV2 embedder's) to 512 dimensions from 2,000 products with 11
// vectors each: the sample video.CatalogSource reads of a catalog of
// 10,000 products or more (5 catalog vectors and 6 synthetic views per
// product image).
func BenchmarkFit(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	_, groups := synthetic(rng, 2000, 11, 1280)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Fit(groups, Config{Dim: 512}); err != nil {
			b.Fatal(err)
		}
	}
}
