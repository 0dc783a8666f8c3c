package video

import (
	"context"
	"errors"
	"image"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestCatalogAppearance checks that products get appearance vectors of the
// model set with UseAppearance, that each product's own image is closer
// to its vector than other products' are, and that no model means no cue.
func TestCatalogAppearance(t *testing.T) {
	samples := testenv.Samples(t)
	e := newEnv(t, envOptions{models: true, catalog: smallCatalog(t, samples, 8)})
	ctx := context.Background()
	ps, _, err := e.catalog.Store.List(ctx, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	if len(ids) < 2 {
		t.Fatalf("catalog has %d products", len(ids))
	}
	// Ingestion stored an appearance vector per product; without them (a
	// catalog ingested before, or with another model) the source embeds
	// the product images itself.
	var n int
	if err := e.db.Read.QueryRow(`SELECT COUNT(*) FROM product_vectors WHERE kind = 'appearance'`).Scan(&n); err != nil || n != len(ids) {
		t.Fatalf("ingested appearance vectors: %d, %v; want %d", n, err, len(ids))
	}
	if _, err := e.db.Write.Exec(`DELETE FROM product_vectors WHERE kind = 'appearance'`); err != nil {
		t.Fatal(err)
	}

	info, err := e.catalog.ProductInfo(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if info[id].Appearance != nil {
			t.Fatalf("product %s has an appearance vector before a model is set", id)
		}
		if len(info[id].Colour) == 0 {
			t.Errorf("product %s has no colour histogram", id)
		}
	}

	app := loadModels(t).vision.Appearance
	e.catalog.UseAppearance(app, app.Spec().Name)
	info, err = e.catalog.ProductInfo(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		v := info[id].Appearance
		if len(v) != app.Dim() {
			t.Fatalf("product %s: appearance vector of length %d, want %d", id, len(v), app.Dim())
		}
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-3 {
			t.Errorf("product %s: appearance vector norm² %.4f, want 1", id, n)
		}
	}
	// Distinct products have distinct vectors.
	if c := cosine(info[ids[0]].Appearance, info[ids[1]].Appearance); c > 0.999 {
		t.Errorf("products %s and %s have the same appearance vector (cosine %.4f)", ids[0], ids[1], c)
	}

	// Each product's own vector finds it first.
	for _, id := range ids {
		hits, err := e.catalog.SearchAppearance(ctx, info[id].Appearance, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0].ProductID != id || hits[0].Score < 0.999 {
			t.Errorf("appearance search for %s's own vector: %+v", id, hits)
		}
	}

	// Cached: a second look-up returns the same vectors.
	again, err := e.catalog.ProductInfo(ctx, ids[:1])
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine(again[ids[0]].Appearance, info[ids[0]].Appearance); c < 0.9999 {
		t.Errorf("cached appearance differs (cosine %.4f)", c)
	}

	// Stored with the catalog: a new source (a restart, another node)
	// reads them instead of running the model.
	fresh := &CatalogSource{Index: e.catalog.Index, Store: e.catalog.Store, Model: e.catalog.Model, Blobs: e.catalog.Blobs}
	fresh.UseAppearance(refusingEmbedder{}, app.Spec().Name)
	stored, err := fresh.ProductInfo(ctx, ids)
	if err != nil {
		t.Fatalf("appearance vectors not read back from the catalog: %v", err)
	}
	for _, id := range ids {
		if c := cosine(stored[id].Appearance, info[id].Appearance); c < 0.9999 {
			t.Errorf("product %s: stored appearance differs (cosine %.4f)", id, c)
		}
	}

	// A catalog change: the new products' vectors, stored at ingestion,
	// join the index without the model running.
	if _, err := e.ingest.ImportFile(ctx, smallCatalog(t, samples, 12), nil); err != nil {
		t.Fatal(err)
	}
	all, _, err := e.catalog.Store.List(ctx, "", 0, 100)
	if err != nil || len(all) <= len(ids) {
		t.Fatalf("after the second import: %d products, %v", len(all), err)
	}
	var allIDs []string
	for _, p := range all {
		allIDs = append(allIDs, p.ID)
	}
	grown, err := fresh.ProductInfo(ctx, allIDs)
	if err != nil {
		t.Fatalf("new products' appearance vectors not read from the catalog: %v", err)
	}
	for _, id := range allIDs {
		if len(grown[id].Appearance) != app.Dim() {
			t.Errorf("product %s: no appearance vector after the catalog change", id)
		}
	}

	e.catalog.UseAppearance(nil, "")
	info, err = e.catalog.ProductInfo(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if info[ids[0]].Appearance != nil {
		t.Error("appearance vector kept after the model was removed")
	}
	if hits, err := e.catalog.SearchAppearance(ctx, make([]float32, app.Dim()), 3); err != nil || len(hits) != 0 {
		t.Errorf("appearance search without a model: %v, %v", hits, err)
	}
}

func cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

// refusingEmbedder fails every call: a source given it must find every
// vector already stored.
type refusingEmbedder struct{}

func (refusingEmbedder) EmbedImages(context.Context, []image.Image) ([][]float32, error) {
	return nil, errors.New("the model was run")
}

// TestCatalogDerivedStateReused checks that what matching derives from the
// catalog (colour histograms of product images, the appearance index) is
// computed once per catalog version and stored: a second source, as in a
// fresh process or on another node, loads it without decoding a product
// image or building an index, and a catalog change invalidates the index
// and computes the new products' colours only.
func TestCatalogDerivedStateReused(t *testing.T) {
	samples := testenv.Samples(t)
	e := newEnv(t, envOptions{models: true, catalog: smallCatalog(t, samples, 6)})
	ctx := context.Background()
	app := loadModels(t).vision.Appearance
	if app == nil {
		t.Skip("no appearance model")
	}
	ids := func() []string {
		ps, _, err := e.catalog.Store.List(ctx, "", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	fresh := func(emb Embedder) *CatalogSource {
		c := &CatalogSource{Index: e.catalog.Index, Store: e.catalog.Store, Model: e.catalog.Model, Blobs: e.catalog.Blobs}
		c.UseAppearance(emb, app.Spec().Name)
		return c
	}
	first := ids()

	// The first source derives everything and stores it.
	a := fresh(app)
	infoA, err := a.ProductInfo(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Stats(), (DerivedStats{ColoursComputed: int64(len(first)), AppearanceBuilt: 1}); got != want {
		t.Errorf("first source: %+v, want %+v", got, want)
	}

	// A second one loads it. Its appearance model refuses to run, so a
	// rebuild that needed it would fail.
	b := fresh(refusingEmbedder{})
	infoB, err := b.ProductInfo(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Stats(), (DerivedStats{ColoursLoaded: int64(len(first)), AppearanceLoaded: 1}); got != want {
		t.Errorf("second source: %+v, want %+v", got, want)
	}
	for _, id := range first {
		if c := cosine(infoA[id].Colour, infoB[id].Colour); c < 0.9999 {
			t.Errorf("product %s: loaded colour histogram differs (cosine %.4f)", id, c)
		}
		if c := cosine(infoA[id].Appearance, infoB[id].Appearance); c < 0.9999 {
			t.Errorf("product %s: loaded appearance vector differs (cosine %.4f)", id, c)
		}
	}

	// A catalog change: the stored index is stale and rebuilt (from the
	// vectors stored at ingestion), the unchanged products' colours are
	// loaded and only the new products' computed.
	if _, err := e.ingest.ImportFile(ctx, smallCatalog(t, samples, 9), nil); err != nil {
		t.Fatal(err)
	}
	all := ids()
	if len(all) <= len(first) {
		t.Fatalf("after the second import: %d products", len(all))
	}
	c := fresh(refusingEmbedder{})
	infoC, err := c.ProductInfo(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	want := DerivedStats{ColoursComputed: int64(len(all) - len(first)), ColoursLoaded: int64(len(first)), AppearanceBuilt: 1}
	if got := c.Stats(); got != want {
		t.Errorf("after the catalog change: %+v, want %+v", got, want)
	}
	for _, id := range all {
		if len(infoC[id].Appearance) != app.Dim() || len(infoC[id].Colour) == 0 {
			t.Errorf("product %s: appearance %d, colour %d values after the change", id, len(infoC[id].Appearance), len(infoC[id].Colour))
		}
	}
	// Only the current version's snapshot is kept.
	keys, err := e.blobs.List(ctx, AppearanceSnapshotPrefix)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := e.catalog.Store.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != appearanceSnapshotKey(app.Spec().Name, ver) {
		t.Errorf("appearance snapshots %v, want only version %d's", keys, ver)
	}
}

// TestServiceCatalogIndexModel checks that a ServiceCatalog told the
// matching embedder (UseIndexModel) searches the catalog's index without
// opening the catalog's models.
func TestServiceCatalogIndexModel(t *testing.T) {
	ctx := context.Background()
	svc := catalog.NewService(storetest.SQLite().Open(t), nil, nil, func(context.Context) (*catalog.Models, error) {
		t.Error("the catalog's models were opened")
		return nil, errors.New("no models")
	}, nil)
	c := &ServiceCatalog{Svc: svc}
	c.UseIndexModel("m", 4)
	hits, err := c.Search(ctx, []float32{1, 0, 0, 0}, 5)
	if err != nil || len(hits) != 0 {
		t.Errorf("search of an empty catalog: %v, %v; want no hits and no error", hits, err)
	}
}

// TestPrewarm checks that Prewarm loads the models (once, through
// Deps.LoadModels) and the catalog's appearance index, and that a video's
// steps then use them instead of loading them again.
func TestPrewarm(t *testing.T) {
	samples := testenv.Samples(t)
	ms := loadModels(t).vision
	if ms.Appearance == nil {
		t.Skip("no appearance model")
	}
	var loads atomic.Int32
	e := newEnv(t, envOptions{models: true, catalog: smallCatalog(t, samples, 4), tweak: func(d *Deps) {
		d.Detector, d.Embedder, d.Appearance, d.Garments = nil, nil, nil, nil
		d.LoadModels = func(context.Context) (*Models, error) {
			loads.Add(1)
			return &Models{Detector: ms.Detector, Embedder: ms.Embedder, Appearance: ms.Appearance, Garments: ms.Garments}, nil
		}
	}})
	ctx := context.Background()
	if err := e.svc.Prewarm(ctx); err != nil {
		t.Fatal(err)
	}
	st := e.catalog.Stats()
	if n := loads.Load(); n != 1 || st.AppearanceBuilt+st.AppearanceLoaded != 1 {
		t.Fatalf("after Prewarm: models loaded %d times, appearance index %+v; want once and one index", n, st)
	}
	v, wf := e.addFile(t, filepath.Join(samples, "videos", "flickd_virgio_reel_2025-05-31.mp4"))
	if wf.State != jobs.StateSucceeded {
		t.Fatalf("workflow %s: %+v", wf.State, wf.Steps)
	}
	var tracks int
	if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM video_tracks WHERE video_id = ?`, v.ID).Scan(&tracks); err != nil || tracks == 0 {
		t.Fatalf("%d tracks (%v): the match step had nothing to look up", tracks, err)
	}
	if n, got := loads.Load(), e.catalog.Stats(); n != 1 || got.AppearanceBuilt != st.AppearanceBuilt || got.AppearanceLoaded != st.AppearanceLoaded {
		t.Errorf("after a video: models loaded %d times, appearance index %+v; want what Prewarm loaded (%+v)", n, got, st)
	}

	bare, err := New(Config{}, Deps{DB: e.db, Blobs: e.blobs})
	if err != nil {
		t.Fatal(err)
	}
	if err := bare.Prewarm(ctx); err == nil || !strings.Contains(err.Error(), "no analysis models") {
		t.Errorf("Prewarm without models: %v, want the missing models named", err)
	}
}
