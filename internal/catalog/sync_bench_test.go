package catalog_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// countingEmbedder counts the images a real embedder is run on.
type countingEmbedder struct {
	catalog.Embedder
	images atomic.Int64
}

func (c *countingEmbedder) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	c.images.Add(int64(len(imgs)))
	return c.Embedder.EmbedImages(ctx, imgs)
}

// bigFeedShop serves a Merchant Center feed of many items whose image
// links point at a small set of distinct photos (as a shop whose variants
// and colourways share packshots), plus photos made for changed items;
// it counts image requests.
type bigFeedShop struct {
	mu     sync.Mutex
	feed   []byte
	etag   string
	imgs   map[string][]byte
	images atomic.Int64
}

func (s *bigFeedShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	feed, etag, img := s.feed, s.etag, s.imgs[r.URL.Path]
	s.mu.Unlock()
	if r.URL.Path == "/feed.xml" {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(feed)
		return
	}
	if img == nil {
		http.NotFound(w, r)
		return
	}
	s.images.Add(1)
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(img)
}

// bigItem is one feed item: its photo, price and availability.
type bigItem struct {
	img   string
	price int
	avail string
}

func (s *bigFeedShop) setFeed(base string, items []bigItem) {
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>shop</title>` + "\n")
	for i, it := range items {
		fmt.Fprintf(bw, `<item><g:id>P%06d</g:id><g:title>Cotton tee %d</g:title><g:link>%s/p/%d</g:link><g:image_link>%s/img/%s.jpg</g:image_link>`+
			`<g:price>%d.00 EUR</g:price><g:availability>%s</g:availability><g:product_type>Tshirts</g:product_type></item>`+"\n",
			i, i, base, i, base, it.img, it.price, it.avail)
	}
	bw.WriteString("</channel></rss>\n")
	bw.Flush()
	sum := sha256.Sum256(b.Bytes())
	s.mu.Lock()
	s.feed, s.etag = b.Bytes(), `"`+hex.EncodeToString(sum[:8])+`"`
	s.mu.Unlock()
}

// variantPhoto is a sample photo with a mark that makes its content (and
// sha256) its own, as a new photo of a changed item is.
func variantPhoto(tb testing.TB, src []byte, n int) []byte {
	tb.Helper()
	img, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		tb.Fatal(err)
	}
	m := image.NewRGBA(img.Bounds())
	draw.Draw(m, m.Bounds(), img, img.Bounds().Min, draw.Src)
	mark := image.Rect(0, 0, 12, 12).Add(m.Bounds().Min)
	draw.Draw(m, mark, &image.Uniform{color.RGBA{uint8(n), uint8(n >> 8), 200, 255}}, image.Point{}, draw.Src)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, m, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// BenchmarkResyncMerchantFeed syncs a Merchant Center feed of
// VITRINE_RESYNC_ITEMS items (default 10000) from loopback, its images
// drawn from 40 distinct sample photos, then syncs it again with 1% of the
// items changed: half get a new photo of their own, half a new price and
// availability. It reports how many images the re-sync fetched and ran the
// models on (it must be the new photos only: unchanged items and price
// changes cost no fetch and no embedding), the products whose vectors it
// wrote, and both syncs' wall times. The vector index is left out: this
// measures the fetch and embed stages.
func BenchmarkResyncMerchantFeed(b *testing.B) {
	samples := testenv.Samples(b, "catalog/images/16331.jpg")
	n := 10_000
	if v := os.Getenv("VITRINE_RESYNC_ITEMS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 200 {
			b.Fatalf("VITRINE_RESYNC_ITEMS=%q: want a number of at least 200", v)
		}
	}
	ents, err := os.ReadDir(filepath.Join(samples, "catalog", "images"))
	if err != nil {
		b.Fatal(err)
	}
	shop := &bigFeedShop{imgs: map[string][]byte{}}
	var photos []string
	for _, e := range ents {
		if len(photos) == 40 {
			break
		}
		if !strings.HasSuffix(e.Name(), ".jpg") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(samples, "catalog", "images", e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		name := strings.TrimSuffix(e.Name(), ".jpg")
		shop.imgs["/img/"+name+".jpg"] = data
		photos = append(photos, name)
	}
	srv := httptest.NewServer(shop)
	defer srv.Close()
	ctx := context.Background()

	for range b.N {
		b.StopTimer()
		e := newEnv(b, fetch.Config{AllowPrivate: true, AllowedTypes: []string{"image/"}})
		e.in.Index = nil
		emb := &countingEmbedder{Embedder: e.in.Embedder}
		e.in.Embedder = emb
		s := &catalog.Syncer{Ingester: e.in, Dir: b.TempDir()}
		items := make([]bigItem, n)
		for i := range items {
			items[i] = bigItem{img: photos[i%len(photos)], price: 10 + i%90, avail: "in stock"}
		}
		shop.setFeed(srv.URL, items)
		start := time.Now()
		r, err := s.Sync(ctx, srv.URL+"/feed.xml")
		if err != nil {
			b.Fatal(err)
		}
		first := time.Since(start)
		if r.Import.Added != n {
			b.Fatalf("first sync: %+v", r.Import)
		}
		b.Logf("first sync: %d items, %d distinct photos: %d image requests, models run on %d images, %v",
			n, len(photos), shop.images.Load(), emb.images.Load(), first.Round(time.Millisecond))

		// 1% of the items change, spread over the feed: every 200th gets a
		// new photo, every 200th from the 100th a new price and stock.
		changed := 0
		newPhotos := map[string]bool{}
		for i := 0; i < n; i += 100 {
			if (i/100)%2 == 0 {
				name := fmt.Sprintf("new-%d", i)
				shop.mu.Lock()
				shop.imgs["/img/"+name+".jpg"] = variantPhoto(b, shop.imgs["/img/"+items[i].img+".jpg"], i)
				shop.mu.Unlock()
				items[i].img = name
				newPhotos[fmt.Sprintf("P%06d", i)] = true
			} else {
				items[i].price += 5
				items[i].avail = "out of stock"
			}
			changed++
		}
		shop.setFeed(srv.URL, items)
		fetched0, embedded0 := shop.images.Load(), emb.images.Load()
		since := time.Now().UTC()
		time.Sleep(10 * time.Millisecond) // vectors written by the re-sync carry a later time
		b.StartTimer()
		start = time.Now()
		r, err = s.Sync(ctx, srv.URL+"/feed.xml")
		if err != nil {
			b.Fatal(err)
		}
		resync := time.Since(start)
		b.StopTimer()
		fetched, embeddedImgs := shop.images.Load()-fetched0, emb.images.Load()-embedded0
		var ids []string
		rows, err := e.db.Read.Query(e.db.Rebind(`SELECT DISTINCT p.id FROM product_vectors v JOIN products p ON p.seq = v.product_seq WHERE v.created_at > ?`), since)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if r.Import.Updated != changed || r.Import.Unchanged != n-changed || r.Import.Failed != 0 {
			b.Fatalf("re-sync: %+v, want %d updated and %d unchanged", r.Import, changed, n-changed)
		}
		for _, id := range ids {
			if !newPhotos[id] {
				b.Errorf("re-sync wrote vectors of %s, whose photo did not change", id)
			}
		}
		if len(ids) != len(newPhotos) || fetched != int64(len(newPhotos)) {
			b.Errorf("re-sync: vectors of %d products written, %d images fetched; want the %d new photos", len(ids), fetched, len(newPhotos))
		}
		// Each embedding runs the embedder on a few views of one photo.
		perPhoto := float64(embeddedImgs) / float64(max(1, len(newPhotos)))
		b.Logf("re-sync: %d of %d items changed (%d new photos): %d image requests, vectors of %d products written, embedder run on %d views (%.0f per new photo), %v",
			changed, n, len(newPhotos), fetched, len(ids), embeddedImgs, perPhoto, resync.Round(time.Millisecond))
		b.ReportMetric(float64(n), "items")
		b.ReportMetric(float64(changed), "changed")
		b.ReportMetric(float64(len(ids)), "re-embedded-products")
		b.ReportMetric(float64(fetched), "re-fetched-images")
		b.ReportMetric(first.Seconds(), "first-sync-s")
		b.ReportMetric(resync.Seconds(), "resync-s")
	}
}
