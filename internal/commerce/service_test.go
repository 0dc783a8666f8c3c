package commerce

import (
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/coder/hnsw"

	"github.com/vitrine-dev/vitrine/internal/commerce/shoptest"
)

// colourIndex is a real ANN index (HNSW) over a simple image feature, the
// mean colour of each product photo's foreground, standing in for the
// catalog's embedding index: like it, it ranks by visual similarity across
// all categories and knows nothing about stock.
type colourIndex struct {
	g   *hnsw.Graph[string]
	vec map[string][]float32
	cat map[string]string
}

func buildColourIndex(t *testing.T, shop *shoptest.Shop) *colourIndex {
	t.Helper()
	dir := filepath.Join(samplesDir(t), "catalog", "images")
	ix := &colourIndex{g: hnsw.NewGraph[string](), vec: map[string][]float32{}, cat: map[string]string{}}
	ix.g.Distance = hnsw.EuclideanDistance
	// A wide beam and a fixed seed make the 420-item search exact and
	// repeatable, so the test can compare with brute force.
	ix.g.EfSearch = 200
	ix.g.Rng = rand.New(rand.NewSource(7))
	for _, it := range shop.Items() {
		v, err := meanColour(filepath.Join(dir, it.Image))
		if err != nil {
			t.Fatal(err)
		}
		ix.vec[it.ID] = v
		ix.cat[it.ID] = it.Category
		ix.g.Add(hnsw.MakeNode(it.ID, v))
	}
	return ix
}

// meanColour averages the pixels that are not near-white background.
func meanColour(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	var sum [3]float64
	n := 0.0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r > 60000 && g > 60000 && bb > 60000 {
				continue
			}
			sum[0] += float64(r) / 65535
			sum[1] += float64(g) / 65535
			sum[2] += float64(bb) / 65535
			n++
		}
	}
	if n == 0 {
		return []float32{1, 1, 1}, nil
	}
	return []float32{float32(sum[0] / n), float32(sum[1] / n), float32(sum[2] / n)}, nil
}

// SimilarProducts filters by category the way a filtered ANN search does:
// it widens the search until k neighbours pass the filter.
func (ix *colourIndex) SimilarProducts(ctx context.Context, id, category string, k int) ([]string, error) {
	v, ok := ix.vec[id]
	if !ok {
		return nil, fmt.Errorf("colour index: unknown product %s", id)
	}
	for n := 4 * k; ; n *= 2 {
		nodes := ix.g.Search(v, n)
		// The graph returns neighbours unordered; Similar promises best first.
		sort.Slice(nodes, func(i, j int) bool { return dist(v, nodes[i].Value) < dist(v, nodes[j].Value) })
		var out []string
		for _, node := range nodes {
			if node.Key != id && (category == "" || ix.cat[node.Key] == category) {
				out = append(out, node.Key)
			}
		}
		if len(out) >= k || n >= ix.g.Len() {
			return out[:min(k, len(out))], nil
		}
	}
}

func dist(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

func TestOutOfStockOffersSimilarInStockAlternatives(t *testing.T) {
	shop := startShop(t)
	ix := buildColourIndex(t, shop)
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
			tees = append(tees, cand{it.ID, dist(ix.vec[red], ix.vec[it.ID])})
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
		d := dist(ix.vec[red], ix.vec[a.ID])
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
