package console_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api"
	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/review"
	"github.com/vitrine-dev/vitrine/internal/selftest"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/video"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// stack is a whole vitrine server as `vitrine serve` wires it: SQLite,
// blob directory, workflow runner, the real models behind the catalog and
// video workflows (review edits applied at assembly), and the API with the
// console, on loopback.
type stack struct {
	srv     *httptest.Server
	db      *store.DB
	blobs   *blob.Store
	runner  *jobs.Runner
	videos  *video.Service
	catalog *catalog.Service
	admin   string
	dir     string
	workDir string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	models := testenv.Models(t)
	testenv.NeedFFmpeg(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir := t.TempDir()
	cfg, err := config.Load(func(k string) (string, bool) {
		if k == "VITRINE_DATA_DIR" {
			return dir, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bs, err := blob.Open(ctx, filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 1, Exclusive: true, RetryBase: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	st := &stack{db: db, blobs: bs, runner: r, dir: dir, workDir: filepath.Join(dir, "work")}

	opts := vision.Options{ModelsDir: models, Threads: 2, Logger: log}
	// Loopback image URLs are allowed: the tests' shops serve them there.
	st.catalog = catalog.NewService(db, bs, fetch.New(fetch.Config{MaxBytes: catalog.DefaultMaxImageBytes, AllowedTypes: []string{"image/"}, AllowPrivate: true}),
		func(ctx context.Context) (*catalog.Models, error) { return catvision.Open(ctx, opts) }, log)
	t.Cleanup(func() { st.catalog.Close() })
	if err := r.Register(st.catalog.Definition()); err != nil {
		t.Fatal(err)
	}
	vopts := opts
	vopts.Detector = vision.DetectorOptions{ScoreThreshold: 0.1}
	vm, err := vision.Open(ctx, vopts)
	if err != nil {
		t.Fatalf("open models in %s: %v", models, err)
	}
	vcfg := video.Config{WorkDir: st.workDir, DetectorName: vm.Detector.Spec().Name, EmbedderName: vm.Embedder.Spec().Name}
	deps := video.Deps{DB: db, Blobs: bs, Runner: r, Logger: log, Detector: vm.Detector, Embedder: vm.Embedder, Garments: vm.Garments,
		Catalog: &video.ServiceCatalog{Svc: st.catalog, Blobs: bs}, Review: review.New(db)}
	if vm.Appearance != nil {
		deps.Appearance, vcfg.AppearanceName = vm.Appearance, vm.Appearance.Spec().Name
	}
	// Local-feature verification, as `vitrine serve` wires it.
	local, err := vision.OpenLocalFeatures(models, vision.LocalFeatureOptions{SessionOptions: vision.SessionOptions{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	deps.Local = local
	if st.videos, err = video.New(vcfg, deps); err != nil {
		t.Fatal(err)
	}
	if err := st.videos.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(selftest.Definition(selftest.Deps{DB: db, Blob: bs, ModelsDir: models})); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r.Stop(sctx)
	})
	keys := apikey.New(db)
	if st.admin, _, err = keys.Create(ctx, apikey.ScopeAdmin, "ops-admin"); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Deps{Config: cfg, DB: db, Blob: bs, Runner: r, Keys: keys, Catalog: st.catalog, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	st.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(st.srv.Close)
	return st
}

// call sends an API request with the admin key and decodes a JSON answer
// into out (when not nil).
func (st *stack) call(t *testing.T, method, path string, body io.Reader, out any) {
	t.Helper()
	req, err := http.NewRequest(method, st.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+st.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

// catalogFile writes a CSV of the first n sample products plus the extra
// ids, their images uploaded beforehand (POST /v1/catalog/images) and
// referenced as blob: references, as a merchant importing from a browser
// would do.
func (st *stack) catalogFile(t *testing.T, samples string, n int, extra ...string) string {
	t.Helper()
	rows := testenv.CatalogRows(t, filepath.Join(samples, "catalog"))
	head := rows[0]
	col := map[string]int{}
	for i, c := range head {
		col[c] = i
	}
	want := map[string]bool{}
	for _, id := range extra {
		want[id] = true
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"id", "title", "category", "colour", "image"})
	for i, row := range rows[1:] {
		if i >= n && !want[row[col["id"]]] {
			continue
		}
		img, err := os.ReadFile(filepath.Join(samples, "catalog", row[col["image"]]))
		if err != nil {
			t.Fatal(err)
		}
		var up struct {
			Ref string `json:"ref"`
		}
		st.call(t, "POST", "/v1/catalog/images", bytes.NewReader(img), &up)
		w.Write([]string{row[col["id"]], row[col["name"]], row[col["category"]], row[col["colour"]], up.Ref})
	}
	w.Flush()
	p := filepath.Join(t.TempDir(), "products.csv")
	if err := os.WriteFile(p, buf.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

// fixSource replaces a video's stored source with the file at path and
// drops the worker's local copy, as an operator re-uploading a damaged
// source would.
func (st *stack) fixSource(t *testing.T, id, path string) {
	t.Helper()
	v, err := st.videos.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := st.blobs.Put(context.Background(), v.BlobKey, f, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(st.workDir, id)); err != nil {
		t.Fatal(err)
	}
}

// shoppableDoc is the part of a published document the tests check.
type shoppableDoc struct {
	Version int `json:"version"`
	Items   []struct {
		ID        string  `json:"id"`
		Label     string  `json:"label"`
		StartS    float64 `json:"start_s"`
		Review    string  `json:"review"`
		ProductID string  `json:"product_id"`
		Matches   []struct {
			ProductID string  `json:"product_id"`
			Score     float64 `json:"score"`
		} `json:"matches"`
	} `json:"items"`
}

func (st *stack) published(t *testing.T, id string) shoppableDoc {
	t.Helper()
	var d shoppableDoc
	st.call(t, "GET", "/v1/videos/"+id+"/shoppable", nil, &d)
	return d
}

func (d shoppableDoc) item(id string) (review, product string, ok bool) {
	for _, it := range d.Items {
		if it.ID == id {
			return it.Review, it.ProductID, true
		}
	}
	return "", "", false
}

func (d shoppableDoc) start(id string) float64 {
	for _, it := range d.Items {
		if it.ID == id {
			return it.StartS
		}
	}
	return 0
}

func (d shoppableDoc) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "v%d:", d.Version)
	for _, it := range d.Items {
		fmt.Fprintf(&b, " %s=%s/%s", it.ID, it.Review, it.ProductID)
	}
	return b.String()
}
