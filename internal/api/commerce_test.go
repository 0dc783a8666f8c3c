package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/commerce/shoptest"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

type shopEnv struct {
	srv         *httptest.Server
	admin, read string
	cat         *catalog.Store
	db          *store.DB
	handler     http.Handler
	dir         string
}

// newShopEnv is a server with a real catalog store (no models: details and
// keys need none) and blob store.
func newShopEnv(t testing.TB) *shopEnv { return newShopEnvWith(t, nil) }

// newShopEnvWith sets extra configuration variables (VITRINE_…).
func newShopEnvWith(t testing.TB, vars map[string]string) *shopEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir, vars)
	db := testDB(t, dir)
	bs := testBlobs(t, dir)
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	keys := apikey.New(db)
	e := &shopEnv{cat: catalog.NewStore(db), db: db, dir: dir}
	if e.admin, _, err = keys.Create(ctx, apikey.ScopeAdmin, "admin"); err != nil {
		t.Fatal(err)
	}
	if e.read, _, err = keys.Create(ctx, apikey.ScopeRead, "read"); err != nil {
		t.Fatal(err)
	}
	cs := catalog.NewService(db, bs, nil, nil, nil)
	s, err := New(Deps{Config: cfg, DB: db, Blob: bs, Runner: r, Keys: keys, Catalog: cs})
	if err != nil {
		t.Fatal(err)
	}
	e.handler = s.Handler()
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *shopEnv) req(t testing.TB, method, path, auth, origin, body string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, _, b := send(t, req)
	return resp.StatusCode, resp.Header, b
}

func TestPublicReadPathOnServer(t *testing.T) {
	e := newShopEnv(t)
	ctx := context.Background()
	price, rating := 799.0, 4.2
	for _, p := range []catalog.Product{
		{ID: "tee-red", Title: "Red tee", Category: "Tshirts", Price: &price, Currency: "eur", Rating: &rating, URL: "https://shop.example/p/tee-red", Images: []string{"https://cdn.example/tee.jpg"}},
		{ID: "tee-blue", Title: "Blue tee", Category: "Tshirts", Price: &price, Currency: "EUR", Availability: "out_of_stock", URL: "https://shop.example/p/tee-blue"},
	} {
		if _, err := e.cat.Upsert(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	const site = "https://blog.example"

	// Admin creates a publishable key for the blog.
	st, _, raw := e.req(t, "POST", "/v1/publishable-keys", e.admin, "", `{"name":"blog","origins":["`+site+`"]}`)
	var pk struct{ Key string }
	if st != 201 || json.Unmarshal(raw, &pk) != nil || !strings.HasPrefix(pk.Key, "pk_") {
		t.Fatalf("create publishable key: %d %s", st, raw)
	}
	if st, _, _ := e.req(t, "POST", "/v1/publishable-keys", e.read, "", `{"origins":["*"]}`); st != 403 {
		t.Errorf("read key created a publishable key: %d", st)
	}

	// The page reads product details from the built-in catalog.
	st, h, raw := e.req(t, "GET", "/public/v1/products?ids=tee-red,tee-blue,nope&key="+pk.Key, "", site, "")
	if st != 200 || h.Get("Access-Control-Allow-Origin") != site {
		t.Fatalf("products: %d %v %s", st, h, raw)
	}
	var d struct {
		Products []struct {
			ID, Title, Currency, Availability, URL string
			Price                                  float64
			Images                                 []string
		}
		Missing []string
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Products) != 2 || d.Products[0].Title != "Red tee" || d.Products[0].Currency != "EUR" || d.Products[0].Price != 799 ||
		d.Products[1].Availability != "out_of_stock" || len(d.Missing) != 1 {
		t.Errorf("details %+v", d)
	}
	if st, _, _ := e.req(t, "GET", "/public/v1/products/tee-red?key="+pk.Key, "", "https://evil.example", ""); st != 403 {
		t.Errorf("other origin: %d, want 403", st)
	}
	if st, _, _ := e.req(t, "GET", "/public/v1/products/tee-red", e.admin, site, ""); st != 401 {
		t.Errorf("admin key on the public path without a publishable key: %d, want 401", st)
	}
	if st, _, raw := e.req(t, "GET", "/v1/commerce/products/tee-red", e.read, "", ""); st != 200 || !strings.Contains(string(raw), "Red tee") {
		t.Errorf("admin view of a product: %d %s", st, raw)
	}
	if st, _, raw := e.req(t, "GET", "/public/v1/videos/v_none/shoppable?key="+pk.Key, "", site, ""); st != 404 {
		t.Errorf("unknown video: %d %s", st, raw)
	}

	// The player script is served to any origin.
	st, h, raw = e.req(t, "GET", "/player/vitrine-player.js", "", site, "")
	if st != 200 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Content-Type"), "javascript") ||
		!strings.Contains(string(raw), "customElements.define('vitrine-player'") {
		t.Errorf("player script: %d %v", st, h)
	}

	// Events are ingested and counted.
	ev := `{"events":[{"type":"impression","video":"v_1","item":"t1","product":"tee-red","t":1.5,"session":"s1"},
		{"type":"click","video":"v_1","item":"t1","product":"tee-red","t":2,"session":"s1"}]}`
	if st, _, raw := e.req(t, "POST", "/public/v1/events?key="+pk.Key, "", site, ev); st != 202 {
		t.Fatalf("events: %d %s", st, raw)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, raw := e.req(t, "GET", "/v1/analytics/videos/v_1?days=1", e.read, "", "")
		if st != 200 {
			t.Fatalf("report: %d %s", st, raw)
		}
		if strings.Contains(string(raw), `"total":{"impressions":1,"clicks":1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events not counted: %s", raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st, _, raw := e.req(t, "GET", "/v1/analytics/products/tee-red", e.read, "", ""); st != 200 || !strings.Contains(string(raw), `"id":"v_1"`) {
		t.Errorf("product report: %d %s", st, raw)
	}
	if st, _, raw := e.req(t, "GET", "/v1/commerce/stats", e.read, "", ""); st != 200 || !strings.Contains(string(raw), `"written": 2`) {
		t.Errorf("stats: %d %s", st, raw)
	}

	// A revoked key stops working at once on this server.
	if st, _, _ := e.req(t, "DELETE", "/v1/publishable-keys/"+pk.Key, e.admin, "", ""); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	if st, _, _ := e.req(t, "GET", "/public/v1/products/tee-red?key="+pk.Key, "", site, ""); st != 401 {
		t.Errorf("revoked key: %d, want 401", st)
	}
	if st, _, raw := e.req(t, "GET", "/v1/publishable-keys", e.admin, "", ""); st != 200 || !strings.Contains(string(raw), "revoked_at") {
		t.Errorf("list: %d %s", st, raw)
	}
}

func TestCloseShopFlushesEvents(t *testing.T) {
	e := newShopEnv(t)
	st, _, raw := e.req(t, "POST", "/v1/publishable-keys", e.admin, "", `{"origins":["*"]}`)
	var pk struct{ Key string }
	if st != 201 || json.Unmarshal(raw, &pk) != nil {
		t.Fatalf("create key: %d %s", st, raw)
	}
	ev := `{"events":[{"type":"impression","video":"v_9","item":"t1","product":"p9","t":1}]}`
	if st, _, raw := e.req(t, "POST", "/public/v1/events?key="+pk.Key, "", "", ev); st != 202 {
		t.Fatalf("events: %d %s", st, raw)
	}
	var srv *Server
	shops.Range(func(k, v any) bool {
		if v.(*shop).events != nil && v.(*shop).s.DB == e.db {
			srv = k.(*Server)
		}
		return true
	})
	if srv == nil {
		t.Fatal("no commerce services for the test server")
	}
	if err := srv.closeShop(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.db.Read.QueryRow(`SELECT impressions FROM analytics_daily WHERE video_id = 'v_9'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after close: %d impressions, %v; want the queued event written", n, err)
	}
}

// TestUpstreamShopFromConfig: with [upstream] in commerce.toml the public
// path serves the shop's details, mapped, cached, and stale when it fails.
func TestUpstreamShopFromConfig(t *testing.T) {
	shop, err := shoptest.Start(testenv.Samples(t))
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	e := newShopEnv(t)
	conf := fmt.Sprintf(`
[cache]
ttl = "1ms"
stale_while_revalidate = "-1ns"

[upstream]
batch_url = "%[1]s/api/products?ids={ids}"
product_url = "%[1]s/api/products/{id}"
items_path = "data.items"
product_path = "product"
auth_header = "Authorization"
auth_value = "Bearer %[2]s"

[upstream.mapping]
id = "handle"
title = "name"
category = "type"
images = "media.#.src"
price = "offer.price"
currency = "offer.currency"
availability = "offer.availability"
rating = "reviews.average"
rating_count = "reviews.count"
url = "link"
`, shop.URL, shoptest.Token)
	if err := os.WriteFile(filepath.Join(e.dir, "commerce.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _, raw := e.req(t, "POST", "/v1/publishable-keys", e.admin, "", `{"origins":["https://blog.example"]}`)
	var pk struct{ Key string }
	if st != 201 || json.Unmarshal(raw, &pk) != nil {
		t.Fatalf("create key: %d %s", st, raw)
	}
	it, _ := shop.Item("16647")
	get := func() (int, string) {
		st, _, raw := e.req(t, "GET", "/public/v1/products/16647?key="+pk.Key, "", "https://blog.example", "")
		return st, string(raw)
	}
	st, body := get()
	if st != 200 || !strings.Contains(body, it.Name) || !strings.Contains(body, `"currency":"INR"`) || strings.Contains(body, "stale") {
		t.Fatalf("from the shop: %d %s", st, body)
	}
	shop.SetDown(true)
	time.Sleep(5 * time.Millisecond) // past the 1 ms TTL
	if st, body := get(); st != 200 || !strings.Contains(body, `"stale":true`) || !strings.Contains(body, it.Name) {
		t.Errorf("shop down: %d %s, want the cached details marked stale", st, body)
	}
	if st, _, body := e.req(t, "GET", "/public/v1/products?ids=16820&key="+pk.Key, "", "https://blog.example", ""); st != 200 || !strings.Contains(string(body), `"unavailable":["16820"]`) {
		t.Errorf("never-cached product with the shop down: %d %s", st, body)
	}
}
