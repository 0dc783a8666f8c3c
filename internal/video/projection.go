package video

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/project"
	"github.com/vitrine-dev/vitrine/internal/vecindex"
	"github.com/vitrine-dev/vitrine/internal/vision/augment"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// The catalog's learned projection (internal/project) is fitted from the
// embeddings of every ready product's images and of synthetic views of
// them (internal/vision/augment): tilted, folded, mirrored, relit, partly
// covered, softened. Matching ranks products in it, where two views of
// one product are closer than two look-alike products (on the generated
// sets, per detection: the right product first 0.81 -> 0.87 of lookbook
// crops, 0.44 -> 0.56 of re-shot ones, 0.54 -> 0.62 of packshots).
//
// The views' vectors are stored with the catalog's (under the embedder's
// model name with viewModelSuffix, by image content), so a new catalog
// version embeds only new images; the projection and the index of
// projected vectors are fitted once per catalog version and snapshotted
// to the blob store, so a fresh process or another node loads them.
const (
	// viewModelSuffix marks stored vectors of synthetic views.
	viewModelSuffix = "+views"
	// viewKindPrefix prefixes their kinds: view-0, view-1, ...
	viewKindPrefix = "synth-"
	// ProjectedSnapshotPrefix is the blob key prefix of the projection
	// and its index, next to the catalog index's.
	ProjectedSnapshotPrefix = "index/projected-"
	// projectionProducts caps the products a fit reads (sampled evenly by
	// id), which bounds its memory and time on a large catalog; the
	// projection still maps every product's vectors.
	projectionProducts = 2000
)

// ProjectionOptions configures the learned projection.
type ProjectionOptions struct {
	// Views is the number of synthetic views per product image; 0 (the
	// default) or negative leaves the projection off. 6 is what was
	// measured (docs/ARCHITECTURE.md).
	Views int
	// Dim is the projected dimension (default 512).
	Dim int
	// Viewer gives the garment regions of on-model photos, which views
	// are also drawn from (nil: the main item and the whole image only).
	Viewer catalog.Viewer
}

func (o ProjectionOptions) withDefaults() ProjectionOptions {
	if o.Dim <= 0 {
		o.Dim = 512
	}
	return o
}

// UseProjection sets the embedder whose vectors the catalog index holds
// (model names them) and turns on ranking in the learned projection; a
// nil embedder or no Views turns it off.
func (c *CatalogSource) UseProjection(e Embedder, model string, o ProjectionOptions) {
	o = o.withDefaults()
	c.projMu.Lock()
	defer c.projMu.Unlock()
	if c.projModel != model || (c.projEmb == nil) != (e == nil) || c.projOpts.Views != o.Views || c.projOpts.Dim != o.Dim {
		c.projIx, c.proj = nil, nil
	}
	c.projEmb, c.projModel, c.projOpts = e, model, o
}

// projected returns the projection and the index of projected vectors for
// the current catalog version, fitting and snapshotting them when no
// snapshot exists. It returns nils when the projection is off or the
// catalog is too small to fit one.
func (c *CatalogSource) projected(ctx context.Context) (*project.Projection, *vecindex.Index, error) {
	if c.Blobs == nil {
		return nil, nil, nil
	}
	ver, err := c.Store.Version(ctx)
	if err != nil {
		return nil, nil, err
	}
	c.projMu.Lock()
	defer c.projMu.Unlock()
	if c.projEmb == nil || c.projOpts.Views <= 0 {
		return nil, nil, nil
	}
	if c.projIx != nil && c.projVer == ver {
		return c.proj, c.projIx, nil
	}
	if p, ix, err := c.loadProjected(ctx, ver); err == nil {
		c.stats.projectionLoaded.Add(1)
		c.proj, c.projIx, c.projVer = p, ix, ver
		return p, ix, nil
	}
	p, ix, err := c.fitProjected(ctx)
	if err != nil || p == nil {
		return nil, nil, err
	}
	c.stats.projectionBuilt.Add(1)
	// A snapshot that cannot be written costs the next process a fit,
	// not this match.
	_ = c.saveProjected(ctx, ver, p, ix)
	c.proj, c.projIx, c.projVer = p, ix, ver
	return p, ix, nil
}

// fitProjected embeds the missing synthetic views, fits the projection and
// builds the index of projected vectors.
func (c *CatalogSource) fitProjected(ctx context.Context) (*project.Projection, *vecindex.Index, error) {
	start := time.Now()
	refs, err := c.imageRefs(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := c.embedViews(ctx, refs); err != nil {
		return nil, nil, err
	}
	viewModel := c.projModel + viewModelSuffix
	// Products read for the fit: all, or an even sample by id hash.
	sampled := map[string]bool{}
	step := max(1, (len(refs)+projectionProducts-1)/projectionProducts)
	for _, r := range refs {
		if idHash(r.id)%uint64(step) == 0 {
			sampled[r.id] = true
		}
	}
	groups := map[string][][]float32{}
	type iv struct {
		v catalog.Vector
		a vecindex.Attrs
	}
	var indexed []iv
	for _, model := range []string{c.projModel, viewModel} {
		err := c.Store.EachVector(ctx, model, func(v catalog.Vector, p catalog.Product) error {
			if model == c.projModel {
				if !catalog.Indexed(v.Kind) {
					return nil
				}
				indexed = append(indexed, iv{v, catalog.AttrsOf(p)})
			}
			if sampled[p.ID] {
				groups[p.ID] = append(groups[p.ID], v.Vec)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("catalog projection: %w", err)
		}
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	gs := make([][][]float32, len(ids))
	for i, id := range ids {
		gs[i] = groups[id]
	}
	p, err := project.Fit(gs, project.Config{Dim: c.projOpts.Dim})
	if err != nil {
		if err == project.ErrTooFew {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("catalog projection: %w", err)
	}
	ix, err := vecindex.New(vecindex.Config{Dim: p.Out, Capacity: len(indexed), Seed: 1})
	if err != nil {
		return nil, nil, fmt.Errorf("catalog projection: %w", err)
	}
	vecs := make([][]float32, len(indexed))
	for i, x := range indexed {
		vecs[i] = x.v.Vec
	}
	vecs = p.ApplyAll(vecs)
	for i, x := range indexed {
		id := catalog.VectorID(x.v)
		if err := ix.Upsert(id, vecs[i], x.a); err != nil {
			return nil, nil, fmt.Errorf("catalog projection: %w", err)
		}
	}
	c.log().Info("catalog: projection fitted", "products", len(gs), "vectors", len(indexed), "dim", p.Out, "took", time.Since(start).Round(time.Millisecond))
	return p, ix, nil
}

// embedViews embeds Views synthetic views of each of refs (every ready
// product's first image) whose views are not stored yet, and stores them.
func (c *CatalogSource) embedViews(ctx context.Context, refs []imageRef) error {
	viewModel := c.projModel + viewModelSuffix
	have := map[string]int{}
	err := c.Store.EachVector(ctx, viewModel, func(v catalog.Vector, _ catalog.Product) error {
		have[v.Image]++
		return nil
	})
	if err != nil {
		return fmt.Errorf("catalog views: %w", err)
	}
	var todo []imageRef
	seen := map[string]bool{}
	for _, r := range refs {
		if r.sha != "" && have[r.sha] < c.projOpts.Views && !seen[r.sha] {
			seen[r.sha] = true
			todo = append(todo, r)
		}
	}
	params := augment.Default()
	// Small batches bound memory; each is stored before the next, so an
	// interrupted build resumes where it stopped.
	const batch = 8
	for lo := 0; lo < len(todo); lo += batch {
		var imgs []image.Image
		var out []catalog.Vector
		for _, r := range todo[lo:min(lo+batch, len(todo))] {
			img, rect, ok := c.mainItem(ctx, r.key, r.box)
			if !ok {
				continue
			}
			regions := []image.Rectangle{rect, img.Bounds()}
			if c.projOpts.Viewer != nil {
				views := c.projOpts.Viewer.Views(img.Bounds(), catalog.Item{Label: r.label, Box: rect}, r.attrs.Category)
				for _, k := range slices.Sorted(maps.Keys(views)) {
					if v := views[k].Intersect(img.Bounds()); !v.Empty() {
						regions = append(regions, v)
					}
				}
			}
			// Seeded by content: the same image always gets the same views.
			rng := rand.New(rand.NewPCG(idHash(r.sha), 0x5eed))
			for k := range c.projOpts.Views {
				imgs = append(imgs, augment.View(imageio.Crop(img, regions[k%len(regions)]), params, rng))
				out = append(out, catalog.Vector{ProductID: r.id, Image: r.sha, Kind: viewKindPrefix + strconv.Itoa(k), Model: viewModel})
			}
		}
		if len(imgs) == 0 {
			continue
		}
		vecs, err := c.projEmb.EmbedImages(ctx, imgs)
		if err != nil {
			return fmt.Errorf("catalog views: %w", err)
		}
		if len(vecs) != len(out) {
			return fmt.Errorf("catalog views: %d vectors for %d views", len(vecs), len(out))
		}
		for i := range out {
			out[i].Vec = vecs[i]
		}
		if err := c.Store.PutVectors(ctx, out); err != nil {
			return fmt.Errorf("catalog views: %w", err)
		}
	}
	return nil
}

func idHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func projectedKeys(model string, ver int64) (proj, ix string) {
	base := ProjectedSnapshotPrefix + safeKey(model) + "-" + strconv.FormatInt(ver, 10)
	return base + ".proj", base + ".hnsw"
}

// loadProjected reads the projection and its index snapshotted for
// catalog version ver.
func (c *CatalogSource) loadProjected(ctx context.Context, ver int64) (*project.Projection, *vecindex.Index, error) {
	pk, ik := projectedKeys(c.projModel, ver)
	data, err := c.readBlob(ctx, pk)
	if err != nil {
		return nil, nil, err
	}
	var p project.Projection
	if err := p.UnmarshalBinary(data); err != nil {
		return nil, nil, err
	}
	if p.Out > c.projOpts.Dim {
		return nil, nil, fmt.Errorf("projection of dimension %d, want at most %d", p.Out, c.projOpts.Dim)
	}
	r, err := c.Blobs.Get(ctx, ik)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	ix, err := vecindex.Load(r)
	if err != nil {
		return nil, nil, err
	}
	if ix.Stamp() != uint64(ver) || ix.Dim() != p.Out {
		return nil, nil, fmt.Errorf("projected snapshot stamp %d dim %d, want %d and %d", ix.Stamp(), ix.Dim(), ver, p.Out)
	}
	return &p, ix, nil
}

func (c *CatalogSource) readBlob(ctx context.Context, key string) ([]byte, error) {
	r, err := c.Blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 64<<20))
}

// saveProjected stores the projection and its index for catalog version
// ver and removes those of older versions.
func (c *CatalogSource) saveProjected(ctx context.Context, ver int64, p *project.Projection, ix *vecindex.Index) error {
	pk, ik := projectedKeys(c.projModel, ver)
	data, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	ix.SetStamp(uint64(ver))
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		return fmt.Errorf("projected snapshot: %w", err)
	}
	// The index last: a reader needs both, and loads only a stamped index.
	if err := c.Blobs.Put(ctx, pk, bytes.NewReader(data), "application/octet-stream"); err != nil {
		return fmt.Errorf("projection snapshot: %w", err)
	}
	if err := c.Blobs.Put(ctx, ik, &buf, "application/octet-stream"); err != nil {
		return fmt.Errorf("projected snapshot: %w", err)
	}
	c.pruneSnapshots(ctx, ProjectedSnapshotPrefix+safeKey(c.projModel)+"-", pk, ik)
	return nil
}

// SearchProjected returns the k nearest products of vec in the catalog's
// learned projection (match.ProjectedSearcher); none when it has none.
func (c *CatalogSource) SearchProjected(ctx context.Context, vec []float32, k int) ([]match.Candidate, error) {
	p, ix, err := c.projected(ctx)
	if err != nil || p == nil || len(vec) != p.In {
		return nil, err
	}
	hits, err := ix.Search(p.Apply(vec), k, c.Filter)
	if err != nil {
		return nil, fmt.Errorf("catalog projected search: %w", err)
	}
	return candidates(hits), nil
}
