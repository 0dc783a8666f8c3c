package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestRunCatalogFeeds runs the server's feed schedule against a loopback
// shop: the feed of the catalog_feeds setting is imported (through the
// catalog workflow, with the real models) as soon as the schedule starts,
// and the schedule stops with its context.
func TestRunCatalogFeeds(t *testing.T) {
	models := testenv.Models(t, "yolox_nano_coco_416.onnx")
	lib := testenv.ORTLib(t)
	img := testenv.SampleImage(t, "16331")
	var feedHits atomic.Int32
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feed.xml":
			feedHits.Add(1)
			fmt.Fprintf(w, `<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>F1</g:id><g:title>Feed dress</g:title>`+
				`<g:price>12.00 EUR</g:price><g:image_link>%s/a.jpg</g:image_link></item></channel></rss>`, srvURL)
		case "/a.jpg":
			w.Write(img)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	srvURL = srv.URL
	env := map[string]string{
		"VITRINE_DATA_DIR": t.TempDir(), "VITRINE_POLL_INTERVAL": "20ms", "VITRINE_MODELS": models, "VITRINE_ORT_LIB": lib,
		"VITRINE_FETCH_ALLOW_PRIVATE": "true", "VITRINE_CATALOG_FEEDS": srv.URL + "/feed.xml", "VITRINE_CATALOG_FEED_INTERVAL": "1h",
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := Open(ctx, cfg, NewLogger(cfg, io.Discard), Options{RequireLock: true, RunSteps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.RunCatalogFeeds(runCtx) }()
	var p catalog.Product
	for i := 0; i < 600; i++ {
		if p, err = a.Catalog.Store.Get(ctx, "F1"); err == nil && p.Status == catalog.StatusReady {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.Status != catalog.StatusReady || p.Title != "Feed dress" {
		t.Fatalf("feed product after the first round: %+v, %v", p, err)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the schedule did not stop with its context")
	}
	if n := feedHits.Load(); n != 1 {
		t.Errorf("feed fetched %d times within the first interval, want 1", n)
	}
}
