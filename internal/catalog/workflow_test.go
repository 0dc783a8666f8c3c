package catalog_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

func startRunner(t *testing.T, e *env) *jobs.Runner {
	t.Helper()
	ctx := context.Background()
	r, err := jobs.New(ctx, e.db, jobs.Options{Workers: 1, Exclusive: true, PollInterval: 20 * time.Millisecond,
		RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, ProgressEvery: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(e.in.Definition()); err != nil {
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
	return r
}

func TestWorkflowImport(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { testWorkflowImport(t, newEnvOn(t, o, fetch.Config{})) })
	}
}

func testWorkflowImport(t *testing.T, e *env) {
	dir, _ := writeFixture(t)
	r := startRunner(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	path := filepath.Join(dir, "products.csv")
	csv := "id,name,category,price,currency,image\n" +
		"a,Blue polo,Tshirts,10,EUR,images/16331.jpg\n" +
		"b,White polo,Tshirts,12,EUR,images/12644.jpg\n" +
		"c,Broken,Tshirts,1,EUR,images/notes.jpg\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	// The features stage hands the batch's ready products to Prepare.
	var prepared []string
	e.in.Prepare = func(ctx context.Context, ids []string, report func(done, total int64)) error {
		prepared = append(prepared, ids...)
		report(int64(len(ids)), int64(len(ids)))
		return nil
	}
	batch, wf, err := e.in.EnqueueFile(ctx, r, path)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]bool{}
	s, err := e.in.Wait(ctx, r, batch, wf, func(p catalog.Progress) { steps[p.Step] = true })
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != 2 || s.Failed != 1 || s.State != "succeeded" {
		t.Fatalf("summary = %+v", s)
	}
	w, err := r.Workflow(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range w.Steps {
		names = append(names, st.Name+":"+st.State)
	}
	if got := strings.Join(names, " "); got != "parse:succeeded fetch:succeeded embed:succeeded index:succeeded features:succeeded" {
		t.Errorf("steps = %s", got)
	}
	if got := strings.Join(prepared, ","); got != "a,b" {
		t.Errorf("prepared products = %q, want the two ready ones a,b", got)
	}
	if !steps[catalog.StageIndex] {
		t.Errorf("progress never reported the index step: %v", steps)
	}
	if e.in.Index.Len() != 6 {
		t.Errorf("index holds %d vectors, want 6 (crop, whole and scene view of 2 images)", e.in.Index.Len())
	}

	// REST-style batch: products by value, images by uploaded blob.
	blobKey := ""
	{
		var key string
		e.db.Read.QueryRow(`SELECT blob_key FROM product_images WHERE blob_key <> '' LIMIT 1`).Scan(&key)
		blobKey = "blob:" + key
	}
	ps := []catalog.Product{
		{ID: "x", Title: "From the API", Images: []string{blobKey}},
		{ID: "y", Title: "Relative path refused", Images: []string{"images/16331.jpg"}},
	}
	batch, wf, err = e.in.EnqueueProducts(ctx, r, ps)
	if err != nil {
		t.Fatal(err)
	}
	s, err = e.in.Wait(ctx, r, batch, wf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != 1 || s.Failed != 1 || len(s.Errors) != 1 || !strings.Contains(s.Errors[0].Reason, "want an http(s) URL") {
		b, _ := json.Marshal(s)
		t.Fatalf("api batch summary = %s", b)
	}

	// File-level errors are refused before anything is enqueued.
	bad := filepath.Join(dir, "noid.csv")
	os.WriteFile(bad, []byte("name\nx\n"), 0o644)
	if _, _, err := e.in.EnqueueFile(ctx, r, bad); err == nil || !strings.Contains(err.Error(), "no product id column") {
		t.Errorf("enqueue without id column: %v", err)
	}
}

// TestParseResumes runs the parse stage twice on one batch, as a crash and
// retry would: rows recorded by the first run keep their outcome and are
// not counted twice.
func TestParseResumes(t *testing.T) {
	dir, _ := writeFixture(t)
	e := newEnv(t, fetch.Config{})
	ctx := context.Background()
	path := filepath.Join(dir, "products.csv")
	os.WriteFile(path, []byte("id,name,image\na,A,images/16331.jpg\nb,B,images/12644.jpg\n"), 0o644)
	batch, err := e.in.NewBatch(ctx, path, catalog.CSV)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := e.in.ParseFile(ctx, batch, path, nil); err != nil {
			t.Fatal(err)
		}
	}
	s, err := e.in.Summary(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 2 || s.Added != 2 {
		t.Fatalf("summary after two parse runs = %+v", s)
	}
}
