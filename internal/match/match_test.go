package match

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/vecindex"
)

// indexSearcher adapts a real vecindex.Index to Searcher.
type indexSearcher struct{ ix *vecindex.Index }

func (s indexSearcher) Search(_ context.Context, v []float32, k int) ([]Candidate, error) {
	hits, err := s.ix.Search(v, k, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, len(hits))
	for i, h := range hits {
		out[i] = Candidate{ProductID: h.Product, Score: float64(h.Score)}
	}
	return out, nil
}

// infoMap is a Products backed by a map, as the catalog's table would be.
type infoMap map[string]ProductInfo

func (m infoMap) ProductInfo(_ context.Context, ids []string) (map[string]ProductInfo, error) {
	out := map[string]ProductInfo{}
	for _, id := range ids {
		if pi, ok := m[id]; ok {
			out[id] = pi
		}
	}
	return out, nil
}

const dim = 64

// cnnLike returns a non-negative unit vector with a shared component, so
// unrelated vectors score around 0.5 as MobileNet features do.
func cnnLike(rng *rand.Rand) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = 0.6 + float32(rng.ExpFloat64())*0.6
	}
	return unit(v)
}

func unit(v []float32) []float32 {
	var s float32
	for _, x := range v {
		s += x * x
	}
	n := float32(1) / sqrt32(s)
	for i := range v {
		v[i] *= n
	}
	return v
}

func sqrt32(x float32) float32 {
	z := x
	for range 30 {
		z = (z + x/z) / 2
	}
	return z
}

// noisy mixes v with a fresh unrelated vector: mix 0 returns v.
func noisy(rng *rand.Rand, v []float32, mix float32) []float32 {
	o := cnnLike(rng)
	out := make([]float32, dim)
	for i := range v {
		out[i] = (1-mix)*v[i] + mix*o[i]
	}
	return unit(out)
}

type fixture struct {
	ix   *vecindex.Index
	vecs map[string][]float32
	rng  *rand.Rand
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	ix, err := vecindex.New(vecindex.Config{Dim: dim, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ix: ix, vecs: map[string][]float32{}, rng: rand.New(rand.NewPCG(7, 8))}
	for i := range n {
		id := fmt.Sprintf("p%03d", i)
		f.vecs[id] = cnnLike(f.rng)
		if err := ix.Upsert(id, f.vecs[id], vecindex.Attrs{}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// secondFixture indexes fresh vectors (drawn from a generator seeded with
// seed1, seed2) for every product of f: a second model's view of one
// catalog.
func secondFixture(t *testing.T, f *fixture, seed1, seed2 uint64) *fixture {
	t.Helper()
	g := newFixture(t, 0)
	g.rng = rand.New(rand.NewPCG(seed1, seed2))
	for id := range f.vecs {
		g.vecs[id] = cnnLike(g.rng)
		if err := g.ix.Upsert(id, g.vecs[id], vecindex.Attrs{}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func TestMatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 300)
	// p_dup_bag and p_dup_shoe share one image embedding; only the
	// category (and colour) can tell them apart.
	dup := cnnLike(f.rng)
	for _, id := range []string{"dup_bag", "dup_shoe"} {
		f.vecs[id] = dup
		if err := f.ix.Upsert(id, dup, vecindex.Attrs{}); err != nil {
			t.Fatal(err)
		}
	}
	red := make([]float32, ColourDim)
	red[0] = 1
	blue := make([]float32, ColourDim)
	blue[(8*satBins+1)*valBins+2] = 1
	info := infoMap{
		"dup_bag":  {Category: "Handbags", Colour: blue},
		"dup_shoe": {Category: "Casual Shoes", Colour: red},
	}
	tests := []struct {
		name      string
		q         func() Query
		products  Products
		weights   Weights
		wantFirst string // "" means no match
	}{
		{"one clean crop", func() Query { return Query{Crops: [][]float32{noisy(f.rng, f.vecs["p017"], 0.2)}} }, nil, Fused, "p017"},
		{"noisy crops aggregate", func() Query {
			return Query{Crops: [][]float32{
				noisy(f.rng, f.vecs["p123"], 0.45), noisy(f.rng, f.vecs["p123"], 0.45), noisy(f.rng, f.vecs["p123"], 0.45),
				cnnLike(f.rng), // one useless crop (occluded, blurred)
			}}
		}, nil, EmbeddingOnly, "p123"},
		{"unrelated item has no match", func() Query {
			return Query{Crops: [][]float32{cnnLike(f.rng), cnnLike(f.rng)}}
		}, nil, Fused, ""},
		{"category breaks a tie", func() Query {
			return Query{Label: "handbag", Crops: [][]float32{noisy(f.rng, dup, 0.1)}}
		}, info, Weights{Embedding: 1, Category: 0.2}, "dup_bag"},
		{"category breaks a tie the other way", func() Query {
			return Query{Label: "running shoe", Crops: [][]float32{noisy(f.rng, dup, 0.1)}}
		}, info, Weights{Embedding: 1, Category: 0.2}, "dup_shoe"},
		{"colour breaks a tie", func() Query {
			return Query{Crops: [][]float32{noisy(f.rng, dup, 0.1)}, Colour: [][]float32{red}}
		}, info, Weights{Embedding: 1, Colour: 0.2}, "dup_shoe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.weights
			m, err := New(Config{Weights: &w}, indexSearcher{f.ix}, tc.products)
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Match(ctx, tc.q())
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantFirst == "" {
				if !res.NoMatch || len(res.Matches) != 0 {
					t.Fatalf("want no match, got %+v (best %+v)", res.Matches, res.Best)
				}
				return
			}
			if res.NoMatch {
				t.Fatalf("no match; best %+v", res.Best)
			}
			if res.Matches[0].ProductID != tc.wantFirst {
				t.Fatalf("first = %+v, want %s (all %+v)", res.Matches[0], tc.wantFirst, res.Matches)
			}
			if len(res.Matches) != 5 {
				t.Fatalf("got %d matches, want TopN 5", len(res.Matches))
			}
			for i, s := range res.Matches {
				if s.Score < 0 || s.Score > 1 || (i > 0 && s.Score > res.Matches[i-1].Score) {
					t.Fatalf("scores not ranked in 0..1: %+v", res.Matches)
				}
			}
		})
	}
}

type failing struct{}

func (failing) Search(context.Context, []float32, int) ([]Candidate, error) {
	return nil, errors.New("index closed")
}

func TestMatchErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Fatal("New accepted a nil searcher")
	}
	f := newFixture(t, 10)
	m, _ := New(Config{}, indexSearcher{f.ix}, nil)
	if _, err := m.Match(ctx, Query{}); err == nil || !strings.Contains(err.Error(), "no crop") {
		t.Fatalf("empty query: err = %v", err)
	}
	// A vector of the wrong size is the index's error, wrapped.
	if _, err := m.Match(ctx, Query{Crops: [][]float32{{1, 2, 3}}}); err == nil || !strings.Contains(err.Error(), "match: search crop 0") {
		t.Fatalf("bad dim: err = %v", err)
	}
	m, _ = New(Config{}, failing{}, nil)
	if _, err := m.Match(ctx, Query{Crops: [][]float32{make([]float32, dim)}}); err == nil || !strings.Contains(err.Error(), "index closed") {
		t.Fatalf("searcher error: err = %v", err)
	}
	// An empty catalog gives no match rather than an error.
	empty, _ := vecindex.New(vecindex.Config{Dim: dim})
	m, _ = New(Config{}, indexSearcher{empty}, nil)
	res, err := m.Match(ctx, Query{Crops: [][]float32{cnnLike(f.rng)}})
	if err != nil || !res.NoMatch {
		t.Fatalf("empty catalog: %+v, %v", res, err)
	}
}

func TestCategoryCompatibility(t *testing.T) {
	tests := []struct {
		label, category string
		want            float64
	}{
		{"handbag", "Handbags", 1},
		{"handbag", "Clutches", 1},
		{"backpack", "Backpacks", 1},
		{"tie", "Ties", 1},
		{"sunglasses", "Sunglasses", 1},
		{"running shoe", "Casual Shoes", 1},
		{"jersey", "Tshirts", 1},
		{"jean", "Jeans", 1},
		{"person", "Dresses", 0.75},
		{"person", "Tops", 0.75},
		{"handbag", "Tshirts", 0},
		{"tie", "Heels", 0},
		{"cup", "Handbags", 0.5},
		{"handbag", "Something Else", 0.5},
		// Through the garment taxonomy: finer classes than the old groups
		// (jackets are not tops, skirts not trousers, hats not belts), with
		// partial credit between related ones.
		{"upper", "Jackets", 0.75},
		{"jean", "Skirts", 0},
		{"lower", "Skirts", 0.75},
		{"cowboy hat", "Belts", 0},
		{"suit", "Co-Ord", 1},
		{"person", "Co-Ord", 0.75},
		{"upper", "Co-Ord", 0.75},
		{"dress", "Co-Ord", 0.5},
		{"shoes", "Casual Shoes", 1},
		{"long sleeve outwear", "Jacket", 1},
	}
	for _, tc := range tests {
		if got := CategoryCompatibility(tc.label, tc.category); got != tc.want {
			t.Errorf("CategoryCompatibility(%q, %q) = %v, want %v", tc.label, tc.category, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, label, category string }{
		{"jean", "trousers", "trousers"},
		{"Co-Ord", "co-ord", "co-ord"},
		{"cup", "", ""},
		{"Handbags", "bag", "bag"},
		{"person", "apparel", ""},
	} {
		if got := LabelGroup(tc.in); got != tc.label {
			t.Errorf("LabelGroup(%q) = %q, want %q", tc.in, got, tc.label)
		}
		if got := CategoryGroup(tc.in); got != tc.category {
			t.Errorf("CategoryGroup(%q) = %q, want %q", tc.in, got, tc.category)
		}
	}
}

func TestMinCosine(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 200)
	q := Query{Crops: [][]float32{noisy(f.rng, f.vecs["p042"], 0.3)}}
	for _, tc := range []struct {
		minCos  float64
		noMatch bool
	}{{-1, false}, {0.5, false}, {0.999, true}} {
		m, err := New(Config{MinCosine: tc.minCos}, indexSearcher{f.ix}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Match(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if res.NoMatch != tc.noMatch || res.Best == nil || res.Best.ProductID != "p042" {
			t.Errorf("MinCosine %.3f: NoMatch %v (best %+v), want %v", tc.minCos, res.NoMatch, res.Best, tc.noMatch)
		}
	}
}

func TestSupport(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 300)
	m, err := New(Config{}, indexSearcher{f.ix}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.MinSupportZ(); got != 2 {
		t.Errorf("default MinSupportZ = %v, want 2", got)
	}
	for _, tc := range []struct {
		name    string
		vec     []float32
		product string
		strong  bool // expected at or above MinSupportZ
	}{
		{"the product itself", f.vecs["p010"], "p010", true},
		{"a light view of it", noisy(f.rng, f.vecs["p020"], 0.3), "p020", true},
		{"another product", f.vecs["p030"], "p031", false},
		{"an unrelated crop", cnnLike(f.rng), "p040", false},
		{"a product not in the catalog", f.vecs["p050"], "missing", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, err := m.Support(ctx, tc.vec, tc.product)
			if err != nil {
				t.Fatal(err)
			}
			if (z >= m.MinSupportZ()) != tc.strong {
				t.Errorf("Support = %.2f, want strong=%v (threshold %.1f)", z, tc.strong, m.MinSupportZ())
			}
		})
	}
	empty, _ := vecindex.New(vecindex.Config{Dim: dim})
	m, _ = New(Config{}, indexSearcher{empty}, nil)
	if z, err := m.Support(ctx, f.vecs["p010"], "p010"); err != nil || z != 0 {
		t.Errorf("empty catalog: Support = %v, %v; want 0, nil", z, err)
	}
}

// bothSearcher searches an embedding index and an appearance index.
type bothSearcher struct {
	indexSearcher
	app indexSearcher
}

func (s bothSearcher) SearchAppearance(ctx context.Context, v []float32, k int) ([]Candidate, error) {
	return s.app.Search(ctx, v, k)
}

// TestMatchAppearanceSearch: a product the embedding does not find among
// its K neighbours is found through the appearance neighbours when
// AppearanceSearch is on, and only then.
func TestMatchAppearanceSearch(t *testing.T) {
	ctx := context.Background()
	emb := newFixture(t, 300)
	app := secondFixture(t, emb, 9, 10)
	s := bothSearcher{indexSearcher{emb.ix}, indexSearcher{app.ix}}
	const target = "p042"
	q := Query{
		// The embedding crops point elsewhere; the appearance crops at the target.
		Crops:      [][]float32{cnnLike(emb.rng), cnnLike(emb.rng), cnnLike(emb.rng)},
		Appearance: [][]float32{noisy(app.rng, app.vecs[target], 0.2), noisy(app.rng, app.vecs[target], 0.2), noisy(app.rng, app.vecs[target], 0.2)},
	}
	tests := []struct {
		name   string
		search bool
		w      Weights
		found  bool
	}{
		{"appearance search finds it", true, Weights{Embedding: 0.5, Appearance: 0.5}, true},
		{"embedding candidates only", false, Weights{Embedding: 0.5, Appearance: 0.5}, false},
		{"appearance weighted out", true, Weights{Embedding: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w
			m, err := New(Config{K: 20, Weights: &w, AppearanceSearch: tc.search, MinZ: 1}, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Match(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got := !res.NoMatch && len(res.Matches) > 0 && res.Matches[0].ProductID == target
			if got != tc.found {
				t.Fatalf("target first: %v, want %v (no match %v, best %+v)", got, tc.found, res.NoMatch, res.Best)
			}
			if tc.found && (res.Matches[0].AppearanceZ < 3 || res.Matches[0].AppearanceCosine < 0.7) {
				t.Errorf("appearance evidence too weak: %+v", res.Matches[0])
			}
		})
	}
}

// projSearcher is a ProjectedSearcher whose projection maps every crop
// near one product of a second index (as a learned projection maps a
// re-shot garment near its catalog photo).
type projSearcher struct {
	indexSearcher
	proj   indexSearcher
	toward []float32
	rng    *rand.Rand
}

func (s projSearcher) SearchProjected(ctx context.Context, _ []float32, k int) ([]Candidate, error) {
	return s.proj.Search(ctx, noisy(s.rng, s.toward, 0.2), k)
}

func TestMatchProjection(t *testing.T) {
	ctx := context.Background()
	raw := newFixture(t, 300)
	proj := secondFixture(t, raw, 11, 12)
	const target, rawFirst = "p042", "p007"
	// The raw crops point at another product; the projection at the target.
	q := Query{Crops: [][]float32{noisy(raw.rng, raw.vecs[rawFirst], 0.3), noisy(raw.rng, raw.vecs[rawFirst], 0.3)}}
	tests := []struct {
		name      string
		cfg       Config
		noMatch   bool
		wantFirst string
	}{
		{"ranked in the projection", Config{}, false, target},
		{"projection ignored", Config{IgnoreProjection: true}, false, rawFirst},
		{"raw gate missed, projected gate passes", Config{MinZ: 50}, false, target},
		{"raw gate missed, projected gate off", Config{MinZ: 50, MinProjectedZ: -1}, true, ""},
		{"raw gate missed, projected gate too high", Config{MinZ: 50, MinProjectedZ: 50}, true, ""},
		{"raw gate missed, projection ignored", Config{MinZ: 50, IgnoreProjection: true}, true, ""},
		{"projected gate keeps the raw cosine floor", Config{MinZ: 50, MinCosine: 0.999}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := projSearcher{indexSearcher{raw.ix}, indexSearcher{proj.ix}, proj.vecs[target], rand.New(rand.NewPCG(1, 2))}
			cfg := tc.cfg
			cfg.K = 50
			m, err := New(cfg, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Match(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if res.NoMatch != tc.noMatch {
				t.Fatalf("NoMatch %v, want %v (best %+v)", res.NoMatch, tc.noMatch, res.Best)
			}
			if tc.noMatch {
				return
			}
			if got := res.Matches[0].ProductID; got != tc.wantFirst {
				t.Errorf("first %s, want %s (%+v)", got, tc.wantFirst, res.Matches[0])
			}
			if !cfg.IgnoreProjection && res.Matches[0].ProjectedZ < 3 {
				t.Errorf("projected z %.2f of the first product, want >= 3", res.Matches[0].ProjectedZ)
			}
		})
	}
}
