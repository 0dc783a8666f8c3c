package vecindex

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var (
	testCats   = []string{"dress", "shirt", "shoes", "bag", "hat", "coat", "skirt", "belt", "scarf", "rare"}
	testAvails = []string{"in_stock", "out_of_stock", "preorder"}
)

// catalogAttrs spreads categories unevenly: "rare" holds only every 500th
// vector, so filtering on it is very selective.
func catalogAttrs(i int) Attrs {
	cat := testCats[i%9]
	if i%500 == 0 {
		cat = "rare"
	}
	return Attrs{
		Product:      "p" + strconv.Itoa(i/2), // two vectors per product
		Category:     cat,
		Availability: testAvails[(i/7)%3],
		Price:        float64(i%1000) + 0.5,
	}
}

func TestFilteredSearch(t *testing.T) {
	const n, dim, k = 8000, 48, 10
	filters := []struct {
		name string
		f    *Filter
		want int // expected hit count when fewer than k products match
	}{
		{"nil", nil, k},
		{"empty", &Filter{}, k},
		{"one category", &Filter{Categories: []string{"shoes"}}, k},
		{"two categories", &Filter{Categories: []string{"shoes", "bag"}}, k},
		{"availability", &Filter{Availability: []string{"preorder"}}, k},
		{"category and availability", &Filter{Categories: []string{"dress"}, Availability: []string{"in_stock", "preorder"}}, k},
		{"price range", &Filter{MinPrice: 100, MaxPrice: 200}, k},
		{"min price only", &Filter{MinPrice: 990}, k},
		{"max price only", &Filter{MaxPrice: 5}, k},
		{"selective category", &Filter{Categories: []string{"rare"}}, k},
		{"selective price", &Filter{MinPrice: 10.4, MaxPrice: 10.6}, 8}, // ids 10, 1010, …, 7010
		{"match func", &Filter{Match: func(id string, a Attrs) bool { return strings.HasSuffix(id, "7") }}, k},
		{"match func selective", &Filter{Match: func(id string, a Attrs) bool { return strings.HasPrefix(id, "777") }}, 6},
		{"unknown category", &Filter{Categories: []string{"spaceship"}}, 0},
		{"unknown and known category", &Filter{Categories: []string{"spaceship", "hat"}}, k},
		{"min above max", &Filter{MinPrice: 50, MaxPrice: 10}, 0},
		{"no overlap", &Filter{Categories: []string{"rare"}, MaxPrice: 0.1}, 0},
	}
	for _, thr := range []int{-1, DefaultExactThreshold} {
		ix, _, gen := fixture(t, n, Config{Dim: dim, ExactThreshold: thr, Seed: 3}, catalogAttrs)
		byID := map[string]Attrs{}
		for i := range n {
			byID[strconv.Itoa(i)] = catalogAttrs(i)
		}
		for _, tc := range filters {
			t.Run(fmt.Sprintf("threshold=%d/%s", thr, tc.name), func(t *testing.T) {
				q := make([]float32, dim)
				var hit, total int
				for range 40 {
					gen.Fill(q)
					got, err := ix.Search(q, k, tc.f)
					if err != nil {
						t.Fatal(err)
					}
					want, err := ix.Exact(q, k, tc.f)
					if err != nil {
						t.Fatal(err)
					}
					if len(want) != tc.want || len(got) != tc.want {
						t.Fatalf("got %d hits, exact %d, want %d", len(got), len(want), tc.want)
					}
					for _, hs := range [][]Hit{got, want} {
						for _, h := range hs {
							if !passes(tc.f, h.ID, byID[h.ID]) {
								t.Fatalf("hit %s %+v does not pass the filter", h.ID, byID[h.ID])
							}
						}
					}
					hit += overlap(got, want)
					total += len(want)
				}
				if total > 0 {
					if r := float64(hit) / float64(total); r < 0.95 {
						t.Errorf("filtered recall %.3f", r)
					}
				}
			})
		}
	}
}

// passes is an independent statement of the Filter semantics.
func passes(f *Filter, id string, a Attrs) bool {
	if f == nil {
		return true
	}
	if len(f.Categories) > 0 && !slices.Contains(f.Categories, a.Category) {
		return false
	}
	if len(f.Availability) > 0 && !slices.Contains(f.Availability, a.Availability) {
		return false
	}
	if f.MinPrice > 0 && a.Price < f.MinPrice {
		return false
	}
	if f.MaxPrice > 0 && a.Price > f.MaxPrice {
		return false
	}
	return f.Match == nil || f.Match(id, a)
}

func TestMatchSeesAttributes(t *testing.T) {
	ix, _, gen := fixture(t, 500, Config{Dim: 16}, catalogAttrs)
	q := make([]float32, 16)
	gen.Fill(q)
	var bad []string
	_, err := ix.Search(q, 5, &Filter{Match: func(id string, a Attrs) bool {
		i, _ := strconv.Atoi(id)
		if a != catalogAttrs(i) {
			bad = append(bad, id)
		}
		return true
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("Match got wrong attributes for %v", bad)
	}
}
