package video

import (
	"context"
	"fmt"
	"image"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/vecindex"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// CatalogSource adapts the catalog's index and store to Catalog.
type CatalogSource struct {
	Index *catalog.Index
	Store *catalog.Store
	// Model names the embedder whose stored vectors the index holds; it is
	// used to compute each product's hubness.
	Model string
	// Filter restricts matching (for example to available products); nil
	// searches everything.
	Filter *vecindex.Filter

	// Hubness turns on the hubness correction (see match.ProductInfo). On
	// the generated labelled videos it cut false matches by a third but
	// also lost true ones at the same threshold, so it is off by default.
	Hubness bool
	// Blobs, when set, gives access to product images for colour
	// histograms and appearance embeddings; nil leaves those cues out.
	Blobs BlobStore

	mu      sync.Mutex
	hubVer  int64
	hubness map[string]float64
	// Product features for re-ranking, per catalog version; appearance
	// embeds product images (set by UseAppearance).
	featVer    int64
	features   map[string]productFeature
	appearance Embedder
	appName    string
}

// productFeature is what re-ranking compares a product's main item with,
// beyond its stored embeddings.
type productFeature struct {
	colour     []float32 // colour histogram
	appearance []float32 // appearance (re-ID) embedding
}

// UseAppearance sets the appearance model whose embeddings of product
// images re-rank matches (it must be the model the video's crops were
// embedded with); nil leaves the cue out.
func (c *CatalogSource) UseAppearance(e Embedder, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.appName != name || (c.appearance == nil) != (e == nil) {
		c.features = nil // recompute with the new model
	}
	c.appearance, c.appName = e, name
}

// productFeatures returns the colour histogram and appearance embedding of
// the main item of each product's first image, computed once per product,
// catalog version and appearance model. Products whose image cannot be read
// get none.
func (c *CatalogSource) productFeatures(ctx context.Context, ids []string) (map[string]productFeature, error) {
	if c.Blobs == nil {
		return nil, nil
	}
	ver, err := c.Store.Version(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.features == nil || c.featVer != ver {
		c.features, c.featVer = map[string]productFeature{}, ver
	}
	app := c.appearance
	var todo []string
	for _, id := range ids {
		if _, ok := c.features[id]; !ok {
			todo = append(todo, id)
		}
	}
	c.mu.Unlock()
	got := map[string]productFeature{}
	if len(todo) > 0 {
		db := c.Store.DB()
		// Read-only look-up of the catalog's stored image and main-item box.
		q := `SELECT p.id, i.blob_key, i.item_box FROM products p JOIN product_images i ON i.product_seq = p.seq
			WHERE i.position = 0 AND i.blob_key <> '' AND p.id IN (?` + strings.Repeat(",?", len(todo)-1) + `)`
		args := make([]any, len(todo))
		for i, id := range todo {
			args[i] = id
		}
		rows, err := db.Read.QueryContext(ctx, db.Rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("catalog images: %w", err)
		}
		type ref struct{ id, key, box string }
		var refs []ref
		for rows.Next() {
			var r ref
			if err := rows.Scan(&r.id, &r.key, &r.box); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog images: %w", err)
			}
			refs = append(refs, r)
		}
		rows.Close()
		for _, id := range todo {
			got[id] = productFeature{}
		}
		var crops []image.Image
		var cropIDs []string
		for _, r := range refs {
			img, rect, ok := c.mainItem(ctx, r.key, r.box)
			if !ok {
				continue
			}
			got[r.id] = productFeature{colour: match.ColourHistogram(img, rect, true)}
			if app != nil {
				crops = append(crops, imageio.Crop(img, rect))
				cropIDs = append(cropIDs, r.id)
			}
		}
		if len(crops) > 0 {
			vecs, err := app.EmbedImages(ctx, crops)
			if err != nil {
				return nil, fmt.Errorf("catalog images: appearance: %w", err)
			}
			for i, id := range cropIDs {
				f := got[id]
				f.appearance = vecs[i]
				got[id] = f
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.features != nil && c.featVer == ver && c.appearance == app {
		for id, f := range got {
			c.features[id] = f
		}
	}
	out := make(map[string]productFeature, len(ids))
	for _, id := range ids {
		if f, ok := c.features[id]; ok {
			out[id] = f
		} else {
			out[id] = got[id]
		}
	}
	return out, nil
}

// mainItem decodes a product image and returns it with its main item's
// box; ok is false when the image cannot be read.
func (c *CatalogSource) mainItem(ctx context.Context, key, box string) (img image.Image, rect image.Rectangle, ok bool) {
	r, err := c.Blobs.Get(ctx, key)
	if err != nil {
		return nil, image.Rectangle{}, false
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 32<<20))
	if err != nil {
		return nil, image.Rectangle{}, false
	}
	img, _, err = imageio.DecodeBytes(data, imageio.Limits{})
	if err != nil {
		return nil, image.Rectangle{}, false
	}
	rect = img.Bounds()
	var b image.Rectangle
	if _, err := fmt.Sscanf(box, "%d,%d,%d,%d", &b.Min.X, &b.Min.Y, &b.Max.X, &b.Max.Y); err == nil && !b.Intersect(rect).Empty() {
		rect = b.Intersect(rect)
	}
	return img, rect, true
}

// hubRefs bounds the reference vectors each product is compared with.
const hubRefs = 400

// productHubness returns, per product, how much more similar it is to the
// rest of the catalog than the average product is, computed from the
// stored vectors once per catalog version.
func (c *CatalogSource) productHubness(ctx context.Context) (map[string]float64, error) {
	ver, err := c.Store.Version(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hubness != nil && c.hubVer == ver {
		return c.hubness, nil
	}
	type pv struct {
		id   string
		vecs [][]float32
	}
	var ps []pv
	var all [][]float32
	var owner []int
	err = c.Store.EachVector(ctx, c.Model, func(v catalog.Vector, p catalog.Product) error {
		if len(ps) == 0 || ps[len(ps)-1].id != p.ID {
			ps = append(ps, pv{id: p.ID})
		}
		ps[len(ps)-1].vecs = append(ps[len(ps)-1].vecs, v.Vec)
		all = append(all, v.Vec)
		owner = append(owner, len(ps)-1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	hub := make(map[string]float64, len(ps))
	if len(all) > 1 {
		step := max(1, len(all)/hubRefs)
		means := make([]float64, len(ps))
		var total float64
		for i, p := range ps {
			var sum float64
			n := 0
			for r := 0; r < len(all); r += step {
				if owner[r] == i || len(all[r]) == 0 {
					continue
				}
				best := math.Inf(-1)
				for _, v := range p.vecs {
					if len(v) == len(all[r]) {
						best = math.Max(best, float64(dot(v, all[r])))
					}
				}
				if !math.IsInf(best, -1) {
					sum += best
					n++
				}
			}
			if n > 0 {
				means[i] = sum / float64(n)
			}
			total += means[i]
		}
		avg := total / float64(len(ps))
		for i, p := range ps {
			hub[p.id] = means[i] - avg
		}
	}
	c.hubness, c.hubVer = hub, ver
	return hub, nil
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// Search returns the k nearest products of vec.
func (c *CatalogSource) Search(ctx context.Context, vec []float32, k int) ([]match.Candidate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hits, err := c.Index.Search(vec, k, c.Filter)
	if err != nil {
		return nil, fmt.Errorf("catalog search: %w", err)
	}
	out := make([]match.Candidate, len(hits))
	for i, h := range hits {
		out[i] = match.Candidate{ProductID: h.Product, Score: float64(h.Score)}
	}
	return out, nil
}

// ProductInfo returns the categories of the given products.
func (c *CatalogSource) ProductInfo(ctx context.Context, ids []string) (map[string]match.ProductInfo, error) {
	ps, err := c.Store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	var hub map[string]float64
	if c.Hubness {
		if hub, err = c.productHubness(ctx); err != nil {
			return nil, err
		}
	}
	feat, err := c.productFeatures(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]match.ProductInfo, len(ps))
	for _, p := range ps {
		pi := match.ProductInfo{Category: p.Category, Colour: feat[p.ID].colour, Appearance: feat[p.ID].appearance}
		if c.Hubness {
			pi.Hubness = hub[p.ID]
		}
		out[p.ID] = pi
	}
	return out, nil
}

// Version returns the catalog version counter.
func (c *CatalogSource) Version(ctx context.Context) (string, error) {
	v, err := c.Store.Version(ctx)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}

// ServiceCatalog adapts the installation's catalog service, whose models
// and index load on first use, to Catalog.
type ServiceCatalog struct {
	Svc   *catalog.Service
	Blobs BlobStore

	mu      sync.Mutex
	src     *CatalogSource
	app     Embedder
	appName string
}

// UseAppearance sets the appearance model (see CatalogSource.UseAppearance).
func (c *ServiceCatalog) UseAppearance(e Embedder, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.app, c.appName = e, name
	if c.src != nil {
		c.src.UseAppearance(e, name)
	}
}

func (c *ServiceCatalog) source(ctx context.Context) (*CatalogSource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.src != nil {
		return c.src, nil
	}
	s, err := c.Svc.Searcher(ctx)
	if err != nil {
		return nil, err
	}
	c.src = &CatalogSource{Index: s.Index, Store: s.Store, Blobs: c.Blobs}
	c.src.UseAppearance(c.app, c.appName)
	return c.src, nil
}

// Search delegates to the catalog index.
func (c *ServiceCatalog) Search(ctx context.Context, vec []float32, k int) ([]match.Candidate, error) {
	src, err := c.source(ctx)
	if err != nil {
		return nil, err
	}
	return src.Search(ctx, vec, k)
}

// ProductInfo delegates to the catalog store.
func (c *ServiceCatalog) ProductInfo(ctx context.Context, ids []string) (map[string]match.ProductInfo, error) {
	src, err := c.source(ctx)
	if err != nil {
		return nil, err
	}
	return src.ProductInfo(ctx, ids)
}

// Version returns the catalog version.
func (c *ServiceCatalog) Version(ctx context.Context) (string, error) {
	v, err := c.Svc.Store.Version(ctx)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}
