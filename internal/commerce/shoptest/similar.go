package shoptest

import (
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // the sample packshots are JPEG
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"

	"github.com/coder/hnsw"
)

// ColourIndex is a real ANN index (HNSW) over a simple image feature, the
// mean colour of each product photo's foreground. It stands in for the
// catalog's embedding index where a test has no models: like it, it ranks by
// visual similarity, filters by category, and knows nothing about stock.
// It satisfies commerce.Similar.
type ColourIndex struct {
	g   *hnsw.Graph[string]
	vec map[string][]float32
	cat map[string]string
}

// NewColourIndex indexes every product of the shop.
func (s *Shop) NewColourIndex() (*ColourIndex, error) {
	ix := &ColourIndex{g: hnsw.NewGraph[string](), vec: map[string][]float32{}, cat: map[string]string{}}
	ix.g.Distance = hnsw.EuclideanDistance
	// A wide beam and a fixed seed make a search of a few hundred items
	// exact and repeatable, so tests can compare with brute force.
	ix.g.EfSearch = 200
	ix.g.Rng = rand.New(rand.NewSource(7))
	for _, it := range s.Items() {
		v, err := meanColour(filepath.Join(s.imagesDir, "images", it.Image))
		if err != nil {
			return nil, err
		}
		ix.vec[it.ID] = v
		ix.cat[it.ID] = it.Category
		ix.g.Add(hnsw.MakeNode(it.ID, v))
	}
	return ix, nil
}

// Distance is the feature distance of two indexed products.
func (ix *ColourIndex) Distance(a, b string) float64 { return dist(ix.vec[a], ix.vec[b]) }

// SimilarProducts returns up to k products nearest to id, best first, of
// category when it is not empty: like a filtered ANN search it widens the
// search until k neighbours pass the filter.
func (ix *ColourIndex) SimilarProducts(ctx context.Context, id, category string, k int) ([]string, error) {
	v, ok := ix.vec[id]
	if !ok {
		return nil, fmt.Errorf("colour index: unknown product %s", id)
	}
	for n := 4 * k; ; n *= 2 {
		nodes := ix.g.Search(v, n)
		// The graph returns neighbours unordered; callers want best first.
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

// meanColour averages the pixels that are not near-white background.
func meanColour(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("shoptest: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("shoptest: decode %s: %w", path, err)
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

func dist(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
