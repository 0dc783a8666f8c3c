package video

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// analysisModels are the real models, loaded once per test binary.
type analysisModels struct {
	vision *vision.Models
	cat    *catalog.Models
}

var (
	modelsOnce sync.Once
	models     *analysisModels
	modelsErr  error
)

func loadModels(t testing.TB) *analysisModels {
	t.Helper()
	dir := testenv.Models(t)
	modelsOnce.Do(func() {
		ctx := context.Background()
		var m analysisModels
		// Video analysis keeps weak boxes of any class as proposals.
		m.vision, modelsErr = vision.Open(ctx, vision.Options{ModelsDir: dir, Threads: max(1, runtime.NumCPU()/DetectWorkers), Runs: DetectWorkers, Detector: vision.DetectorOptions{ScoreThreshold: 0.1}})
		if modelsErr != nil {
			return
		}
		m.cat, modelsErr = catvision.Open(ctx, vision.Options{ModelsDir: dir, Threads: 2})
		models = &m
	})
	if modelsErr != nil {
		t.Fatalf("open models in %s: %v", dir, modelsErr)
	}
	return models
}

// testEnv is a fresh database, blob store and runner with the video
// workflows registered.
type testEnv struct {
	db      *store.DB
	blobs   *blob.Store
	runner  *jobs.Runner
	svc     *Service
	catalog *CatalogSource
	ingest  *catalog.Ingester
	dir     string
}

type envOptions struct {
	cfg     Config
	models  bool // load the real models
	catalog string
	tweak   func(*Deps)
}

func newEnv(t testing.TB, o envOptions) *testEnv {
	t.Helper()
	testenv.NeedFFmpeg(t)
	ctx := context.Background()
	dir := t.TempDir()
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
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 1, Exclusive: true, RetryBase: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{db: db, blobs: bs, runner: r, dir: dir}
	deps := Deps{DB: db, Blobs: bs, Runner: r, Logger: log}
	cfg := o.cfg
	cfg.WorkDir = filepath.Join(dir, "work")
	if o.models {
		m := loadModels(t)
		deps.Detector, deps.Embedder, deps.Appearance, deps.Garments = m.vision.Detector, m.vision.Embedder, m.vision.Appearance, m.vision.Garments
		cfg.DetectorName = m.vision.Detector.Spec().Name
		cfg.EmbedderName = m.vision.Embedder.Spec().Name
		if m.vision.Appearance != nil {
			cfg.AppearanceName = m.vision.Appearance.Spec().Name
		}
		st := catalog.NewStore(db)
		ix, err := catalog.OpenIndex(ctx, st, bs, m.cat.Model, m.cat.Dim, log)
		if err != nil {
			t.Fatal(err)
		}
		e.ingest = &catalog.Ingester{Store: st, Blobs: bs, Detector: m.cat.Detector, Embedder: m.cat.Embedder, Appearance: m.cat.Appearance, AppearanceModel: m.cat.AppearanceModel, Model: m.cat.Model, Shoppable: m.cat.Shoppable, Index: ix,
			Views: catvision.Views{}} // as the app's default gallery_views
		if o.catalog != "" {
			start := time.Now()
			sum, err := e.ingest.ImportFile(ctx, o.catalog, nil)
			if err != nil {
				t.Fatalf("import catalog %s: %v", o.catalog, err)
			}
			t.Logf("catalog: %d products ready in %v", sum.Added, time.Since(start).Round(time.Millisecond))
		}
		e.catalog = &CatalogSource{Index: ix, Store: st, Model: m.cat.Model, Blobs: bs}
		deps.Catalog = e.catalog
	}
	if o.tweak != nil {
		o.tweak(&deps)
	}
	e.svc, err = New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Stop(sctx)
	})
	return e
}

// addFile uploads path and waits for its workflow to finish.
func (e *testEnv) addFile(t testing.TB, path string) (Video, *jobs.Workflow) {
	t.Helper()
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := e.svc.Add(ctx, f, filepath.Base(path), 0)
	if err != nil {
		t.Fatalf("Add(%s): %v", path, err)
	}
	return v, e.wait(t, v.WorkflowID)
}

func (e *testEnv) wait(t testing.TB, wf int64) *jobs.Workflow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w, err := e.runner.Wait(ctx, wf, nil)
	if err != nil {
		t.Fatalf("wait for workflow %d: %v", wf, err)
	}
	return w
}
