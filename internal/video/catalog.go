package video

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/lru"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/project"
	"github.com/vitrine-dev/vitrine/internal/vecindex"
	"github.com/vitrine-dev/vitrine/internal/vision"
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
	colVer  int64
	colour  map[string][]float32
	// local holds product local features by model and image content, the
	// most recently used up to localCacheBytes.
	local *lru.Cache[string, *productFeatures]

	// The appearance model (UseAppearance), its vectors of product images
	// by content, and their index for the current catalog version.
	appMu      sync.Mutex // serialises index builds
	appearance Embedder
	appName    string
	appBySHA   map[string][]float32
	appIx      *vecindex.Index
	appIxVer   int64

	// The learned projection (UseProjection, projection.go): the embedder
	// its synthetic views are embedded with, and the projection and index
	// of projected vectors for catalog version projVer.
	projMu    sync.Mutex // serialises fits
	projEmb   Embedder
	projModel string
	projOpts  ProjectionOptions
	proj      *project.Projection
	projIx    *vecindex.Index
	projVer   int64

	// Logger receives build messages (nil: discarded).
	Logger *slog.Logger

	stats derivedCounters
}

func (c *CatalogSource) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// derivedCounters count how the catalog-derived state was obtained.
type derivedCounters struct {
	coloursComputed, coloursLoaded    atomic.Int64
	appearanceBuilt, appearanceLoaded atomic.Int64
	projectionBuilt, projectionLoaded atomic.Int64
}

// DerivedStats tells how a CatalogSource obtained what matching derives
// from the catalog: colour histograms computed from product images or
// loaded as stored, and appearance indexes built or loaded from a
// snapshot. A fresh process on an unchanged catalog should only load.
type DerivedStats struct {
	ColoursComputed, ColoursLoaded    int64
	AppearanceBuilt, AppearanceLoaded int64
	ProjectionBuilt, ProjectionLoaded int64
}

// Stats returns the counts so far.
func (c *CatalogSource) Stats() DerivedStats {
	return DerivedStats{
		ColoursComputed: c.stats.coloursComputed.Load(), ColoursLoaded: c.stats.coloursLoaded.Load(),
		AppearanceBuilt: c.stats.appearanceBuilt.Load(), AppearanceLoaded: c.stats.appearanceLoaded.Load(),
		ProjectionBuilt: c.stats.projectionBuilt.Load(), ProjectionLoaded: c.stats.projectionLoaded.Load(),
	}
}

// Colour histograms of product images are stored with the catalog's
// vectors under this kind and model, by image content, so they are
// computed once (at ingestion's features stage, or by the first match
// that needs them) and read by every later process. The model names the
// histogram's layout; a stored histogram of another length is recomputed.
const (
	colourKind  = "colour"
	colourModel = "vitrine-colour-hsv"
)

// UseAppearance sets the appearance model whose embeddings of product
// images re-rank matches (it must be the model the video's crops were
// embedded with); nil leaves the cue out.
func (c *CatalogSource) UseAppearance(e Embedder, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.appName != name || (c.appearance == nil) != (e == nil) {
		c.appBySHA, c.appIx = nil, nil // recompute with the new model
	}
	c.appearance, c.appName = e, name
}

// productColours returns colour histograms of the main item of each
// product's first image, computed once per product and catalog version.
// Products whose image cannot be read get none.
func (c *CatalogSource) productColours(ctx context.Context, ids []string) (map[string][]float32, error) {
	if c.Blobs == nil {
		return nil, nil
	}
	ver, err := c.Store.Version(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.colour == nil || c.colVer != ver {
		c.colour, c.colVer = map[string][]float32{}, ver
	}
	var todo []string
	for _, id := range ids {
		if _, ok := c.colour[id]; !ok {
			todo = append(todo, id)
		}
	}
	c.mu.Unlock()
	got := map[string][]float32{}
	if len(todo) > 0 {
		for _, id := range todo {
			got[id] = nil
		}
		stored, err := c.storedColours(ctx, todo)
		if err != nil {
			return nil, err
		}
		var missing []string
		for _, id := range todo {
			if h, ok := stored[id]; ok {
				got[id] = h
			} else {
				missing = append(missing, id)
			}
		}
		c.stats.coloursLoaded.Add(int64(len(stored)))
		if len(missing) > 0 {
			refs, err := c.imageRefs(ctx, missing)
			if err != nil {
				return nil, err
			}
			var put []catalog.Vector
			for _, r := range refs {
				if img, rect, ok := c.mainItem(ctx, r.key, r.box); ok {
					h := match.ColourHistogram(img, rect, true)
					got[r.id] = h
					if v, ok := colourVector(r, h); ok {
						put = append(put, v)
					}
				}
			}
			c.stats.coloursComputed.Add(int64(len(refs)))
			if err := c.Store.PutVectors(ctx, put); err != nil {
				return nil, fmt.Errorf("catalog colours: %w", err)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.colVer == ver {
		for id, h := range got {
			c.colour[id] = h
		}
	}
	out := make(map[string][]float32, len(ids))
	for _, id := range ids {
		if h, ok := c.colour[id]; ok {
			out[id] = h
		} else {
			out[id] = got[id]
		}
	}
	return out, nil
}

// colourVector is the stored form of a product image's histogram; ok is
// false when there is nothing to store.
func colourVector(r imageRef, h []float32) (catalog.Vector, bool) {
	if len(h) != match.ColourDim || r.sha == "" {
		return catalog.Vector{}, false
	}
	return catalog.Vector{ProductID: r.id, Image: r.sha, Kind: colourKind, Model: colourModel, Vec: h}, true
}

// storedColours returns the stored histograms of the first image of the
// given products, those of the current layout only.
func (c *CatalogSource) storedColours(ctx context.Context, ids []string) (map[string][]float32, error) {
	db := c.Store.DB()
	q := `SELECT p.id, v.vector FROM products p JOIN product_images i ON i.product_seq = p.seq
		JOIN product_vectors v ON v.product_seq = p.seq AND v.image_sha256 = i.sha256
		WHERE i.position = 0 AND v.kind = ? AND v.model = ? AND p.id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
	args := []any{colourKind, colourModel}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := db.Read.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog colours: %w", err)
	}
	defer rows.Close()
	out := map[string][]float32{}
	for rows.Next() {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, fmt.Errorf("catalog colours: %w", err)
		}
		if h, err := decodeVec(b); err == nil && len(h) == match.ColourDim {
			out[id] = h
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog colours: %w", err)
	}
	return out, nil
}

// imageRef is a product's first image as stored by the catalog.
type imageRef struct {
	id, key, box, sha, label string
	attrs                    vecindex.Attrs
}

// imageRefs looks up the first image of the given products, or of every
// ready product when ids is nil (read-only access to the catalog's tables).
func (c *CatalogSource) imageRefs(ctx context.Context, ids []string) ([]imageRef, error) {
	db := c.Store.DB()
	q := `SELECT p.id, p.category, p.availability, p.price, i.blob_key, i.item_box, i.sha256, i.item_label
		FROM products p JOIN product_images i ON i.product_seq = p.seq
		WHERE i.position = 0 AND i.blob_key <> ''`
	var args []any
	if ids == nil {
		q += ` AND p.status = 'ready' ORDER BY p.seq`
	} else {
		q += ` AND p.id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := db.Read.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog images: %w", err)
	}
	defer rows.Close()
	var out []imageRef
	for rows.Next() {
		var r imageRef
		var cat, avail string
		var price sql.NullFloat64
		if err := rows.Scan(&r.id, &cat, &avail, &price, &r.key, &r.box, &r.sha, &r.label); err != nil {
			return nil, fmt.Errorf("catalog images: %w", err)
		}
		r.attrs = vecindex.Attrs{Product: r.id, Category: strings.ToLower(cat), Availability: avail, Price: price.Float64}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog images: %w", err)
	}
	return out, nil
}

// appearanceIndex returns an index of the appearance vectors of every
// ready product's main item, built once per catalog version and model.
// Vectors are kept by image content, so a new catalog version embeds only
// the images it has not seen. It returns nil without a model or blobs.
func (c *CatalogSource) appearanceIndex(ctx context.Context) (*vecindex.Index, error) {
	if c.Blobs == nil {
		return nil, nil
	}
	ver, err := c.Store.Version(ctx)
	if err != nil {
		return nil, err
	}
	// One build at a time; concurrent callers wait for it.
	c.appMu.Lock()
	defer c.appMu.Unlock()
	c.mu.Lock()
	app, name, ix := c.appearance, c.appName, c.appIx
	if ix != nil && c.appIxVer == ver {
		c.mu.Unlock()
		return ix, nil
	}
	bySHA := c.appBySHA
	if bySHA == nil {
		bySHA = map[string][]float32{}
	}
	c.mu.Unlock()
	if app == nil {
		return nil, nil
	}
	// Built by an earlier process or another node for this version.
	if ix, err := c.loadAppearance(ctx, name, ver); err == nil {
		c.stats.appearanceLoaded.Add(1)
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.appName == name {
			c.appIx, c.appIxVer = ix, ver
		}
		return ix, nil
	}
	refs, err := c.imageRefs(ctx, nil)
	if err != nil {
		return nil, err
	}
	missing := func() []imageRef {
		var todo []imageRef
		seen := map[string]bool{}
		for _, r := range refs {
			if r.sha == "" {
				continue // not ingested yet
			}
			if _, ok := bySHA[r.sha]; !ok && !seen[r.sha] {
				seen[r.sha] = true
				todo = append(todo, r)
			}
		}
		return todo
	}
	todo := missing()
	if len(todo) > 0 {
		// Stored at ingestion, by an earlier process or by another node.
		want := make(map[string]bool, len(todo))
		for _, r := range todo {
			want[r.sha] = true
		}
		err := c.Store.EachVector(ctx, name, func(v catalog.Vector, _ catalog.Product) error {
			if v.Kind == catalog.KindAppearance && want[v.Image] {
				bySHA[v.Image] = v.Vec
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("catalog appearance: %w", err)
		}
		todo = missing()
	}
	// Embedded in small batches so memory stays bounded on a large catalog.
	const batch = 32
	for lo := 0; lo < len(todo); lo += batch {
		var crops []image.Image
		var shas, ids []string
		for _, r := range todo[lo:min(lo+batch, len(todo))] {
			if img, rect, ok := c.mainItem(ctx, r.key, r.box); ok {
				crops = append(crops, imageio.Crop(img, rect))
				shas, ids = append(shas, r.sha), append(ids, r.id)
			}
		}
		if len(crops) == 0 {
			continue
		}
		vecs, err := app.EmbedImages(ctx, crops)
		if err != nil {
			return nil, fmt.Errorf("catalog appearance: %w", err)
		}
		stored := make([]catalog.Vector, len(shas))
		for i, sha := range shas {
			bySHA[sha] = vecs[i]
			stored[i] = catalog.Vector{ProductID: ids[i], Image: sha, Kind: catalog.KindAppearance, Model: name, Vec: vecs[i]}
		}
		// Kept with the catalog's vectors, so a restart or another node
		// does not embed the images again.
		if err := c.Store.PutVectors(ctx, stored); err != nil {
			return nil, fmt.Errorf("catalog appearance: %w", err)
		}
	}
	var dim int
	for _, v := range bySHA {
		dim = len(v)
		break
	}
	if dim == 0 {
		return nil, nil
	}
	ix, err = vecindex.New(vecindex.Config{Dim: dim, Capacity: len(refs), Seed: 1})
	if err != nil {
		return nil, fmt.Errorf("catalog appearance: %w", err)
	}
	for _, r := range refs {
		if v, ok := bySHA[r.sha]; ok {
			if err := ix.Upsert(r.id, v, r.attrs); err != nil {
				return nil, fmt.Errorf("catalog appearance: %w", err)
			}
		}
	}
	c.stats.appearanceBuilt.Add(1)
	// A snapshot that cannot be written costs the next process a build,
	// not this match.
	_ = c.saveAppearance(ctx, name, ver, ix)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.appName == name {
		c.appBySHA, c.appIx, c.appIxVer = bySHA, ix, ver
	}
	return ix, nil
}

// AppearanceSnapshotPrefix is the blob key prefix of appearance index
// snapshots, kept next to the catalog index's (catalog.SnapshotPrefix).
const AppearanceSnapshotPrefix = "index/appearance-"

// appearanceSnapshotKey is the blob key of the appearance index of model
// for catalog version ver.
func appearanceSnapshotKey(model string, ver int64) string {
	return appearanceModelPrefix(model) + strconv.FormatInt(ver, 10) + ".hnsw"
}

// appearanceModelPrefix is the key prefix of model's snapshots.
func appearanceModelPrefix(model string) string {
	return AppearanceSnapshotPrefix + safeKey(model) + "-"
}

// safeKey is a model name made safe for a blob key.
func safeKey(model string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, model)
}

// loadAppearance reads the appearance index snapshot of model for catalog
// version ver.
func (c *CatalogSource) loadAppearance(ctx context.Context, model string, ver int64) (*vecindex.Index, error) {
	r, err := c.Blobs.Get(ctx, appearanceSnapshotKey(model, ver))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ix, err := vecindex.Load(r)
	if err != nil {
		return nil, err
	}
	if ix.Stamp() != uint64(ver) {
		return nil, fmt.Errorf("appearance snapshot stamp %d, want %d", ix.Stamp(), ver)
	}
	return ix, nil
}

// saveAppearance stores ix as the appearance index of model for catalog
// version ver and removes the snapshots of older versions.
func (c *CatalogSource) saveAppearance(ctx context.Context, model string, ver int64, ix *vecindex.Index) error {
	ix.SetStamp(uint64(ver))
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		return fmt.Errorf("appearance snapshot: %w", err)
	}
	key := appearanceSnapshotKey(model, ver)
	if err := c.Blobs.Put(ctx, key, &buf, "application/octet-stream"); err != nil {
		return fmt.Errorf("appearance snapshot: %w", err)
	}
	c.pruneSnapshots(ctx, appearanceModelPrefix(model), key)
	return nil
}

// pruneSnapshots deletes the blobs under prefix other than keep, when the
// blob store can list and delete: snapshots of older catalog versions are
// garbage either way, so a failure only leaves them for the next save.
func (c *CatalogSource) pruneSnapshots(ctx context.Context, prefix string, keep ...string) {
	lb, ok := c.Blobs.(interface {
		List(ctx context.Context, prefix string) ([]string, error)
		Delete(ctx context.Context, key string) error
	})
	if !ok {
		return
	}
	keys, err := lb.List(ctx, prefix)
	if err != nil {
		return
	}
	for _, k := range keys {
		if !slices.Contains(keep, k) {
			_ = lb.Delete(ctx, k)
		}
	}
}

// SearchAppearance returns the k products whose main item's appearance
// vector is nearest to vec (match.AppearanceSearcher); none without an
// appearance model.
func (c *CatalogSource) SearchAppearance(ctx context.Context, vec []float32, k int) ([]match.Candidate, error) {
	ix, err := c.appearanceIndex(ctx)
	if err != nil || ix == nil || len(vec) != ix.Dim() {
		return nil, err
	}
	hits, err := ix.Search(vec, k, c.Filter)
	if err != nil {
		return nil, fmt.Errorf("catalog appearance search: %w", err)
	}
	return candidates(hits), nil
}

// candidates converts index hits to the matcher's candidates.
func candidates(hits []vecindex.Hit) []match.Candidate {
	out := make([]match.Candidate, len(hits))
	for i, h := range hits {
		out[i] = match.Candidate{ProductID: h.Product, Score: float64(h.Score)}
	}
	return out
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
	var b image.Rectangle
	if _, err := fmt.Sscanf(box, "%d,%d,%d,%d", &b.Min.X, &b.Min.Y, &b.Max.X, &b.Max.Y); err != nil {
		b = image.Rectangle{}
	}
	return img, itemRect(img.Bounds(), b), true
}

// itemRect is a product image's main item box within its bounds, or the
// whole image when the box lies outside it (or is empty).
func itemRect(bounds, box image.Rectangle) image.Rectangle {
	if r := box.Intersect(bounds); !r.Empty() {
		return r
	}
	return bounds
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
	return candidates(hits), nil
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
	col, err := c.productColours(ctx, ids)
	if err != nil {
		return nil, err
	}
	appIx, err := c.appearanceIndex(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]match.ProductInfo, len(ps))
	for _, p := range ps {
		pi := match.ProductInfo{Category: p.Category, Colour: col[p.ID]}
		if appIx != nil {
			pi.Appearance, _, _ = appIx.Get(p.ID)
		}
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
	// Logger receives build messages (nil: discarded).
	Logger *slog.Logger

	mu        sync.Mutex
	src       *CatalogSource
	app       Embedder
	appName   string
	projEmb   Embedder
	projModel string
	projOpts  ProjectionOptions
	ixModel   string
	ixDim     int
}

// UseIndexModel names the embedder whose vectors matching searches the
// catalog with, so the catalog's index opens alone: the catalog's own
// model sessions cost a process that only matches about 0.2 s and memory
// for nothing. Without it the index opens with the catalog's models.
func (c *ServiceCatalog) UseIndexModel(model string, dim int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ixModel, c.ixDim = model, dim
}

// UseProjection sets the learned projection's embedder (see
// CatalogSource.UseProjection).
func (c *ServiceCatalog) UseProjection(e Embedder, model string, o ProjectionOptions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.projEmb, c.projModel, c.projOpts = e, model, o
	if c.src != nil {
		c.src.UseProjection(e, model, o)
	}
}

// SearchProjected delegates to the catalog source.
func (c *ServiceCatalog) SearchProjected(ctx context.Context, vec []float32, k int) ([]match.Candidate, error) {
	src, err := c.source(ctx)
	if err != nil {
		return nil, err
	}
	return src.SearchProjected(ctx, vec, k)
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
	var ix *catalog.Index
	if c.ixModel != "" {
		var err error
		if ix, err = c.Svc.Index(ctx, c.ixModel, c.ixDim); err != nil {
			return nil, err
		}
	} else {
		s, err := c.Svc.Searcher(ctx)
		if err != nil {
			return nil, err
		}
		ix = s.Index
	}
	c.src = &CatalogSource{Index: ix, Store: c.Svc.Store, Blobs: c.Blobs, Logger: c.Logger}
	c.src.UseAppearance(c.app, c.appName)
	if c.projEmb != nil {
		c.src.UseProjection(c.projEmb, c.projModel, c.projOpts)
	}
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

// SearchAppearance delegates to the catalog source.
func (c *ServiceCatalog) SearchAppearance(ctx context.Context, vec []float32, k int) ([]match.Candidate, error) {
	src, err := c.source(ctx)
	if err != nil {
		return nil, err
	}
	return src.SearchAppearance(ctx, vec, k)
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

// Both catalogs let the matcher search by appearance.
var (
	_ match.AppearanceSearcher = (*CatalogSource)(nil)
	_ match.AppearanceSearcher = (*ServiceCatalog)(nil)
	_ match.ProjectedSearcher  = (*CatalogSource)(nil)
	_ match.ProjectedSearcher  = (*ServiceCatalog)(nil)
)

// localModel names the local-feature model in product_local_features:
// XFeat features of the main item and of its mirror image, stored as one
// blob (see productFeatures), described at the scale of the extractor's
// tiles. Rows of another model are extracted again.
func localModel(x LocalFeatures) string {
	if t := x.Tiles(); t > 1 {
		return fmt.Sprintf("xfeat/%d+mirror", t)
	}
	return "xfeat+mirror"
}

// productPoints bounds the keypoints of a product image's main item.
const productPoints = 1024

// productFeatures are the local features of a product's main item and of
// its mirror image: XFeat descriptors are not mirror-invariant, and videos
// show garments mirrored (selfie cameras, flipped edits).
type productFeatures struct {
	plain, mirrored *vision.LocalFeatures
}

// localCacheBytes bounds the product features a CatalogSource keeps in
// memory (about 400 products' at the default points); the others are read
// from the database again when needed. Unbounded, they grew with every
// product verified or prepared: about 150 KB each, 15 GB for a catalog of
// 100,000 products.
const localCacheBytes = 64 << 20

// bytes is about how much memory p takes.
func (p *productFeatures) bytes() int64 {
	n := int64(64)
	for _, f := range []*vision.LocalFeatures{p.plain, p.mirrored} {
		if f != nil {
			n += int64(len(f.Desc)+12*len(f.Points)) + 64
		}
	}
	return n
}

// MarshalBinary stores the two feature sets, the first prefixed with its
// length.
func (p *productFeatures) MarshalBinary() ([]byte, error) {
	a, err := p.plain.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b, err := p.mirrored.MarshalBinary()
	if err != nil {
		return nil, err
	}
	out := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(a)+len(b)), uint32(len(a)))
	return append(append(out, a...), b...), nil
}

// UnmarshalBinary reads what MarshalBinary wrote.
func (p *productFeatures) UnmarshalBinary(b []byte) error {
	if len(b) < 4 || int(binary.LittleEndian.Uint32(b)) > len(b)-4 {
		return errors.New("product features: truncated")
	}
	n := int(binary.LittleEndian.Uint32(b))
	var plain, mirrored vision.LocalFeatures
	if err := plain.UnmarshalBinary(b[4 : 4+n]); err != nil {
		return err
	}
	if err := mirrored.UnmarshalBinary(b[4+n:]); err != nil {
		return err
	}
	p.plain, p.mirrored = &plain, &mirrored
	return nil
}

// ProductLocalFeatures returns the local features of the main item of each
// product's first image and of its mirror image, extracted with x once per
// image content and kept in the database (product_local_features), so
// other processes and later videos reuse them. Products whose image cannot
// be read get none.
func (c *CatalogSource) ProductLocalFeatures(ctx context.Context, x LocalFeatures, ids []string) (map[string]*productFeatures, error) {
	out := map[string]*productFeatures{}
	if c.Blobs == nil || len(ids) == 0 {
		return out, nil
	}
	refs, err := c.imageRefs(ctx, ids)
	if err != nil {
		return nil, err
	}
	local := c.localCache()
	// The next image is read and decoded while this one's features are
	// extracted (both of its runs at once, one thread each): the features
	// stage of catalog_virgio took 16.1 s that way against 18.0 s one
	// image at a time, on two cores. (With two-thread runs, the overlap
	// had slowed it from 77 s to 110 s.)
	model := localModel(x)
	loads := make(chan localLoad, 1)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(loads)
		for _, r := range refs {
			select {
			case loads <- c.loadLocal(lctx, local, model, r):
			case <-lctx.Done():
				return
			}
		}
	}()
	for l := range loads {
		if l.err != nil {
			return nil, l.err
		}
		f := l.f
		if f == nil {
			// An image shared with an earlier product may have been
			// read before that one's features were ready.
			f, _ = local.Get(model + " " + l.r.sha)
		}
		if f == nil {
			if l.img == nil {
				continue // unreadable image
			}
			var err error
			if f, err = c.extractLocal(ctx, x, l); err != nil {
				return nil, err
			}
		}
		local.Add(model+" "+l.r.sha, f)
		out[l.r.id] = f
	}
	return out, nil
}

// localCache returns the in-memory cache of product local features, by
// model and image content.
func (c *CatalogSource) localCache() *lru.Cache[string, *productFeatures] {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.local == nil {
		c.local = lru.New[string](localCacheBytes, (*productFeatures).bytes)
	}
	return c.local
}

// StoreDecodedFeatures extracts and stores the local features and colour
// histogram of a product image's main item (rect, in img's pixels) from
// pixels the caller has already decoded, unless this image content has
// features of x's model stored; ProductLocalFeatures then reads them.
func (c *CatalogSource) StoreDecodedFeatures(ctx context.Context, x LocalFeatures, id, sha string, img image.Image, rect image.Rectangle) error {
	if sha == "" {
		return nil
	}
	model := localModel(x)
	if f, err := c.storedLocal(ctx, model, sha); f != nil || err != nil {
		return err
	}
	f, err := c.extractLocal(ctx, x, localLoad{r: imageRef{id: id, sha: sha}, img: img, rect: itemRect(img.Bounds(), rect)})
	if err != nil {
		return err
	}
	c.localCache().Add(model+" "+sha, f)
	return nil
}

// StoreDecodedFeatures delegates to the catalog source.
func (c *ServiceCatalog) StoreDecodedFeatures(ctx context.Context, x LocalFeatures, id, sha string, img image.Image, rect image.Rectangle) error {
	src, err := c.source(ctx)
	if err != nil {
		return err
	}
	return src.StoreDecodedFeatures(ctx, x, id, sha, img, rect)
}

// decodedStorer is a catalog that stores a product image's local features
// from pixels decoded elsewhere (CatalogSource, ServiceCatalog).
type decodedStorer interface {
	StoreDecodedFeatures(ctx context.Context, x LocalFeatures, id, sha string, img image.Image, rect image.Rectangle) error
}

var (
	_ decodedStorer = (*CatalogSource)(nil)
	_ decodedStorer = (*ServiceCatalog)(nil)
)

// localLoad is a product image's stored local features, or its decoded
// main item when there are none.
type localLoad struct {
	r    imageRef
	f    *productFeatures
	img  image.Image
	rect image.Rectangle
	err  error
}

// loadLocal finds r's local features in memory or the database, and
// decodes its main item when they are missing (img stays nil when the
// image cannot be read).
func (c *CatalogSource) loadLocal(ctx context.Context, local *lru.Cache[string, *productFeatures], model string, r imageRef) localLoad {
	l := localLoad{r: r}
	if f, ok := local.Get(model + " " + r.sha); ok {
		l.f = f
		return l
	}
	if l.f, l.err = c.storedLocal(ctx, model, r.sha); l.f != nil || l.err != nil {
		return l
	}
	if img, rect, ok := c.mainItem(ctx, r.key, r.box); ok {
		l.img, l.rect = img, rect
	}
	return l
}

// storedLocal returns the stored local features of model for an image
// content; nil when there are none or they cannot be read (they are
// extracted again).
func (c *CatalogSource) storedLocal(ctx context.Context, model, sha string) (*productFeatures, error) {
	db := c.Store.DB()
	var b []byte
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT features FROM product_local_features WHERE image_sha256 = ? AND model = ?`), sha, model).Scan(&b)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("product local features: %w", err)
	}
	var pf productFeatures
	if pf.UnmarshalBinary(b) != nil {
		return nil, nil
	}
	return &pf, nil
}

// extractLocal extracts and stores the local features of a decoded main
// item, and its colour histogram, which comes with the same decode (the
// features stage of an import runs here first).
func (c *CatalogSource) extractLocal(ctx context.Context, x LocalFeatures, l localLoad) (*productFeatures, error) {
	r := l.r
	if v, ok := colourVector(r, match.ColourHistogram(l.img, l.rect, true)); ok {
		if err := c.Store.PutVectors(ctx, []catalog.Vector{v}); err != nil {
			return nil, fmt.Errorf("product %s colours: %w", r.id, err)
		}
	}
	f := &productFeatures{}
	var err error
	if f.plain, f.mirrored, err = x.ExtractMirrored(ctx, l.img, l.rect, productPoints); err != nil {
		return nil, fmt.Errorf("product %s local features: %w", r.id, err)
	}
	data, err := f.MarshalBinary()
	if err != nil {
		return nil, err
	}
	db := c.Store.DB()
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO product_local_features(image_sha256, model, features) VALUES (?, ?, ?)
		ON CONFLICT (image_sha256) DO UPDATE SET model = excluded.model, features = excluded.features`), r.sha, localModel(x), data); err != nil {
		return nil, fmt.Errorf("store product local features: %w", err)
	}
	return f, nil
}

// ProductLocalFeatures delegates to the catalog source.
func (c *ServiceCatalog) ProductLocalFeatures(ctx context.Context, x LocalFeatures, ids []string) (map[string]*productFeatures, error) {
	src, err := c.source(ctx)
	if err != nil {
		return nil, err
	}
	return src.ProductLocalFeatures(ctx, x, ids)
}

var (
	_ productLocal = (*CatalogSource)(nil)
	_ productLocal = (*ServiceCatalog)(nil)
)

// warm computes, or loads when stored, what matching derives from the
// given products and the catalog version: their colour histograms and the
// appearance index (snapshotted for the next process).
func (c *CatalogSource) warm(ctx context.Context, ids []string) error {
	// In chunks: each is one query with an IN list, and memory stays
	// bounded on a large import.
	const chunk = 256
	for lo := 0; lo < len(ids); lo += chunk {
		if _, err := c.productColours(ctx, ids[lo:min(lo+chunk, len(ids))]); err != nil {
			return err
		}
	}
	if _, err := c.appearanceIndex(ctx); err != nil {
		return err
	}
	_, _, err := c.projected(ctx)
	return err
}

func (c *ServiceCatalog) warm(ctx context.Context, ids []string) error {
	src, err := c.source(ctx)
	if err != nil {
		return err
	}
	return src.warm(ctx, ids)
}

// catalogWarmer is a catalog whose derived state can be prepared ahead of
// the first match.
type catalogWarmer interface {
	warm(ctx context.Context, ids []string) error
}

var (
	_ catalogWarmer = (*CatalogSource)(nil)
	_ catalogWarmer = (*ServiceCatalog)(nil)
)

// CatalogImageDecoded is the catalog's Decoded hook (the embed stage of
// an import): it stores the verification features and colour histogram of
// a product's main item from the picture the stage has just decoded, so
// the features stage (PrepareCatalog) finds them and reads no image again.
func (s *Service) CatalogImageDecoded(ctx context.Context, d catalog.DecodedImage) error {
	st, ok := s.deps.Catalog.(decodedStorer)
	if !ok {
		return nil
	}
	if err := s.ensureModels(ctx); err != nil {
		return err
	}
	if s.deps.Local == nil {
		return nil
	}
	return st.StoreDecodedFeatures(ctx, s.deps.Local, d.ProductID, d.SHA256, d.Image, d.Item.Box)
}

// PrepareCatalog is the catalog's Prepare hook (the features stage of an
// import): it stores the verification features of the given products
// (PrepareProducts), their colour histograms, and the appearance index of
// the new catalog version, so no match, in this process or a fresh one,
// derives them from product images again.
func (s *Service) PrepareCatalog(ctx context.Context, ids []string, report func(done, total int64)) error {
	if err := s.PrepareProducts(ctx, ids, report); err != nil {
		return err
	}
	w, ok := s.deps.Catalog.(catalogWarmer)
	if !ok {
		return nil
	}
	if err := s.prepareCatalog(ctx); err != nil {
		return err
	}
	if err := w.warm(ctx, ids); err != nil {
		return fmt.Errorf("prepare catalog: %w", err)
	}
	return nil
}
