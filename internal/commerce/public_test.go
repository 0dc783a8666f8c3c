package commerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/httpjson"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

func openDB(t testing.TB) *store.DB {
	t.Helper()
	return storetest.SQLite().Open(t)
}

// TestPublishableKeys runs on every dialect (PostgreSQL when
// $VITRINE_TEST_POSTGRES names a server).
func TestPublishableKeys(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { testPublishableKeys(t, NewKeys(o.Open(t), 0)) })
	}
}

func testPublishableKeys(t *testing.T, keys *Keys) {
	ctx := context.Background()
	pk, err := keys.Create(ctx, "blog", []string{"https://Shop.Example", "http://localhost:8080", "https://*.brand.test"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pk.Key, KeyPrefix) || len(pk.Key) != len(KeyPrefix)+32 {
		t.Errorf("key %q", pk.Key)
	}
	got, err := keys.Lookup(ctx, pk.Key)
	if err != nil || got.Name != "blog" || len(got.Origins) != 3 {
		t.Fatalf("Lookup: %+v %v", got, err)
	}
	for origin, want := range map[string]bool{
		"https://shop.example": true, "http://shop.example": false, "http://localhost:8080": true,
		"http://localhost:8081": false, "https://www.brand.test": true, "https://brand.test": false,
		"https://evilbrand.test": false, "https://a.b.brand.test": true,
	} {
		if got.AllowsOrigin(origin) != want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", origin, !want, want)
		}
	}
	for _, bad := range [][]string{nil, {"shop.example"}, {"https://shop.example/path"}, {"https://a.*.test"}, {"ftp://x"}} {
		if _, err := keys.Create(ctx, "bad", bad); err == nil {
			t.Errorf("Create accepted origins %q", bad)
		}
	}
	list, err := keys.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %+v %v", list, err)
	}
	if err := keys.Revoke(ctx, pk.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Lookup(ctx, pk.Key); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("revoked key: err = %v", err)
	}
	if err := keys.Revoke(ctx, pk.Key); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("second revoke: err = %v", err)
	}
}

// dirDocuments serves shoppable documents stored as <dir>/<id>.json.
type dirDocuments string

func (d dirDocuments) ShoppableJSON(ctx context.Context, id string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(string(d), id+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: video %s", ErrNotFound, id)
	}
	return b, err
}

// publicServer wires the public read path the way the API server does.
func publicServer(t *testing.T) (*httptest.Server, *Keys, string) {
	t.Helper()
	shop := startShop(t)
	keys := NewKeys(openDB(t), 0)
	docs := t.TempDir()
	doc := `{"schema":"vitrine.shoppable/v1","video":{"id":"v1"},"items":[]}`
	if err := os.WriteFile(filepath.Join(docs, "v1.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := NewService(NewCache(newUpstream(t, shop, true), CacheConfig{}, nil), nil, 3, nil)
	gate := NewGate(keys, nil)
	mux := http.NewServeMux()
	mux.Handle("GET /v1/public/products/{id}", gate.Wrap(http.HandlerFunc(svc.ServeProduct)))
	mux.Handle("GET /v1/public/products", gate.Wrap(http.HandlerFunc(svc.ServeProducts)))
	mux.Handle("GET /v1/public/videos/{id}/shoppable", gate.Wrap(NewDocumentHandler(dirDocuments(docs), 0)))
	mux.Handle("OPTIONS /v1/public/", gate.Wrap(http.NotFoundHandler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	pk, err := keys.Create(context.Background(), "site", []string{"https://shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, keys, pk.Key
}

func TestPublicReadPath(t *testing.T) {
	srv, _, key := publicServer(t)
	cases := []struct {
		name, method, path string
		header             map[string]string
		status             int
		body               string // substring of the response body
		acao               string // expected Access-Control-Allow-Origin
	}{
		{"product", "GET", "/v1/public/products/16647?key=" + key, map[string]string{"Origin": "https://shop.example"}, 200, `"id":"16647"`, "https://shop.example"},
		{"key in header, origin from referer", "GET", "/v1/public/products/16647", map[string]string{"X-Vitrine-Key": key, "Referer": "https://shop.example/blog/post?x=1"}, 200, `"currency":"INR"`, ""},
		{"batch", "GET", "/v1/public/products?ids=16647,16820,nope&key=" + key, map[string]string{"Origin": "https://shop.example"}, 200, `"missing":["nope"]`, "https://shop.example"},
		{"unknown product", "GET", "/v1/public/products/nope?key=" + key, map[string]string{"Origin": "https://shop.example"}, 404, "not found", "https://shop.example"},
		{"bad batch", "GET", "/v1/public/products?ids=a/b&key=" + key, map[string]string{"Origin": "https://shop.example"}, 400, "invalid product id", "https://shop.example"},
		{"shoppable", "GET", "/v1/public/videos/v1/shoppable?key=" + key, map[string]string{"Origin": "https://shop.example"}, 200, `"vitrine.shoppable/v1"`, "https://shop.example"},
		{"shoppable missing", "GET", "/v1/public/videos/v2/shoppable?key=" + key, map[string]string{"Origin": "https://shop.example"}, 404, "no published", "https://shop.example"},
		{"no key", "GET", "/v1/public/products/16647", map[string]string{"Origin": "https://shop.example"}, 401, "key is required", "https://shop.example"},
		{"unknown key", "GET", "/v1/public/products/16647?key=pk_nope", map[string]string{"Origin": "https://shop.example"}, 401, "unknown", "https://shop.example"},
		{"admin-looking key", "GET", "/v1/public/products/16647?key=sk_123", map[string]string{"Origin": "https://shop.example"}, 401, "unknown", "https://shop.example"},
		{"other origin", "GET", "/v1/public/products/16647?key=" + key, map[string]string{"Origin": "https://evil.example"}, 403, "not allowed", "https://evil.example"},
		{"no origin", "GET", "/v1/public/products/16647?key=" + key, nil, 403, "no Origin or Referer", ""},
		{"preflight", "OPTIONS", "/v1/public/products?key=" + key, map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}, 204, "", "https://shop.example"},
		{"preflight other origin", "OPTIONS", "/v1/public/products?key=" + key, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, 403, "origin_not_allowed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Fatalf("%s %s: %d %s, want %d containing %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.acao {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.acao)
			}
			if resp.StatusCode >= 400 {
				var e httpjson.ErrorBody
				if json.Unmarshal(body, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
					t.Errorf("error body %s is not {\"error\": …}", body)
				}
			}
		})
	}
}

func TestShoppableETag(t *testing.T) {
	srv, _, key := publicServer(t)
	get := func(etag string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/public/videos/v1/shoppable?key="+key, nil)
		req.Header.Set("Origin", "https://shop.example")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get("")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || etag == "" {
		t.Fatalf("first: %d etag %q", first.StatusCode, etag)
	}
	if second := get(etag); second.StatusCode != http.StatusNotModified {
		t.Errorf("conditional request: %d, want 304", second.StatusCode)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "commerce.toml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := LoadConfig(filepath.Join(dir, "missing.toml"))
	if err != nil || c.Upstream != nil {
		t.Fatalf("missing file: %+v %v", c, err)
	}
	c, err = LoadConfig(write(`
max_alternatives = 4
[cache]
ttl = "30s"
[upstream]
batch_url = "https://shop.example/api?ids={ids}"
items_path = "data.items"
timeout = "2s"
[upstream.mapping]
id = "handle"
price = "offer.price"
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxAlternatives != 4 || c.Cache.TTL != 30*time.Second || c.Upstream.Timeout != 2*time.Second || c.Upstream.Mapping.Price != "offer.price" {
		t.Errorf("config %+v upstream %+v", c, c.Upstream)
	}
	for _, bad := range []string{`ttl = "1m"`, "[upstream]\nbatch_url = \"https://x/\"", `demo_origins = ["nope"]`, `[cache]` + "\nttl = 5x"} {
		if _, err := LoadConfig(write(bad)); err == nil {
			t.Errorf("LoadConfig accepted %q", bad)
		}
	}
}
