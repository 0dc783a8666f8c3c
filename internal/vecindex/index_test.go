package vecindex

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// fixture builds an index of n clustered vectors with ids "0".."n-1" and
// returns it with its vectors.
func fixture(t testing.TB, n int, cfg Config, attrs func(i int) Attrs) (*Index, [][]float32, *Generator) {
	t.Helper()
	if cfg.Dim == 0 {
		cfg.Dim = 64
	}
	gen, err := NewGenerator(Synthetic{Dim: cfg.Dim, Seed: 7}, n)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vecs := make([][]float32, n)
	for i := range n {
		vecs[i] = make([]float32, cfg.Dim)
		gen.Fill(vecs[i])
		var a Attrs
		if attrs != nil {
			a = attrs(i)
		}
		if err := ix.Upsert(strconv.Itoa(i), vecs[i], a); err != nil {
			t.Fatal(err)
		}
	}
	return ix, vecs, gen
}

func ids(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func TestDotMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 511, 512, 768} {
		a, b := make([]float32, n), make([]float32, n)
		var want float64
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			want += float64(a[i]) * float64(b[i])
		}
		for name, f := range map[string]func(a, b []float32) float32{"dot": dot, "dotGo": dotGo} {
			if got := float64(f(a, b)); math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("%s len %d = %v, want %v", name, n, got, want)
			}
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{{}, {Dim: -1}, {Dim: 1<<16 + 1}, {Dim: 8, M: 1}, {Dim: 8, M: 1000}, {Dim: 8, EfSearch: -3}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
	ix, err := New(Config{Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	if c := ix.Config(); c.M != DefaultM || c.EfConstruction != DefaultEfConstruction || c.EfSearch != DefaultEfSearch {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestBadInputIsAnError(t *testing.T) {
	ix, err := New(Config{Dim: 4})
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	upserts := []struct {
		name string
		id   string
		vec  []float32
		a    Attrs
	}{
		{"empty id", "", []float32{1, 0, 0, 0}, Attrs{}},
		{"short vector", "a", []float32{1, 0, 0}, Attrs{}},
		{"long vector", "a", []float32{1, 0, 0, 0, 0}, Attrs{}},
		{"zero vector", "a", []float32{0, 0, 0, 0}, Attrs{}},
		{"nan component", "a", []float32{1, nan, 0, 0}, Attrs{}},
		{"inf component", "a", []float32{1, float32(math.Inf(1)), 0, 0}, Attrs{}},
		{"nan price", "a", []float32{1, 0, 0, 0}, Attrs{Price: math.NaN()}},
	}
	for _, u := range upserts {
		if err := ix.Upsert(u.id, u.vec, u.a); err == nil {
			t.Errorf("%s: Upsert succeeded", u.name)
		}
	}
	if ix.Len() != 0 {
		t.Fatalf("Len = %d after rejected upserts", ix.Len())
	}
	if err := ix.Upsert("a", []float32{1, 0, 0, 0}, Attrs{}); err != nil {
		t.Fatal(err)
	}
	searches := []struct {
		name string
		q    []float32
		k    int
		f    *Filter
	}{
		{"k zero", []float32{1, 0, 0, 0}, 0, nil},
		{"wrong dim", []float32{1, 0}, 3, nil},
		{"zero query", []float32{0, 0, 0, 0}, 3, nil},
		{"nan price bound", []float32{1, 0, 0, 0}, 3, &Filter{MinPrice: math.NaN()}},
	}
	for _, s := range searches {
		if _, err := ix.Search(s.q, s.k, s.f); err == nil {
			t.Errorf("%s: Search succeeded", s.name)
		}
		if _, err := ix.Exact(s.q, s.k, s.f); err == nil {
			t.Errorf("%s: Exact succeeded", s.name)
		}
	}
}

func TestEmptyIndexSearch(t *testing.T) {
	ix, err := New(Config{Dim: 3})
	if err != nil {
		t.Fatal(err)
	}
	hs, err := ix.Search([]float32{1, 2, 3}, 5, nil)
	if err != nil || len(hs) != 0 {
		t.Fatalf("Search on empty index = %v, %v", hs, err)
	}
}

func TestRecallAgainstExact(t *testing.T) {
	for _, tc := range []struct {
		n, dim, k int
		minRecall float64
	}{
		{3000, 64, 10, 0.97},
		{6000, 128, 10, 0.97},
		{6000, 128, 50, 0.95},
	} {
		t.Run(fmt.Sprintf("n=%d/dim=%d/k=%d", tc.n, tc.dim, tc.k), func(t *testing.T) {
			ix, _, gen := fixture(t, tc.n, Config{Dim: tc.dim, ExactThreshold: -1, Seed: 1}, nil)
			q := make([]float32, tc.dim)
			var hits, total int
			for range 200 {
				gen.Fill(q)
				got, err := ix.Search(q, tc.k, nil)
				if err != nil {
					t.Fatal(err)
				}
				want, err := ix.Exact(q, tc.k, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.k || len(want) != tc.k {
					t.Fatalf("got %d hits, exact %d, want %d", len(got), len(want), tc.k)
				}
				if !slices.IsSortedFunc(got, func(a, b Hit) int { return -cmpF(a.Score, b.Score) }) {
					t.Fatalf("hits not sorted by score: %v", got)
				}
				hits += overlap(got, want)
				total += tc.k
			}
			r := float64(hits) / float64(total)
			t.Logf("recall@%d = %.4f", tc.k, r)
			if r < tc.minRecall {
				t.Errorf("recall@%d = %.4f, want >= %.2f", tc.k, r, tc.minRecall)
			}
		})
	}
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestEveryVectorFindsItself(t *testing.T) {
	ix, vecs, _ := fixture(t, 4000, Config{Dim: 32, ExactThreshold: -1}, nil)
	miss := 0
	for i, v := range vecs {
		hs, err := ix.Search(v, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 1 || hs[0].ID != strconv.Itoa(i) {
			miss++
		}
	}
	// HNSW can strand the odd node; more than 0.5% would mean broken links.
	if miss > len(vecs)/200 {
		t.Errorf("%d of %d vectors are not their own nearest neighbour", miss, len(vecs))
	}
}

func TestUpsertReplaceDelete(t *testing.T) {
	ix, vecs, gen := fixture(t, 3000, Config{Dim: 32, ExactThreshold: -1}, nil)
	self := func(v []float32) Hit {
		t.Helper()
		hs, err := ix.Search(v, 1, nil)
		if err != nil || len(hs) != 1 {
			t.Fatalf("Search = %v, %v", hs, err)
		}
		return hs[0]
	}
	if h := self(vecs[42]); h.ID != "42" || h.Product != "42" || h.Score < 0.9999 {
		t.Fatalf("own vector: %+v", h)
	}

	// Replace 42's vector: the old one no longer finds it, the new one does.
	nv := make([]float32, 32)
	gen.Fill(nv)
	if err := ix.Upsert("42", nv, Attrs{Category: "shoes"}); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 3000 {
		t.Fatalf("Len after replace = %d", ix.Len())
	}
	if h := self(nv); h.ID != "42" || h.Score < 0.9999 {
		t.Fatalf("replaced vector: %+v", h)
	}
	if h := self(vecs[42]); h.ID == "42" && h.Score > 0.9999 {
		t.Fatalf("old vector of 42 still indexed: %+v", h)
	}
	hs, err := ix.Search(nv, 1, &Filter{Categories: []string{"shoes"}})
	if err != nil || len(hs) != 1 || hs[0].ID != "42" {
		t.Fatalf("replaced attributes: %v, %v", hs, err)
	}

	// Same vector, new attributes: updated in place.
	if err := ix.Upsert("42", nv, Attrs{Category: "bags"}); err != nil {
		t.Fatal(err)
	}
	if hs, _ := ix.Search(nv, 1, &Filter{Categories: []string{"shoes"}}); len(hs) != 0 {
		t.Fatalf("old category still matches: %v", hs)
	}

	// nv is unit length already, so the stored copy is nv up to rounding.
	if v, a, ok := ix.Get("42"); !ok || a.Category != "bags" || dot(v, nv) < 0.9999 {
		t.Fatalf("Get(42) = %v, %+v, %v", v, a, ok)
	}

	// Delete.
	if !ix.Delete("42") {
		t.Fatal("Delete(42) = false")
	}
	if ix.Delete("42") {
		t.Fatal("second Delete(42) = true")
	}
	if _, _, ok := ix.Get("42"); ok || ix.Has("42") || ix.Len() != 2999 {
		t.Fatalf("after delete: Has=%v Len=%d", ix.Has("42"), ix.Len())
	}
	for _, v := range [][]float32{nv, vecs[42]} {
		for _, search := range []func([]float32, int, *Filter) ([]Hit, error){ix.Search, ix.Exact} {
			hs, err := search(v, 20, nil)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(ids(hs), "42") {
				t.Fatalf("deleted id returned: %v", ids(hs))
			}
			if len(hs) != 20 {
				t.Fatalf("got %d hits, want 20", len(hs))
			}
		}
	}
	// Re-insert after delete.
	if err := ix.Upsert("42", vecs[42], Attrs{}); err != nil {
		t.Fatal(err)
	}
	if h := self(vecs[42]); h.ID != "42" {
		t.Fatalf("re-inserted: %+v", h)
	}
}

func TestProductsAreGrouped(t *testing.T) {
	const dim = 32
	ix, _, gen := fixture(t, 3000, Config{Dim: dim, ExactThreshold: -1}, func(i int) Attrs {
		return Attrs{Product: "p" + strconv.Itoa(i/3)} // three vectors per product
	})
	q := make([]float32, dim)
	for range 50 {
		gen.Fill(q)
		for name, search := range map[string]func([]float32, int, *Filter) ([]Hit, error){"search": ix.Search, "exact": ix.Exact} {
			hs, err := search(q, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(hs) != 10 {
				t.Fatalf("%s: %d hits, want 10", name, len(hs))
			}
			seen := map[string]bool{}
			for _, h := range hs {
				if seen[h.Product] {
					t.Fatalf("%s: product %s twice in %v", name, h.Product, hs)
				}
				seen[h.Product] = true
				n, _ := strconv.Atoi(h.ID)
				if want := "p" + strconv.Itoa(n/3); h.Product != want {
					t.Fatalf("%s: hit %s has product %s, want %s", name, h.ID, h.Product, want)
				}
			}
		}
	}
	// The best vector of a product represents it.
	v := make([]float32, dim)
	gen.Fill(v)
	if err := ix.Upsert("x#crop", v, Attrs{Product: "x"}); err != nil {
		t.Fatal(err)
	}
	w := slices.Clone(v)
	w[0] += 0.3
	if err := ix.Upsert("x#full", w, Attrs{Product: "x"}); err != nil {
		t.Fatal(err)
	}
	hs, err := ix.Search(v, 3, nil)
	if err != nil || len(hs) != 3 || hs[0].ID != "x#crop" || hs[0].Product != "x" || hs[1].Product == "x" {
		t.Fatalf("grouped search = %v, %v", hs, err)
	}
	if n := ix.DeleteProduct("x"); n != 2 {
		t.Fatalf("DeleteProduct = %d, want 2", n)
	}
	if hs, _ := ix.Search(v, 3, nil); slices.ContainsFunc(hs, func(h Hit) bool { return h.Product == "x" }) {
		t.Fatalf("deleted product returned: %v", hs)
	}
	if n := ix.DeleteProduct("x"); n != 0 {
		t.Fatalf("second DeleteProduct = %d", n)
	}
}

func TestCompactionKeepsResults(t *testing.T) {
	ix, vecs, gen := fixture(t, 3000, Config{Dim: 32, ExactThreshold: -1}, nil)
	for i := range 2000 {
		ix.Delete(strconv.Itoa(i))
	}
	if ix.Len() != 1000 {
		t.Fatalf("Len = %d", ix.Len())
	}
	ix.mu.RLock()
	nodes, dead := len(ix.ids), ix.nDeleted
	ix.mu.RUnlock()
	if dead*2 > nodes {
		t.Fatalf("no automatic compaction: %d of %d nodes deleted", dead, nodes)
	}
	for i := 2000; i < 3000; i++ {
		hs, err := ix.Search(vecs[i], 1, nil)
		if err != nil || len(hs) != 1 {
			t.Fatal(hs, err)
		}
	}
	q := make([]float32, 32)
	var hit int
	for range 100 {
		gen.Fill(q)
		got, _ := ix.Search(q, 10, nil)
		want, _ := ix.Exact(q, 10, nil)
		for _, h := range got {
			if n, _ := strconv.Atoi(h.ID); n < 2000 {
				t.Fatalf("deleted %s returned", h.ID)
			}
		}
		hit += overlap(got, want)
	}
	if r := float64(hit) / 1000; r < 0.97 {
		t.Errorf("recall after compaction %.3f", r)
	}
}
