package catalog_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// feedServer is a loopback shop: it serves a Merchant Center feed that the
// test changes between syncs, with an ETag it honours, and the product
// images, counting every request.
type feedServer struct {
	*httptest.Server
	mu     sync.Mutex
	feed   string
	imgs   map[string][]byte
	hits   map[string]int
	status map[int]int // feed responses by status
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[r.URL.Path]++
	if r.URL.Path == "/feed" {
		sum := sha256.Sum256([]byte(s.feed))
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			s.status[304]++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.status[200]++
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write([]byte(s.feed))
		return
	}
	b, ok := s.imgs[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(b)
}

func (s *feedServer) set(items ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feed = `<?xml version="1.0"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>` + "\n" + strings.Join(items, "\n") + "\n</channel></rss>\n"
}

// vecCount is the vector count of a vectors() result.
func vecCount(v string) int {
	var n int
	fmt.Sscan(v, &n)
	return n
}

func (s *feedServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// TestSyncFeed syncs a feed that changes between runs, on each database.
func TestSyncFeed(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { testSyncFeed(t, newEnvOn(t, o, fetch.Config{AllowPrivate: true})) })
	}
}

func testSyncFeed(t *testing.T, e *env) {
	samples := testenv.Samples(t, "catalog/images/16331.jpg")
	srv := &feedServer{imgs: map[string][]byte{}, hits: map[string]int{}, status: map[int]int{}}
	for _, id := range []string{"16331", "12644", "14942", "10195", "10210"} {
		b, err := os.ReadFile(filepath.Join(samples, "catalog", "images", id+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		srv.imgs["/img/"+id+".jpg"] = b
	}
	srv.Server = httptest.NewServer(srv)
	defer srv.Close()
	item := func(id, group, price, avail, img string) string {
		g := ""
		if group != "" {
			g = "<g:item_group_id>" + group + "</g:item_group_id>"
		}
		return fmt.Sprintf("<item><g:id>%s</g:id>%s<g:title>Item %s</g:title><g:price>%s EUR</g:price><g:availability>%s</g:availability><g:image_link>%s/img/%s.jpg</g:image_link></item>",
			id, g, id, price, avail, srv.URL, img)
	}
	a1, a2 := item("A-S", "A", "30.00", "in stock", "16331"), item("A-M", "A", "30.00", "in stock", "16331")
	b := item("B", "", "20.00", "in stock", "12644")
	c := item("C", "", "10.00", "in stock", "14942")

	ctx := context.Background()
	s := &catalog.Syncer{Ingester: e.in, Dir: t.TempDir()}
	vectors := func(id string) string {
		var n int
		var newest string
		// (PostgreSQL's created_at is a timestamp: cast before COALESCE.)
		if err := e.db.Read.QueryRow(e.db.Rebind(`SELECT COUNT(*), COALESCE(CAST(MAX(v.created_at) AS TEXT), '') FROM product_vectors v JOIN products p ON p.seq = v.product_seq WHERE p.id = ?`), id).Scan(&n, &newest); err != nil {
			t.Fatalf("vectors of %s: %v", id, err)
		}
		return fmt.Sprint(n, " ", newest)
	}
	sync := func(name string) catalog.SyncResult {
		t.Helper()
		r, err := s.Sync(ctx, srv.URL+"/feed")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}

	srv.set(a1, a2, b, c)
	r := sync("first sync")
	if r.NotModified || r.Import == nil || r.Import.Added != 3 || len(r.Removed) != 0 {
		t.Fatalf("first sync %+v %+v", r, r.Import)
	}
	vecA, vecB, vecC := vectors("A"), vectors("B"), vectors("C")

	// Unchanged feed: the server's ETag answers 304, nothing is imported.
	r = sync("unchanged")
	if !r.NotModified || r.Import != nil || srv.status[304] != 1 {
		t.Fatalf("second sync %+v, 304s %d", r, srv.status[304])
	}

	// A's M size gets a photo of its own, B's price and stock change, C
	// vanishes, D is new: only A's new photo and D are embedded.
	time.Sleep(10 * time.Millisecond) // vectors written now would carry a later time
	a2 = item("A-M", "A", "30.00", "in stock", "10210")
	srv.set(a1, a2, item("B", "", "15.00", "out of stock", "12644"), item("D", "", "40.00", "in stock", "10195"))
	r = sync("changed")
	if r.NotModified || r.Import.Added != 1 || r.Import.Updated != 2 || r.Import.Unchanged != 0 || strings.Join(r.Removed, ",") != "C" {
		t.Fatalf("third sync %+v %+v", r, r.Import)
	}
	if got := vectors("A"); got == vecA || vecCount(got) <= vecCount(vecA) {
		t.Errorf("A's vectors %s -> %s, want more (its new photo embedded, the old one's kept)", vecA, got)
	}
	if n := srv.count("/img/16331.jpg"); n != 1 {
		t.Errorf("A's first photo fetched %d times, want once", n)
	}
	pb, _ := e.st.Get(ctx, "B")
	if *pb.Price != 15 || pb.Availability != catalog.OutOfStock || pb.Status != catalog.StatusReady {
		t.Errorf("B after the price change: %+v", pb)
	}
	if got := vectors("B"); got != vecB {
		t.Errorf("B was embedded again for a price change: vectors %s -> %s", vecB, got)
	}
	if n := srv.count("/img/12644.jpg"); n != 1 {
		t.Errorf("B's image fetched %d times, want once", n)
	}
	pc, _ := e.st.Get(ctx, "C")
	if pc.Availability != catalog.OutOfStock || pc.Attributes[catalog.AttrRemoved] == "" || pc.Status != catalog.StatusReady {
		t.Errorf("vanished C: %+v", pc)
	}
	// The index filters by the new availability: C is no longer in stock.
	hits, err := e.search.Similar(ctx, "A", 10, catalog.Filter{Availability: []string{catalog.InStock}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.Product.ID == "C" || h.Product.ID == "B" {
			t.Errorf("in-stock search finds %s", h.Product.ID)
		}
	}

	// C comes back as it was: restored, without embedding it again.
	srv.set(a1, a2, item("B", "", "15.00", "out of stock", "12644"), item("D", "", "40.00", "in stock", "10195"), c)
	r = sync("restored")
	pc, _ = e.st.Get(ctx, "C")
	if r.Import.Updated != 1 || len(r.Removed) != 0 || pc.Availability != catalog.InStock || pc.Attributes[catalog.AttrRemoved] != "" {
		t.Errorf("restore: %+v %+v, C %+v", r, r.Import, pc)
	}
	if got := vectors("C"); got != vecC {
		t.Errorf("C was embedded again on its return: %s -> %s", vecC, got)
	}
	if srv.status[200] != 3 {
		t.Errorf("feed downloaded %d times, want 3", srv.status[200])
	}
}

// TestSyncFile syncs a feed file: an unchanged file (same bytes) is not
// imported again, and a feed that yields no product removes nothing.
func TestSyncFile(t *testing.T) {
	e := newEnv(t, fetch.Config{AllowPrivate: true})
	ctx := context.Background()
	dir := t.TempDir()
	img, err := os.ReadFile(filepath.Join(testenv.Samples(t, "catalog/images/16331.jpg"), "catalog", "images", "16331.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.jpg"), img, 0o644)
	feed := filepath.Join(dir, "feed.tsv")
	os.WriteFile(feed, []byte("id\ttitle\tprice\timage_link\nA\tA\t1.00 EUR\ta.jpg\nB\tB\t2.00 EUR\ta.jpg\n"), 0o644)
	s := &catalog.Syncer{Ingester: e.in, Dir: t.TempDir()}
	r, err := s.Sync(ctx, feed)
	if err != nil || r.Import == nil || r.Import.Added != 2 {
		t.Fatalf("first sync %+v %v", r, err)
	}
	if r, err = s.Sync(ctx, feed); err != nil || !r.NotModified {
		t.Fatalf("unchanged file: %+v %v", r, err)
	}
	// Every row broken: the products stay.
	os.WriteFile(feed, []byte("id\ttitle\tprice\nA\tA\tfree\n"), 0o644)
	if r, err = s.Sync(ctx, feed); err != nil || len(r.Removed) != 0 {
		t.Fatalf("broken feed: %+v %v", r, err)
	}
	if p, _ := e.st.Get(ctx, "B"); p.Availability != catalog.InStock {
		t.Errorf("B removed on a broken feed's word: %+v", p)
	}
}

// TestSyncFeedSummary: each attempt leaves the feed's summary (what the
// console shows) on each database: the last sync's counts and removed
// products, a not-modified check, a failed attempt's error beside the
// last good counts, and the schedule's next run, which a one-off sync
// keeps.
func TestSyncFeedSummary(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { testSyncFeedSummary(t, newEnvOn(t, o, fetch.Config{})) })
	}
}

func testSyncFeedSummary(t *testing.T, e *env) {
	ctx := context.Background()
	dir := t.TempDir()
	img, err := os.ReadFile(filepath.Join(testenv.Samples(t, "catalog/images/16331.jpg"), "catalog", "images", "16331.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.jpg"), img, 0o644)
	feed := filepath.Join(dir, "feed.tsv")
	write := func(rows string) {
		t.Helper()
		if err := os.WriteFile(feed, []byte("id\ttitle\tprice\timage_link\n"+rows), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	summary := func() catalog.Feed {
		t.Helper()
		fs, err := e.st.Feeds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || fs[0].Source != feed {
			t.Fatalf("feeds %+v, want %s", fs, feed)
		}
		return fs[0]
	}
	s := &catalog.Syncer{Ingester: e.in, Dir: t.TempDir(), Every: 6 * time.Hour}

	write("A\tA\t1.00 EUR\ta.jpg\nB\tB\t2.00 EUR\ta.jpg\n")
	before := time.Now().UTC()
	if _, err := s.Sync(ctx, feed); err != nil {
		t.Fatal(err)
	}
	f := summary()
	if f.Batch == 0 || f.Added != 2 || f.Removed != 0 || f.Error != "" || f.SyncedAt == nil || f.CheckedAt == nil || !f.SyncedAt.Equal(*f.CheckedAt) {
		t.Errorf("after the first sync: %+v", f)
	}
	if f.NextAt == nil || f.NextAt.Before(before.Add(6*time.Hour-time.Minute)) || f.NextAt.After(time.Now().Add(6*time.Hour+time.Minute)) {
		t.Errorf("next run %v, want about 6 h from now", f.NextAt)
	}
	synced := *f.SyncedAt

	time.Sleep(10 * time.Millisecond)
	if r, err := s.Sync(ctx, feed); err != nil || !r.NotModified {
		t.Fatalf("unchanged feed: %+v %v", r, err)
	}
	if f = summary(); !f.SyncedAt.Equal(synced) || !f.CheckedAt.After(synced) || f.Added != 2 {
		t.Errorf("after a not-modified check: %+v, want the first sync's time and counts, a later check", f)
	}

	write("A\tA\t1.50 EUR\ta.jpg\n")
	if _, err := s.Sync(ctx, feed); err != nil {
		t.Fatal(err)
	}
	f = summary()
	if f.Added != 0 || f.Updated != 1 || f.Removed != 1 || f.Failed != 0 || !f.SyncedAt.After(synced) || f.Outcome != catalog.BatchSucceeded {
		t.Errorf("after B vanished: %+v, want 1 updated and 1 removed", f)
	}
	good := f

	// A one-off sync that fails: its error is kept beside the last good
	// counts, and the schedule's next run stays.
	os.Remove(feed)
	oneOff := &catalog.Syncer{Ingester: e.in, Dir: t.TempDir()}
	if _, err := oneOff.Sync(ctx, feed); err == nil {
		t.Fatal("sync of a missing file worked")
	}
	f = summary()
	if f.Error == "" || f.Batch != good.Batch || f.Updated != 1 || f.Removed != 1 || !f.SyncedAt.Equal(*good.SyncedAt) || !f.CheckedAt.After(*good.SyncedAt) {
		t.Errorf("after a failed attempt: %+v, want its error and the last sync's counts", f)
	}
	if f.NextAt == nil || !f.NextAt.Equal(*good.NextAt) {
		t.Errorf("a one-off sync moved the next run %v -> %v", good.NextAt, f.NextAt)
	}

	// The next good sync clears the error.
	write("A\tA\t1.50 EUR\ta.jpg\nB\tB\t2.00 EUR\ta.jpg\n")
	if _, err := s.Sync(ctx, feed); err != nil {
		t.Fatal(err)
	}
	if f = summary(); f.Error != "" || f.Removed != 0 || f.Updated != 1 {
		t.Errorf("after B came back: %+v, want no error, B updated, none removed", f)
	}
}
