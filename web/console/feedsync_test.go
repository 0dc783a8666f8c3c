package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

// feedShop is a shop on loopback that serves a Merchant Center XML feed
// (with an ETag) and the product images it links to; the test changes the
// feed between syncs, or breaks it.
type feedShop struct {
	srv     *httptest.Server
	samples string

	mu     sync.Mutex
	items  []feedItem
	broken bool
}

type feedItem struct{ id, title, category, avail string }

func newFeedShop(t *testing.T, samples string) *feedShop {
	t.Helper()
	fs := &feedShop{samples: samples}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed.xml", fs.feed)
	mux.HandleFunc("GET /img/{file}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(samples, "catalog", "images", filepath.Base(r.PathValue("file"))))
	})
	fs.srv = httptest.NewServer(mux)
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *feedShop) set(items []feedItem, broken bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.items, fs.broken = items, broken
}

func (fs *feedShop) feed(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	items, broken := fs.items, fs.broken
	fs.mu.Unlock()
	if broken {
		http.Error(w, "feed export is being rebuilt", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Loopback shop</title>
`)
	for i, it := range items {
		fmt.Fprintf(&b, `<item><g:id>%s</g:id><g:title>%s</g:title><g:link>%s/p/%s</g:link><g:image_link>%s/img/%s.jpg</g:image_link>
<g:price>%d.00 INR</g:price><g:availability>%s</g:availability><g:product_type>%s</g:product_type></item>
`, it.id, html.EscapeString(it.title), fs.srv.URL, it.id, fs.srv.URL, it.id, 499+100*i, it.avail, it.category)
	}
	b.WriteString("</channel></rss>\n")
	sum := sha256.Sum256(b.Bytes())
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Write(b.Bytes())
}

// publishDoc stores a sample video and publishes a shoppable document for
// it, as the video workflow would have.
func (st *stack) publishDoc(t *testing.T, docPath, video string, width, height int, duration float64) string {
	t.Helper()
	ctx := context.Background()
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := playertest.LoadDoc(t, raw)
	id := doc.Video.ID
	f, err := os.Open(video)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	key := "videos/" + id + "/source.mp4"
	if err := st.blobs.Put(ctx, key, f, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := st.db.Write.ExecContext(ctx, st.db.Rebind(`INSERT INTO videos(id, source, blob_key, state, width, height, duration_s, doc_version, created_at, updated_at)
		VALUES (?, ?, ?, 'ready', ?, ?, ?, 1, ?, ?)`), id, filepath.Base(video), key, width, height, duration, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.Write.ExecContext(ctx, st.db.Rebind(`INSERT INTO shoppable_docs(video_id, version, doc, vtt, created_at, published_at)
		VALUES (?, 1, ?, 'WEBVTT', ?, ?)`), id, string(raw), now, now); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestFeedSyncHidesRemovedProducts syncs a Merchant Center feed from a
// loopback shop, plays a published video whose five items sell five of
// its products, then syncs the feed again without one product and with
// another sold out: the player (through the server's public read path, as
// every embed gets it) no longer draws the removed product's hotspot while
// the other four stay, the sold-out one with its out-of-stock card, and the
// stored document keeps all five items. The console's catalog page then
// shows the feed's sync summary: last sync and its workflow, added,
// updated, removed and failed counts, the next scheduled run, and the
// error of a failed attempt.
func TestFeedSyncHidesRemovedProducts(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser and the catalog workflow")
	}
	samples := testenv.Samples(t)
	st := newStack(t)
	ctx := context.Background()
	// Product details are looked up afresh: the default cache would keep
	// serving the removed product for up to a minute.
	if err := os.WriteFile(filepath.Join(st.dir, "commerce.toml"), []byte("[cache]\nttl = \"1ms\"\nstale_while_revalidate = \"-1s\"\nnegative_ttl = \"1ms\"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	shop := newFeedShop(t, samples)
	items := []feedItem{
		{"16331", "Peter England Men Stripes Blue Polo T-Shirt", "Tshirts", "in stock"},
		{"12644", "Probase Men Solid White Polo T-shirts", "Tshirts", "in stock"},
		{"16647", "Facit Men Polo Tee Red Tshirt", "Tshirts", "in stock"},
		{"16820", "Locomotive Men Washed Blue Jeans", "Jeans", "in stock"},
		{"14942", "Status Quo Men Stripes Black Tshirts", "Tshirts", "in stock"},
	}
	shop.set(items, false)
	in, err := st.catalog.Ingester(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Wired as the server wires its schedule (app.FeedSyncer): each import
	// is a catalog workflow.
	syncer := &catalog.Syncer{Ingester: in, Dir: t.TempDir(), Every: 6 * time.Hour,
		Import: func(ctx context.Context, path string) (catalog.Summary, error) {
			batch, wf, err := st.catalog.EnqueueFile(ctx, st.runner, path)
			if err != nil {
				return catalog.Summary{}, err
			}
			return st.catalog.Wait(ctx, st.runner, batch, wf, nil)
		}}
	feedURL := shop.srv.URL + "/feed.xml"
	res, err := syncer.Sync(ctx, feedURL)
	if err != nil {
		t.Fatal(err)
	}
	if res.Import == nil || res.Import.Added != len(items) || res.Import.Failed != 0 {
		t.Fatalf("first sync: %+v, want %d products added", res.Import, len(items))
	}
	id := st.publishDoc(t, filepath.Join("..", "player", "testdata", "crowd.shoppable.json"),
		filepath.Join(samples, "videos", "videoavatars_person_turntable.mp4"), 630, 630, 8.242)

	bctx := playertest.Browser(t)
	errs := playertest.WatchErrors(bctx)
	// spots opens the demo page (as an embed: publishable key, public read
	// path), lets five hotspots show and returns the products drawn at 4 s.
	spots := func() []string {
		t.Helper()
		playertest.Do(t, bctx, chromedp.Navigate(st.srv.URL+"/demo/"+id))
		playertest.WaitJS(t, bctx, "player ready", playertest.ReadyJS, 30*time.Second)
		playertest.Eval[bool](t, bctx, `(() => { document.querySelector('vitrine-player').setAttribute('max-hotspots', '5'); return true; })()`)
		playertest.Seek(t, bctx, 4)
		var ps []string
		for _, sp := range playertest.Read(t, bctx).Spots {
			ps = append(ps, sp.Product)
		}
		slices.Sort(ps)
		return ps
	}
	all := []string{"12644", "14942", "16331", "16647", "16820"}
	if got := spots(); !slices.Equal(got, all) {
		t.Fatalf("before the second sync: hotspots of %v, want %v", got, all)
	}

	// The shop drops 14942 and sells out of 16647.
	next := slices.Clone(items)
	next[2].avail = "out of stock"
	next = slices.Delete(next, 4, 5)
	shop.set(next, false)
	res, err = syncer.Sync(ctx, feedURL)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Removed, []string{"14942"}) || res.Import.Updated != 1 || res.Import.Added != 0 {
		t.Fatalf("second sync: import %+v, removed %v; want 16647 updated and 14942 removed", res.Import, res.Removed)
	}
	want := []string{"12644", "16331", "16647", "16820"}
	var got []string
	// The public document is cached for a few seconds.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		if got = spots(); slices.Equal(got, want) || time.Now().After(end) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after 14942 was removed from the feed: hotspots of %v, want %v", got, want)
	}
	// The server leaves the item out of the public document, so any embed,
	// old players included, stops drawing it.
	pub := playertest.Eval[[]string](t, bctx, `(async () => { const p = document.querySelector('vitrine-player');
	  const r = await fetch(p._url('/public/v1/videos/' + p.getAttribute('video') + '/shoppable'));
	  return (await r.json()).items.map((it) => it.id); })()`)
	if !slices.Equal(pub, []string{"c1", "c2", "c3", "c4"}) {
		t.Errorf("public document items %v, want c1-c4 without c5 (14942)", pub)
	}
	for _, sp := range playertest.Read(t, bctx).Spots {
		if sp.Product == "16647" {
			playertest.Click(t, bctx, sp.Rect.CX(), sp.Rect.CY())
		}
	}
	if c := playertest.Read(t, bctx).Card; !c.Open || c.Product != "16647" || !strings.Contains(c.Text, "Out of stock") {
		t.Errorf("card of the sold-out 16647: open %v, product %q, text %q; want its out-of-stock card", c.Open, c.Product, c.Text)
	}
	playertest.Screenshot(t, bctx, "feed-sync-removed.png")
	if d := st.published(t, id); len(d.Items) != 5 {
		t.Errorf("the stored document has %d items after the sync, want the 5 published", len(d.Items))
	}
	errs.Check(t)

	// A failed attempt is recorded beside the last sync that worked.
	shop.set(next, true)
	if _, err := syncer.Sync(ctx, feedURL); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("sync of a broken feed: %v, want the shop's 500", err)
	}

	u := &ui{t: t, ctx: bctx, st: st}
	u.login()
	u.goTo("#/catalog", "#feeds tr.feed")
	type row struct {
		Feed, Last, Added, Updated, Removed, Failed, Next, Error string
		Workflow                                                 string
	}
	r := playertest.Eval[row](t, bctx, `(() => { const r = document.querySelector('#feeds tr.feed'), c = (s) => (r.querySelector(s) || {}).textContent || '';
	  return {Feed: r.dataset.feed, Last: c('.feed-last'), Added: c('.feed-added'), Updated: c('.feed-updated'), Removed: c('.feed-removed'),
	    Failed: c('.feed-failed'), Next: c('.feed-next'), Error: c('.feed-error'), Workflow: (r.querySelector('.feed-last a') || {hash: ''}).hash}; })()`)
	if r.Feed != feedURL || r.Added != "0" || r.Updated != "1" || r.Removed != "1" || r.Failed != "0" {
		t.Errorf("feed row %+v, want %s with 0 added, 1 updated, 1 removed, 0 failed", r, feedURL)
	}
	if !strings.HasPrefix(r.Workflow, "#/workflow/") {
		t.Errorf("the last sync %q does not link its import workflow", r.Last)
	}
	if r.Next == "" || r.Next == "not scheduled" || strings.HasPrefix(r.Next, "due") {
		t.Errorf("next run %q, want a time about 6 h ahead", r.Next)
	}
	if !strings.Contains(r.Error, "500") {
		t.Errorf("the failed attempt shows %q, want the shop's 500", r.Error)
	}
	u.screenshot("catalog-feed-syncs.png")
	errs.Check(t)
}
