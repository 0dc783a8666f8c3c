package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/commerce/shoptest"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

// TestDemoPageOfServe is the shoppable-video loop with the real binary: a
// catalog imported with `vitrine catalog import`, a video processed with
// `vitrine video add` by a running `vitrine serve`, and that server's demo
// page in Chromium showing hotspots where the published document puts
// them, opening product cards, and sending events that `vitrine analytics`
// reports.
func TestDemoPageOfServe(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a catalog and analyses a video with the real models")
	}
	shared := sharedEnv(t)
	samples := testenv.Samples(t, filepath.Join("catalog", "products.csv"))
	testenv.Chromium(t)
	admin, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dataDir, work := t.TempDir(), t.TempDir()
	env := cleanEnv(append(shared, "VITRINE_DATA_DIR="+dataDir, "VITRINE_ADMIN_KEY="+admin, "VITRINE_POLL_INTERVAL=50ms")...)

	shop := filepath.Join(work, "shop")
	cats := map[string]bool{"Tshirts": true, "Jeans": true, "Shirts": true, "Casual Shoes": true, "Handbags": true, "Sunglasses": true}
	csvPath, err := shoptest.WriteCatalog(samples, shop, cats, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gen.Generate(context.Background(), gen.Config{CatalogDir: shop, Backgrounds: gen.SampleBackgrounds(samples), Seed: 3, Shots: 3}, work, "lookbook")
	if err != nil {
		t.Fatal(err)
	}
	if out, e, code := vitrine(t, env, "catalog", "import", "--quiet", csvPath); code != 0 {
		t.Fatalf("catalog import: exit %d\n%s\n%s", code, out, e)
	}

	s := startServer(t, env, dataDir)
	out, e, code := vitrine(t, env, "video", "add", "--json", "--quiet", res.VideoPath)
	if code != 0 {
		t.Fatalf("video add: exit %d\n%s\n%s\n%s", code, out, e, s.log())
	}
	var v struct{ ID string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID == "" {
		t.Fatalf("video add --json: %q", out)
	}
	raw, e, code := vitrine(t, env, "video", "shoppable", v.ID)
	if code != 0 {
		t.Fatalf("video shoppable: exit %d %s", code, e)
	}
	doc := playertest.LoadDoc(t, []byte(raw))
	items := playertest.ShoppableItems(doc)
	if len(items) == 0 {
		t.Fatalf("nothing to shop in the processed video: %s", raw)
	}

	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	playertest.Do(t, ctx, chromedp.Navigate(s.url+"/demo/"+v.ID))
	playertest.WaitJS(t, ctx, "player ready on the demo page of vitrine serve", playertest.ReadyJS, 60*time.Second)
	it := items[0]
	playertest.Seek(t, ctx, (it.StartS+it.EndS)/2)
	st := playertest.Read(t, ctx)
	playertest.CheckHotspots(t, doc, st, 3)
	playertest.Screenshot(t, ctx, "serve-demo.png")
	// Overlapping tracks of one product share a hotspot: click whichever
	// item is shown and expect its product.
	if len(st.Spots) == 0 {
		t.Fatalf("no hotspot at %.2fs", st.T)
	}
	sp := &st.Spots[0]
	for _, x := range doc.Items {
		if x.ID == sp.Item {
			it = x
		}
	}
	playertest.Click(t, ctx, sp.Rect.CX(), sp.Rect.CY())
	card := playertest.Read(t, ctx).Card
	if !card.Open || card.Product != playertest.ProductOf(it) || !strings.Contains(card.Text, "₹") {
		t.Fatalf("card %+v, want product %s with a rupee price", card, playertest.ProductOf(it))
	}
	playertest.Eval[bool](t, ctx, `(async () => { await `+playertest.Shadow+`.querySelector('video').play(); return true; })()`)

	var rep struct {
		Total struct{ Impressions, Clicks int }
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, e, code := vitrine(t, env, "analytics", "video", v.ID, "--json", "--days", "1")
		if code != 0 {
			t.Fatalf("analytics: exit %d %s", code, e)
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Total.Impressions >= 1 && rep.Total.Clicks >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events never counted: %s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The text report names the products by their catalog titles.
	if out, _, _ := vitrine(t, env, "analytics", "video", v.ID); !strings.Contains(out, "TITLE") || !strings.Contains(out, card.Title) {
		t.Errorf("analytics video report %q: want the title %q", out, card.Title)
	}
	errs.Check(t)
}
