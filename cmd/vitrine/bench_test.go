package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// samplesEnv returns the sample data directory, skipping when absent.
func samplesEnv(t testing.TB) string {
	t.Helper()
	return testenv.Samples(t, filepath.Join("catalog", "products.csv"))
}

func TestBenchGen(t *testing.T) {
	samples := samplesEnv(t)
	env := cleanEnv()
	gen := func(out string) {
		t.Helper()
		so, se, code := vitrine(t, env, "bench", "gen", "--samples", samples, "--out", out, "--count", "2", "--seed", "5",
			"--width", "192", "--height", "108", "--fps", "12", "--shots", "3")
		if code != 0 {
			t.Fatalf("bench gen exit %d: %s", code, se)
		}
		if strings.Count(so, ".gt.json") != 2 {
			t.Fatalf("bench gen output: %s", so)
		}
	}
	a, b := t.TempDir(), t.TempDir()
	gen(a)
	gen(b)
	for _, name := range []string{"gen-5", "gen-6"} {
		v, err := groundtruth.Load(filepath.Join(a, name+".gt.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Shots) != 3 || v.Width != 192 {
			t.Errorf("%s: %d shots, width %d", name, len(v.Shots), v.Width)
		}
		if st, err := os.Stat(filepath.Join(a, name+".mp4")); err != nil || st.Size() == 0 {
			t.Errorf("%s.mp4 missing: %v", name, err)
		}
		x, _ := os.ReadFile(filepath.Join(a, name+".gt.json"))
		y, _ := os.ReadFile(filepath.Join(b, name+".gt.json"))
		if !bytes.Equal(x, y) {
			t.Errorf("%s: the same seed wrote different ground truth", name)
		}
	}
	if _, se, code := vitrine(t, env, "bench", "gen", "--count", "0"); code == 0 || strings.Count(strings.TrimSpace(se), "\n") != 0 {
		t.Errorf("--count 0: exit %d, stderr %q", code, se)
	}
}

func TestBenchGenReshot(t *testing.T) {
	samples := testenv.Samples(t, filepath.Join("catalog_virgio", "products.csv"))
	out := t.TempDir()
	so, se, code := vitrine(t, cleanEnv(), "bench", "gen", "--set", "reshot", "--samples", samples, "--out", out, "--count", "1", "--seed", "4",
		"--width", "180", "--height", "320", "--fps", "6")
	if code != 0 || !strings.Contains(so, "reshot-4.gt.json") {
		t.Fatalf("bench gen --set reshot exit %d: %s %s", code, so, se)
	}
	v, err := groundtruth.Load(filepath.Join(out, "reshot-4.gt.json"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Generator != "vitrine-eval-reshot/2" || v.Width != 180 || len(v.Items) == 0 {
		t.Fatalf("generator %q width %d, %d items", v.Generator, v.Width, len(v.Items))
	}
	for _, it := range v.Items {
		if _, ok := it.Strengths["warp"]; !ok {
			t.Errorf("item %s has no warp strength: %v", it.ProductID, it.Strengths)
		}
	}
}

func TestBenchReport(t *testing.T) {
	samples := samplesEnv(t)
	env := cleanEnv(sharedEnv(t)...)
	out, work := t.TempDir(), t.TempDir()
	// The API suite serves an ingested catalog; 20 products keep its
	// import (models, then the features stage) short.
	cat := smallCatalog(t, filepath.Join(samples, "catalog"), 20)
	_, se, code := vitrine(t, env, "bench", "--samples", samples, "--catalog", cat, "--out", out, "--work", work, "--ann-n", "2000", "--log-level", "warn", "ann", "api")
	if code != 0 {
		t.Fatalf("bench exit %d: %s", code, se)
	}
	f, err := os.Open(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := bench.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sections) != 2 || r.Machine.Cores < 1 || len(r.Models) == 0 || r.Versions["onnxruntime"] == "" {
		t.Fatalf("report header: sections %d, machine %+v, models %d, versions %v", len(r.Sections), r.Machine, len(r.Models), r.Versions)
	}
	for _, s := range r.Sections {
		if s.Status != bench.StatusOK {
			t.Errorf("%s: %s %s", s.Name, s.Status, s.Note)
		}
	}
	if m, _ := r.Section("ann").Metric("recall@10"); m.Value < 0.8 {
		t.Errorf("ann recall@10 = %v", m.Value)
	}
	if m, _ := r.Section("api").Metric("errors"); m.Value != 0 {
		t.Errorf("api errors = %v", m.Value)
	}
	md, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil || !bytes.Contains(md, []byte("## Headline numbers")) {
		t.Errorf("REPORT.md: %v", err)
	}
	if _, se, code := vitrine(t, env, "bench", "--samples", samples, "nope"); code != 1 || !strings.Contains(se, "unknown suite") {
		t.Errorf("unknown suite: exit %d, stderr %q", code, se)
	}
}

// smallCatalog copies the first n products of the catalog in dir (its
// products.csv and their images) to a temporary directory.
func smallCatalog(t *testing.T, dir string, n int) string {
	t.Helper()
	rows := testenv.CatalogRows(t, dir)
	img := slices.Index(rows[0], "image")
	if img < 0 {
		t.Fatalf("%s/products.csv has no image column", dir)
	}
	out := t.TempDir()
	rows = rows[:min(len(rows), n+1)]
	for _, r := range rows[1:] {
		b, err := os.ReadFile(filepath.Join(dir, r[img]))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(out, r[img])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.Create(filepath.Join(out, "products.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := csv.NewWriter(w).WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBenchColdProcess checks the e2e suite's cold run: vitrine video add
// in a fresh process on a copy of the bench's installation, while the
// bench's own process holds the data directory.
func TestBenchColdProcess(t *testing.T) {
	samples := samplesEnv(t)
	shared := sharedEnv(t)
	cfg, err := config.Load(func(k string) (string, bool) {
		for _, kv := range shared {
			if name, v, _ := strings.Cut(kv, "="); name == k {
				return v, true
			}
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	work := t.TempDir()
	cat := smallCatalog(t, filepath.Join(samples, "catalog"), 10)
	ba := newBenchApp(cfg, work, cat)
	ba.exe = binPath
	defer ba.Close(ctx)
	if _, err := ba.IngestCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	video := filepath.Join(samples, "videos", "flickd_virgio_reel_2025-05-22_textonly.mp4")
	d, err := ba.ColdProcess(ctx, video)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(work, "cold", "vitrine.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM shoppable_docs`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the cold run's copy holds %d documents (%v), want 1", n, err)
	}
	t.Logf("cold run of a %s took %v", filepath.Base(video), d)
	if _, err := ba.ColdProcess(ctx, filepath.Join(work, "missing.mp4")); err == nil {
		t.Error("cold run of a missing file: no error")
	}
}
