package catalog

import (
	"context"
	"errors"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	return NewStore(storetest.SQLite().Open(t))
}

func price(v float64) *float64 { return &v }

// TestStoreUpsertVersionAndText runs on every dialect (PostgreSQL when
// $VITRINE_TEST_POSTGRES names a server).
func TestStoreUpsertVersionAndText(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { testStoreUpsertVersionAndText(t, NewStore(o.Open(t))) })
	}
}

func testStoreUpsertVersionAndText(t *testing.T, st *Store) {
	ctx := context.Background()
	steps := []struct {
		p       Product
		outcome string
		bumps   bool
	}{
		{Product{ID: "r1", Title: "Red linen shirt", Category: "Shirts", Price: price(30), Attributes: map[string]string{"fabric": "Linen"}}, OutcomeAdded, true},
		{Product{ID: "r1", Title: "Red linen shirt", Category: "Shirts", Price: price(30), Attributes: map[string]string{"fabric": "Linen"}}, OutcomeUnchanged, false},
		{Product{ID: "r1", Title: "Red linen shirt", Category: "Shirts", Price: price(25), Attributes: map[string]string{"fabric": "Linen"}}, OutcomeUpdated, true},
		{Product{ID: "b2", Title: "Blue denim jacket", Category: "Jackets", Price: price(80), Availability: "sold out"}, OutcomeAdded, true},
		{Product{ID: "g3", Title: "Green linen trousers", Category: "Trousers", Price: price(45), Availability: "preorder"}, OutcomeAdded, true},
	}
	for i, s := range steps {
		before, _ := st.Version(ctx)
		got, err := st.Upsert(ctx, s.p)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		after, _ := st.Version(ctx)
		if got != s.outcome || (after > before) != s.bumps {
			t.Errorf("step %d: outcome %s, version %d -> %d; want %s, bump %v", i, got, before, after, s.outcome, s.bumps)
		}
	}
	if _, err := st.Upsert(ctx, Product{ID: " "}); err == nil {
		t.Error("upsert with a blank id: no error")
	}

	ps, err := st.GetMany(ctx, []string{"g3", "missing", "r1"})
	if err != nil || len(ps) != 2 || ps[0].ID != "g3" || ps[1].ID != "r1" || *ps[1].Price != 25 || ps[0].Availability != PreOrder {
		t.Fatalf("GetMany = %+v, %v", ps, err)
	}
	if _, err := st.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	}

	s := &Searcher{Store: st}
	tests := []struct {
		q    string
		f    Filter
		want []string
	}{
		{q: "linen", want: []string{"r1", "g3"}},              // attribute value and title
		{q: "LINEN shirt", want: []string{"r1"}},              // all words must match
		{q: "linen jacket", want: []string{"b2", "g3", "r1"}}, // none has both: any word
		{q: "lin", want: []string{"r1", "g3"}},                // prefix
		{q: "linen", f: Filter{Categories: []string{"trousers"}}, want: []string{"g3"}},
		{q: "linen", f: Filter{Availability: []string{InStock}}, want: []string{"r1"}},
		{q: "linen", f: Filter{MinPrice: 26}, want: []string{"g3"}},
		{q: "linen", f: Filter{MaxPrice: 26}, want: []string{"r1"}},
		{q: `"OR" NEAR( * jacket`, want: []string{"b2"}}, // FTS syntax is inert
		{q: "velvet", want: nil},
	}
	for _, tc := range tests {
		rs, err := s.SearchText(ctx, tc.q, 10, tc.f)
		if err != nil {
			t.Errorf("%q: %v", tc.q, err)
			continue
		}
		got := map[string]bool{}
		for _, r := range rs {
			got[r.Product.ID] = true
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q %+v: got %v, want %v", tc.q, tc.f, got, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Errorf("%q %+v: got %v, want %v", tc.q, tc.f, got, tc.want)
			}
		}
	}
	if _, err := s.SearchText(ctx, " !! ", 10, Filter{}); !errors.Is(err, ErrEmptyQuery) {
		t.Errorf("empty query error = %v", err)
	}

	// Updating a title re-indexes it; deleting removes it.
	if _, err := st.Upsert(ctx, Product{ID: "b2", Title: "Blue corduroy jacket", Category: "Jackets", Price: price(80)}); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.SearchText(ctx, "denim", 10, Filter{}); len(rs) != 0 {
		t.Errorf("old title still found: %+v", rs)
	}
	if err := st.Delete(ctx, "b2"); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.SearchText(ctx, "corduroy", 10, Filter{}); len(rs) != 0 {
		t.Errorf("deleted product still found: %+v", rs)
	}
	if err := st.Delete(ctx, "b2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete error = %v, want ErrNotFound", err)
	}
}

// TestStorePutVectors runs on every dialect: vectors stored from outside
// ingestion are read back, replace older ones with the same key, skip
// unknown products and leave the catalog version alone.
func TestStorePutVectors(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) {
			ctx := context.Background()
			st := NewStore(o.Open(t))
			if _, err := st.Upsert(ctx, Product{ID: "r1", Title: "Red linen shirt"}); err != nil {
				t.Fatal(err)
			}
			before, _ := st.Version(ctx)
			put := func(v float32) {
				t.Helper()
				err := st.PutVectors(ctx, []Vector{
					{ProductID: "r1", Image: "sha-a", Kind: KindAppearance, Model: "osnet", Vec: []float32{v, 1 - v}},
					{ProductID: "missing", Image: "sha-b", Kind: KindAppearance, Model: "osnet", Vec: []float32{1, 0}},
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			put(0.25)
			put(0.75) // same key: replaces
			vs, err := st.ProductVectors(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 || vs[0].Kind != KindAppearance || vs[0].Model != "osnet" || vs[0].Image != "sha-a" || len(vs[0].Vec) != 2 || vs[0].Vec[0] != 0.75 {
				t.Fatalf("vectors of r1 = %+v", vs)
			}
			if after, _ := st.Version(ctx); after != before {
				t.Errorf("catalog version %d -> %d after storing vectors", before, after)
			}
			if err := st.PutVectors(ctx, nil); err != nil {
				t.Errorf("no vectors: %v", err)
			}
		})
	}
}
