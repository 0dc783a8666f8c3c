package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/commerce/shoptest"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/video"
	"github.com/vitrine-dev/vitrine/internal/vision"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

func shopCatalog(t *testing.T, samples, dir string, categories, outOfStock map[string]bool) string {
	t.Helper()
	p, err := shoptest.WriteCatalog(samples, dir, categories, outOfStock)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEndToEndDemoPage processes a video for real (the catalog ingested
// with the real models; a video made by eval/gen from the shop's packshots
// on the sample videos, analysed by the real workflow),
// then opens the server's demo page in Chromium: hotspots sit where the
// published document puts them, a click opens the matched product's card,
// and the player's events are counted.
func TestEndToEndDemoPage(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests a catalog and analyses a video with the real models")
	}
	samples := testenv.Samples(t)
	modelsDir := testenv.Models(t)
	testenv.NeedFFmpeg(t)
	testenv.Chromium(t)
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db := testDB(t, dir)
	bs := testBlobs(t, dir)
	runner, err := jobs.New(ctx, db, jobs.Options{Workers: 1, Exclusive: true, PollInterval: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}

	// The catalog, ingested with the real models.
	var once sync.Once
	var catModels *catalog.Models
	var catErr error
	cs := catalog.NewService(db, bs, nil, func(ctx context.Context) (*catalog.Models, error) {
		once.Do(func() {
			catModels, catErr = catvision.Open(ctx, vision.Options{ModelsDir: modelsDir, Threads: 2, Logger: log})
		})
		return catModels, catErr
	}, log)
	t.Cleanup(func() { cs.Close() })
	// A labelled video made from the shop's own packshots composited into
	// the sample videos (eval/gen), so the analysis has products to find.
	shopDir := filepath.Join(dir, "shop")
	cats := map[string]bool{"Tshirts": true, "Jeans": true, "Shirts": true, "Casual Shoes": true, "Handbags": true, "Sunglasses": true}
	shopCatalog(t, samples, shopDir, cats, nil)
	res, err := gen.Generate(ctx, gen.Config{CatalogDir: shopDir, Backgrounds: gen.SampleBackgrounds(samples), Seed: 3, Shots: 3}, dir, "gen")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Truth.Items) == 0 {
		t.Fatal("generated video holds no products")
	}
	// The first inserted product sold out: its card must offer alternatives.
	soldOut := res.Truth.Items[0].ProductID
	csvPath := shopCatalog(t, samples, shopDir, cats, map[string]bool{soldOut: true})
	ing, err := cs.Ingester(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sum, err := ing.ImportFile(ctx, csvPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("catalog: %+v in %v", sum, time.Since(start).Round(time.Millisecond))
	sr, err := cs.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The video, analysed by the real workflow.
	vm, err := vision.Open(ctx, vision.Options{ModelsDir: modelsDir, Threads: 2, Logger: log, Detector: vision.DetectorOptions{ScoreThreshold: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	vcfg := video.Config{WorkDir: filepath.Join(dir, "work"), DetectorName: vm.Detector.Spec().Name, EmbedderName: vm.Embedder.Spec().Name}
	vdeps := video.Deps{DB: db, Blobs: bs, Runner: runner, Logger: log, Detector: vm.Detector, Embedder: vm.Embedder, Garments: vm.Garments,
		Catalog: &video.CatalogSource{Index: sr.Index, Store: cs.Store, Model: catModels.Model, Blobs: bs}}
	if vm.Appearance != nil {
		vdeps.Appearance = vm.Appearance
		vcfg.AppearanceName = vm.Appearance.Spec().Name
	}
	// Local-feature verification, as `vitrine serve` wires it: the
	// calibrated confidence counts on its inlier evidence.
	local, err := vision.OpenLocalFeatures(modelsDir, vision.LocalFeatureOptions{SessionOptions: vision.SessionOptions{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	vdeps.Local = local
	vsvc, err := video.New(vcfg, vdeps)
	if err != nil {
		t.Fatal(err)
	}
	if err := vsvc.Register(runner); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		runner.Stop(sctx)
	})
	file, err := os.Open(res.VideoPath)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	start = time.Now()
	v, err := vsvc.Add(ctx, file, "generated-lookbook.mp4", 0)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	wf, err := runner.Wait(wctx, v.WorkflowID, nil)
	if err != nil || wf.State != jobs.StateSucceeded {
		t.Fatalf("video workflow: %v %+v", err, wf)
	}
	t.Logf("video %s analysed in %v", v.ID, time.Since(start).Round(time.Millisecond))

	// The server, as `vitrine serve` builds it.
	cfg, err := config.Load(func(k string) (string, bool) {
		if k == "VITRINE_DATA_DIR" {
			return dir, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := apikey.New(db)
	readKey, _, err := keys.Create(ctx, apikey.ScopeRead, "read")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Deps{Config: cfg, DB: db, Blob: bs, Runner: runner, Keys: keys, Catalog: cs, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	adminGet := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+readKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(b, v) != nil {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}

	// Out of stock: the real similar search offers in-stock products of the
	// same category.
	var red struct {
		Category     string
		Availability string
		Alternatives []struct {
			ID, Category, Availability string
			AlternativeFor             string `json:"alternative_for"`
		}
	}
	adminGet("/v1/commerce/products/"+soldOut, &red)
	if red.Availability != "out_of_stock" || len(red.Alternatives) == 0 {
		t.Fatalf("sold-out product %+v: want alternatives", red)
	}
	for _, a := range red.Alternatives {
		if a.Category != red.Category || a.Availability != "in_stock" || a.AlternativeFor != soldOut {
			t.Errorf("alternative %+v: want an in-stock %s for %s", a, red.Category, soldOut)
		}
	}

	// The published document, as the player will get it.
	raw, _, err := vsvc.Shoppable(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	doc := playertest.LoadDoc(t, raw)
	items := playertest.ShoppableItems(doc)
	t.Logf("document: %d shots, %d items, %d shoppable", len(doc.Shots), len(doc.Items), len(items))
	if len(items) == 0 {
		t.Fatalf("the analysis found nothing to shop in the generated video: %s", raw)
	}

	bctx := playertest.Browser(t)
	errs := playertest.WatchErrors(bctx)
	playertest.Do(t, bctx, chromedp.Navigate(hs.URL+"/demo/"+v.ID))
	playertest.WaitJS(t, bctx, "player ready on the demo page", playertest.ReadyJS, 60*time.Second)

	// Hotspots at the middle of each item's span, and where items overlap.
	var first *shoppable.Item
	for i := range items {
		it := items[i]
		mid := (it.StartS + it.EndS) / 2
		playertest.Seek(t, bctx, mid)
		st := playertest.Read(t, bctx)
		playertest.CheckHotspots(t, doc, st, 3)
		for _, sp := range st.Spots {
			if sp.Item == it.ID && (first == nil || sp.Product == soldOut) {
				first = &items[i]
			}
		}
		if i >= 5 {
			break
		}
	}
	if first == nil {
		t.Fatal("no hotspot was shown for any item")
	}
	playertest.Seek(t, bctx, (first.StartS+first.EndS)/2)
	playertest.Screenshot(t, bctx, "e2e-hotspots.png")

	// A click opens the card of the product the document matched.
	st := playertest.Read(t, bctx)
	var sp *playertest.Spot
	for i := range st.Spots {
		if st.Spots[i].Item == first.ID {
			sp = &st.Spots[i]
		}
	}
	if sp == nil {
		t.Fatalf("no hotspot for item %s at %.2fs: %+v", first.ID, st.T, st.Spots)
	}
	want := first.ProductID
	if want == "" {
		want = first.Matches[0].ProductID
	}
	p, err := cs.Store.Get(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	playertest.Click(t, bctx, sp.Rect.CX(), sp.Rect.CY())
	st = playertest.Read(t, bctx)
	if !st.Card.Open || st.Card.Product != want || st.Card.Title != p.Title {
		t.Fatalf("card %+v, want product %s %q", st.Card, want, p.Title)
	}
	if want == soldOut && (!strings.Contains(st.Card.Text, "Out of stock") || len(st.Card.Alts) == 0) {
		t.Errorf("card of the sold-out product: %q alternatives %v", st.Card.Text, st.Card.Alts)
	}
	playertest.Screenshot(t, bctx, "e2e-card.png")
	playertest.Do(t, bctx, chromedp.KeyEvent(kb.Escape))

	// Playing shows items long enough for impressions; the click was sent too.
	playertest.Seek(t, bctx, first.StartS)
	playertest.Eval[bool](t, bctx, `(async () => { await `+playertest.Shadow+`.querySelector('video').play(); return true; })()`)
	var rep struct {
		Total struct{ Impressions, Clicks int }
		Rows  []struct{ ID string }
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		adminGet("/v1/analytics/videos/"+v.ID+"?days=1", &rep)
		if rep.Total.Impressions >= 1 && rep.Total.Clicks >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events did not arrive: %+v", rep)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("analytics: %+v", rep)
	errs.Check(t)
}
