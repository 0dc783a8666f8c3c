package video

import (
	"context"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestCatalogChangeRematchesStaleVideos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the models on a sample video")
	}
	samples := testenv.Samples(t)
	e := newEnv(t, envOptions{models: true, catalog: smallCatalog(t, samples, 30)})
	ctx := context.Background()
	v, wf := e.addFile(t, samples+"/videos/videoavatars_person_turntable.mp4")
	if wf.State != jobs.StateSucceeded {
		t.Fatalf("workflow %s", wf.State)
	}
	ver1, err := e.catalog.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.RematchStale(ctx); err != nil || n != 0 {
		t.Fatalf("RematchStale with an unchanged catalog = %d, %v", n, err)
	}

	// Twenty more products: a new catalog version makes the video stale.
	if _, err := e.ingest.ImportFile(ctx, smallCatalog(t, samples, 50), nil); err != nil {
		t.Fatal(err)
	}
	ver2, _ := e.catalog.Version(ctx)
	if ver2 == ver1 {
		t.Fatalf("catalog version did not change (%s)", ver1)
	}
	// The watcher enqueues the re-match on its first pass.
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.svc.WatchCatalog(wctx, 50*time.Millisecond) }()
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := e.svc.Get(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		doc, _, err := e.svc.Shoppable(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		d, err := shoppable.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got.DocVersion == 2 && d.Models.CatalogVersion == ver2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no re-match after the catalog change: doc v%d catalog %q", got.DocVersion, d.Models.CatalogVersion)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Nothing more to do for this version, however often the watcher runs.
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var rematches int
	e.db.Read.QueryRow(`SELECT COUNT(*) FROM workflows WHERE subject = ? AND kind = ?`, v.ID, KindRematch).Scan(&rematches)
	if rematches != 1 {
		t.Fatalf("%d re-match workflows, want 1", rematches)
	}
}
