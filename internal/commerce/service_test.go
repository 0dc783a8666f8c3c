package commerce

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
)

func TestOutOfStockOffersSimilarInStockAlternatives(t *testing.T) {
	shop := startShop(t)
	ix, err := shop.NewColourIndex()
	if err != nil {
		t.Fatal(err)
	}
	const red = "16647" // Facit Men Polo Tee Red Tshirt
	shop.SetStock(red, 0)

	// The closest T-shirt by colour sells out too: it must be skipped.
	type cand struct {
		id string
		d  float64
	}
	var tees []cand
	for _, it := range shop.Items() {
		if it.Category == "Tshirts" && it.ID != red {
			tees = append(tees, cand{it.ID, ix.Distance(red, it.ID)})
		}
	}
	sort.Slice(tees, func(i, j int) bool { return tees[i].d < tees[j].d })
	soldOut := tees[0].id
	shop.SetStock(soldOut, 0)

	svc := NewService(NewCache(newUpstream(t, shop, true), CacheConfig{}, nil), ix, 3, nil)
	p, err := svc.Product(context.Background(), red)
	if err != nil {
		t.Fatal(err)
	}
	if p.Availability != OutOfStock {
		t.Fatalf("availability %q, want out_of_stock", p.Availability)
	}
	if len(p.Alternatives) == 0 {
		t.Fatal("no alternatives for an out-of-stock T-shirt")
	}
	prev := -1.0
	for _, a := range p.Alternatives {
		if a.AlternativeFor != red || a.Availability != InStock || a.Category != "Tshirts" || a.ID == soldOut || a.ID == red {
			t.Errorf("bad alternative %+v", a)
		}
		d := ix.Distance(red, a.ID)
		if d < prev {
			t.Errorf("alternatives not ordered by similarity: %s at %.3f after %.3f", a.ID, d, prev)
		}
		prev = d
	}
	if p.Alternatives[0].ID != tees[1].id {
		t.Errorf("first alternative %s, want %s, the nearest in-stock T-shirt", p.Alternatives[0].ID, tees[1].id)
	}

	// In-stock products carry no alternatives.
	q, err := svc.Product(context.Background(), tees[1].id)
	if err != nil || len(q.Alternatives) != 0 {
		t.Errorf("in-stock product: %+v %v", q, err)
	}
}

type failingSimilar struct{}

func (failingSimilar) SimilarProducts(context.Context, string, string, int) ([]string, error) {
	return nil, errors.New("index not loaded")
}

func TestServiceErrors(t *testing.T) {
	shop := startShop(t)
	shop.SetStock("16647", 0)
	svc := NewService(NewCache(newUpstream(t, shop, true), CacheConfig{}, nil), failingSimilar{}, 3, nil)
	ctx := context.Background()

	// A broken similarity search costs the alternatives, not the product.
	p, err := svc.Product(ctx, "16647")
	if err != nil || p.ID != "16647" || len(p.Alternatives) != 0 {
		t.Fatalf("with failing similar search: %+v %v", p, err)
	}
	if _, err := svc.Product(ctx, "404404"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown product: err = %v, want ErrNotFound", err)
	}
	many := make([]string, MaxBatch+1)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	for name, ids := range map[string][]string{"empty": nil, "bad id": {"a/b"}, "too many": many} {
		if _, err := svc.Products(ctx, ids); !errors.Is(err, ErrBadID) {
			t.Errorf("%s: err = %v, want ErrBadID", name, err)
		}
	}
	d, err := svc.Products(ctx, []string{"16820", "404404", "16820"})
	if err != nil || len(d.Products) != 1 || len(d.Missing) != 1 || d.Missing[0] != "404404" {
		t.Errorf("batch with an unknown id: %+v %v", d, err)
	}

	// Without a cache, a failing source is reported per id, not as an error.
	shop.SetDown(true)
	raw := NewService(newUpstream(t, shop, true), nil, 3, nil)
	d, err = raw.Products(ctx, []string{"16820"})
	if err != nil || len(d.Unavailable) != 1 || len(d.Products) != 0 {
		t.Errorf("source down: %+v %v", d, err)
	}
}
