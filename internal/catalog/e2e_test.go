package catalog_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

var (
	modelsOnce sync.Once
	models     *catalog.Models
	modelsErr  error
)

// loadModels opens the real models once per test binary.
func loadModels(t testing.TB) *catalog.Models {
	t.Helper()
	dir := testenv.Models(t)
	modelsOnce.Do(func() {
		models, modelsErr = catvision.Open(context.Background(), vision.Options{ModelsDir: dir, Threads: 2, Runs: catalog.DefaultEmbedWorkers})
	})
	if modelsErr != nil {
		t.Fatalf("open models in %s: %v", dir, modelsErr)
	}
	return models
}

// env is a catalog on a fresh SQLite file and blob directory.
type env struct {
	db       *store.DB
	blobs    *blob.Store
	st       *catalog.Store
	in       *catalog.Ingester
	search   *catalog.Searcher
	fetcher  *fetch.Fetcher
	blobsDir string
}

func newEnv(t testing.TB, fcfg fetch.Config) *env {
	t.Helper()
	return newEnvOn(t, storetest.SQLite(), fcfg)
}

// newEnvOn is newEnv on a database of the opener's dialect.
func newEnvOn(t testing.TB, o storetest.Opener, fcfg fetch.Config) *env {
	t.Helper()
	loadModels(t)
	ctx := context.Background()
	dir := t.TempDir()
	db := o.Open(t)
	bdir := filepath.Join(dir, "blobs")
	bs, err := blob.Open(ctx, bdir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	e := &env{db: db, blobs: bs, st: catalog.NewStore(db), blobsDir: bdir}
	e.openIndex(t)
	e.fetcher = fetch.New(fcfg)
	e.in.Fetcher = e.fetcher
	return e
}

// openIndex (re)opens the index as a restart would, and rewires ingester
// and searcher to it.
func (e *env) openIndex(t testing.TB) *catalog.Index {
	t.Helper()
	m := loadModels(t)
	ix, err := catalog.OpenIndex(context.Background(), e.st, e.blobs, m.Model, m.Dim, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.in = &catalog.Ingester{Store: e.st, Blobs: e.blobs, Fetcher: e.fetcher, Detector: m.Detector, Embedder: m.Embedder,
		Appearance: m.Appearance, AppearanceModel: m.AppearanceModel, Model: m.Model, Shoppable: m.Shoppable, Index: ix}
	e.search = &catalog.Searcher{Store: e.st, Index: ix, Detector: m.Detector, Embedder: m.Embedder, Shoppable: m.Shoppable}
	return ix
}

func (e *env) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRow(e.db.Rebind(q), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestImportSampleCatalog(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 420 images")
	}
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { testImportSampleCatalog(t, newEnvOn(t, o, fetch.Config{})) })
	}
}

func testImportSampleCatalog(t *testing.T, e *env) {
	samples := testenv.Samples(t)
	file := filepath.Join(samples, "catalog", "products.csv")
	ctx := context.Background()

	var last catalog.Progress
	s, err := e.in.ImportFile(ctx, file, func(p catalog.Progress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != 420 || s.Failed != 0 || s.Total != 420 {
		t.Fatalf("first import summary = %+v", s)
	}
	if last.Step != catalog.StageIndex || last.Done != 420 {
		t.Errorf("last progress = %+v, want index 420/420", last)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM products WHERE status = 'ready'`); n != 420 {
		t.Fatalf("ready products = %d, want 420", n)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM product_vectors WHERE kind IN ('crop', 'whole', 'scene')`); n != 1260 {
		t.Errorf("vectors = %d, want 1260 (crop, whole and scene view per image)", n)
	}
	// The video matcher's appearance model embeds every main item too.
	if n := e.count(t, `SELECT COUNT(*) FROM product_vectors WHERE kind = 'appearance' AND model = ? AND dim = 512`, e.in.AppearanceModel); e.in.AppearanceModel == "" || n != 420 {
		t.Errorf("appearance vectors of model %q = %d, want 420", e.in.AppearanceModel, n)
	}
	if n := e.in.Index.Len(); n != 1260 {
		t.Errorf("index holds %d vectors, want 1260", n)
	}
	version := s.Version

	t.Run("reimport is a no-op", func(t *testing.T) {
		before := e.count(t, `SELECT COUNT(*) FROM product_vectors`)
		var maxCreated string
		e.db.Read.QueryRow(`SELECT MAX(created_at) FROM product_vectors`).Scan(&maxCreated)
		s2, err := e.in.ImportFile(ctx, file, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s2.Unchanged != 420 || s2.Added+s2.Updated+s2.Failed != 0 || s2.Version != version {
			t.Fatalf("re-import summary = %+v (version before %d)", s2, version)
		}
		var maxCreated2 string
		e.db.Read.QueryRow(`SELECT MAX(created_at) FROM product_vectors`).Scan(&maxCreated2)
		if after := e.count(t, `SELECT COUNT(*) FROM product_vectors`); after != before || maxCreated2 != maxCreated {
			t.Errorf("vectors changed on re-import: %d -> %d, newest %s -> %s", before, after, maxCreated, maxCreated2)
		}
	})

	t.Run("reimport completes vectors an older release did not make", func(t *testing.T) {
		// Products imported before the scene view existed have no such
		// vector; importing the same file embeds just those images again.
		const ids = `('16331', '12644', '14942')`
		if _, err := e.db.Write.Exec(`DELETE FROM product_vectors WHERE kind = 'scene'
			AND product_seq IN (SELECT seq FROM products WHERE id IN ` + ids + `)`); err != nil {
			t.Fatal(err)
		}
		old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := e.db.Write.Exec(e.db.Rebind(`UPDATE product_vectors SET created_at = ?`), old); err != nil {
			t.Fatal(err)
		}
		s2, err := e.in.ImportFile(ctx, file, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s2.Unchanged != 420 || s2.Failed != 0 {
			t.Fatalf("re-import summary = %+v", s2)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM product_vectors WHERE kind = 'scene'`); n != 420 {
			t.Errorf("scene vectors after re-import = %d, want 420", n)
		}
		if n := e.count(t, `SELECT COUNT(DISTINCT product_seq) FROM product_vectors WHERE created_at > ?`, old.Add(time.Hour)); n != 3 {
			t.Errorf("re-import re-embedded %d products, want the 3 without a scene view", n)
		}
		if n := e.in.Index.Len(); n != 1260 {
			t.Errorf("index holds %d vectors after re-import, want 1260", n)
		}
	})

	t.Run("search by catalog image returns that product first", func(t *testing.T) {
		for _, id := range []string{"16331", "12644", "14942", "12496"} {
			b, err := os.ReadFile(filepath.Join(samples, "catalog", "images", id+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			items, err := e.search.SearchImage(ctx, b, 5, catalog.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			whole := items[len(items)-1]
			if whole.Label != "image" || len(whole.Results) == 0 || whole.Results[0].Product.ID != id {
				t.Errorf("%s: whole-image results %+v", id, firstIDs(whole.Results))
			}
			if whole.Results[0].Score < 0.99 {
				t.Errorf("%s: self score %.3f, want ~1", id, whole.Results[0].Score)
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		p, err := e.st.Get(ctx, "16331")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(samples, "catalog", "images", "16331.jpg"))
		items, err := e.search.SearchImage(ctx, b, 10, catalog.Filter{Categories: []string{"Handbags"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			for _, r := range it.Results {
				if r.Product.Category != "Handbags" {
					t.Fatalf("category filter let %s (%s) through", r.Product.ID, r.Product.Category)
				}
			}
		}
		if p.Category == "Handbags" {
			t.Fatal("test product should not be a handbag")
		}
	})

	t.Run("similar excludes the product itself", func(t *testing.T) {
		rs, err := e.search.Similar(ctx, "16331", 5, catalog.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 5 {
			t.Fatalf("similar returned %d results", len(rs))
		}
		for _, r := range rs {
			if r.Product.ID == "16331" {
				t.Fatal("similar returned the product itself")
			}
		}
		if _, err := e.search.Similar(ctx, "no-such-id", 5, catalog.Filter{}); err == nil {
			t.Error("similar of an unknown id: no error")
		}
	})

	t.Run("text search", func(t *testing.T) {
		rs, err := e.search.SearchText(ctx, "sunglasses", 10, catalog.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 {
			t.Fatal("no results for sunglasses")
		}
		for _, r := range rs {
			if r.Product.Category != "Sunglasses" {
				t.Errorf("sunglasses query returned %s %q (%s)", r.Product.ID, r.Product.Title, r.Product.Category)
			}
		}
		rs, err = e.search.SearchText(ctx, "blue polo", 5, catalog.Filter{})
		if err != nil || len(rs) == 0 || rs[0].Product.ID == "" {
			t.Fatalf("blue polo: %v %v", rs, err)
		}
		if _, err := e.search.SearchText(ctx, "  ** ", 5, catalog.Filter{}); err == nil {
			t.Error("empty query: no error")
		}
	})

	t.Run("restart loads the snapshot", func(t *testing.T) {
		ver, _ := e.st.Version(ctx)
		if ok, _ := e.blobs.Exists(ctx, catalog.SnapshotKey(ver)); !ok {
			t.Fatalf("no snapshot %s", catalog.SnapshotKey(ver))
		}
		ix := e.openIndex(t)
		if ix.Len() != 1260 {
			t.Errorf("reloaded index has %d vectors", ix.Len())
		}
	})

	t.Run("delete removes from search", func(t *testing.T) {
		before, _ := e.st.Version(ctx)
		s, err := e.in.Delete(ctx, []string{"16331", "missing"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Deleted != 1 || s.Failed != 1 || s.Version <= before {
			t.Errorf("delete summary = %+v (version before %d)", s, before)
		}
		b, _ := os.ReadFile(filepath.Join(samples, "catalog", "images", "16331.jpg"))
		items, err := e.search.SearchImage(ctx, b, 50, catalog.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			for _, r := range it.Results {
				if r.Product.ID == "16331" {
					t.Fatal("deleted product still found")
				}
			}
		}
		if _, err := e.st.Get(ctx, "16331"); err == nil {
			t.Error("deleted product still stored")
		}
		// A restart after the delete must not resurrect it.
		ix := e.openIndex(t)
		if ix.Len() != 1257 {
			t.Errorf("index after delete and restart has %d vectors, want 1257", ix.Len())
		}
	})

	t.Run("stale snapshot is rebuilt", func(t *testing.T) {
		// Change the catalog behind the index's back: the snapshot's stamp
		// no longer matches and the index is rebuilt from stored vectors.
		if err := e.st.Delete(ctx, "12644"); err != nil {
			t.Fatal(err)
		}
		ix := e.openIndex(t)
		if ix.Len() != 1254 {
			t.Errorf("rebuilt index has %d vectors, want 1254", ix.Len())
		}
	})

	t.Run("snapshot after an outside change is consistent", func(t *testing.T) {
		// Another process deletes a product; this process's index still has
		// it until its next snapshot, which must not record the stale graph.
		if err := e.st.Delete(ctx, "14942"); err != nil {
			t.Fatal(err)
		}
		if err := e.in.Index.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.in.Index.Len(); n != 1251 {
			t.Errorf("index after snapshot has %d vectors, want 1251", n)
		}
		if ix := e.openIndex(t); ix.Len() != 1251 {
			t.Errorf("index loaded from the snapshot has %d vectors, want 1251", ix.Len())
		}
	})
}

func firstIDs(rs []catalog.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s:%.3f", r.Product.ID, r.Score))
	}
	return out
}
