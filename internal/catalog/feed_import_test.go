package catalog_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestImportMerchantFeed imports a Merchant Center feed whose images a
// loopback shop serves, through every stage (parse, fetch, embed, index)
// with the real models: the variants of a group become one product whose
// shared image is fetched and embedded once, and bad rows fail alone.
func TestImportMerchantFeed(t *testing.T) {
	samples := testenv.Samples(t, "catalog/images/16331.jpg")
	imgs := map[string][]byte{}
	for _, id := range []string{"16331", "12644", "14942"} {
		b, err := os.ReadFile(filepath.Join(samples, "catalog", "images", id+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		imgs["/img/"+id+".jpg"] = b
	}
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		b, ok := imgs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(b)
	}))
	defer srv.Close()
	item := func(id, group, price, avail, images string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "<item><g:id>%s</g:id><g:title>Dress %s</g:title><g:price>%s</g:price><g:availability>%s</g:availability>", id, id, price, avail)
		if group != "" {
			fmt.Fprintf(&b, "<g:item_group_id>%s</g:item_group_id>", group)
		}
		for i, im := range strings.Fields(images) {
			tag := "g:additional_image_link"
			if i == 0 {
				tag = "g:image_link"
			}
			fmt.Fprintf(&b, "<%s>%s%s</%s>", tag, srv.URL, im, tag)
		}
		return b.String() + "</item>\n"
	}
	feed := `<?xml version="1.0"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>` + "\n" +
		item("G-S", "G", "40.00 EUR", "out of stock", "/img/16331.jpg /img/12644.jpg") +
		item("G-M", "G", "40.00 EUR", "in stock", "/img/16331.jpg") +
		item("P", "", "25.00 EUR", "in stock", "/img/14942.jpg") +
		item("Q", "", "25.00 EUR", "in stock", "/img/missing.jpg") +
		item("R", "", "a lot", "in stock", "/img/14942.jpg") +
		"</channel></rss>\n"
	path := filepath.Join(t.TempDir(), "feed.xml")
	if err := os.WriteFile(path, []byte(feed), 0o644); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, fetch.Config{AllowPrivate: true})
	ctx := context.Background()
	s, err := e.in.ImportFile(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != 2 || s.Failed != 2 || s.Total != 4 {
		t.Fatalf("summary %+v, want 2 added and 2 failed of 4", s)
	}
	reasons := map[string]string{}
	for _, r := range s.Errors {
		reasons[r.ProductID] = r.Reason
	}
	if !strings.Contains(reasons["Q"], "404") || !strings.Contains(reasons["R"], "bad price") {
		t.Errorf("row errors %q", reasons)
	}
	g, err := e.st.Get(ctx, "G")
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != catalog.StatusReady || g.Attributes[catalog.AttrVariantIDs] != "G-S,G-M" || g.Availability != catalog.InStock || len(g.Images) != 2 {
		t.Errorf("group product %+v", g)
	}
	for _, id := range []string{"G-S", "G-M"} {
		if _, err := e.st.Get(ctx, id); err == nil {
			t.Errorf("variant %s stored as a product of its own", id)
		}
	}
	if n := e.count(t, `SELECT COUNT(*) FROM product_vectors v JOIN products p ON p.seq = v.product_seq WHERE p.id = 'G' AND v.kind = 'crop'`); n != 2 {
		t.Errorf("crop vectors of G = %d, want 2 (one per distinct image)", n)
	}
	mu.Lock()
	if hits["/img/16331.jpg"] != 1 {
		t.Errorf("the image two variants share was fetched %d times", hits["/img/16331.jpg"])
	}
	mu.Unlock()

	// The same feed again changes nothing.
	s2, err := e.in.ImportFile(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Unchanged != 2 || s2.Added+s2.Updated != 0 {
		t.Errorf("re-import summary %+v", s2)
	}
}
