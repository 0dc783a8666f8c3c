package video

import (
	"context"
	"image"
	"sync/atomic"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// countingEmbedder counts the images it embeds.
type countingEmbedder struct {
	Embedder
	n atomic.Int64
}

func (c *countingEmbedder) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	c.n.Add(int64(len(imgs)))
	return c.Embedder.EmbedImages(ctx, imgs)
}

// TestCatalogProjection checks the learned projection's life cycle: the
// first source embeds the synthetic views of every product image, fits
// the projection and snapshots it; each product's own catalog vector
// finds the product first in it; a fresh source (a restart, another
// node) loads it without running the model; a catalog change refits
// after embedding the new images' views only; and with the projection
// off the source has no projected search.
func TestCatalogProjection(t *testing.T) {
	samples := testenv.Samples(t)
	e := newEnv(t, envOptions{models: true, catalog: smallCatalog(t, samples, 8)})
	ctx := context.Background()
	emb := &countingEmbedder{Embedder: loadModels(t).vision.Embedder}
	opts := ProjectionOptions{Views: 3, Dim: 64, Viewer: catvision.Views{}}
	fresh := func(x Embedder) *CatalogSource {
		c := &CatalogSource{Index: e.catalog.Index, Store: e.catalog.Store, Model: e.catalog.Model, Blobs: e.catalog.Blobs}
		c.UseProjection(x, e.catalog.Model, opts)
		return c
	}
	products := func() map[string][]float32 {
		out := map[string][]float32{}
		ps, _, err := e.catalog.Store.List(ctx, "", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			vs, err := e.catalog.Store.ProductVectors(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				if v.Kind == "crop" && v.Model == e.catalog.Model {
					out[p.ID] = v.Vec
				}
			}
		}
		return out
	}

	a := fresh(emb)
	first := products()
	if err := a.warm(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := emb.n.Load(), int64(3*len(first)); got != want {
		t.Errorf("first fit embedded %d views, want %d (3 per product image)", got, want)
	}
	if s := a.Stats(); s.ProjectionBuilt != 1 || s.ProjectionLoaded != 0 {
		t.Errorf("first source: %+v, want one projection built", s)
	}
	for id, v := range first {
		hits, err := a.SearchProjected(ctx, v, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0].ProductID != id {
			t.Errorf("projected search for %s's own crop vector: %+v", id, hits)
		}
	}

	b := fresh(refusingEmbedder{})
	for id, v := range first {
		hits, err := b.SearchProjected(ctx, v, 1)
		if err != nil {
			t.Fatalf("fresh source: %v", err)
		}
		if len(hits) == 0 || hits[0].ProductID != id {
			t.Errorf("fresh source, projected search for %s: %+v", id, hits)
		}
		break
	}
	if s := b.Stats(); s.ProjectionBuilt != 0 || s.ProjectionLoaded != 1 {
		t.Errorf("fresh source: %+v, want the projection loaded", s)
	}

	// A catalog change: only the new images' views are embedded.
	if _, err := e.ingest.ImportFile(ctx, smallCatalog(t, samples, 11), nil); err != nil {
		t.Fatal(err)
	}
	grown := products()
	emb.n.Store(0)
	if err := a.warm(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := emb.n.Load(), int64(3*(len(grown)-len(first))); got != want {
		t.Errorf("refit embedded %d views, want %d (the new images' only)", got, want)
	}
	if s := a.Stats(); s.ProjectionBuilt != 2 {
		t.Errorf("after the change: %+v, want a second fit", s)
	}

	off := fresh(emb)
	off.UseProjection(emb, e.catalog.Model, ProjectionOptions{Views: -1})
	for _, v := range grown {
		if hits, err := off.SearchProjected(ctx, v, 3); err != nil || len(hits) != 0 {
			t.Errorf("projection off: %v, %v", hits, err)
		}
		break
	}
}
