package api

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

type catalogEnv struct {
	srv          *httptest.Server
	ingest, read string
}

func newCatalogEnv(t *testing.T) *catalogEnv {
	t.Helper()
	models := testenv.Models(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir, nil)
	db := testDB(t, dir)
	bs := testBlobs(t, dir)
	open := func(ctx context.Context) (*catalog.Models, error) {
		return catvision.Open(ctx, vision.Options{ModelsDir: models, Threads: 2})
	}
	cat := catalog.NewService(db, bs, nil, open, nil)
	t.Cleanup(func() { cat.Close() })
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 1, PollInterval: 20 * time.Millisecond, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(cat.Definition()); err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	keys := apikey.New(db)
	e := &catalogEnv{}
	if e.ingest, _, err = keys.Create(ctx, apikey.ScopeIngest, "ingest"); err != nil {
		t.Fatal(err)
	}
	if e.read, _, err = keys.Create(ctx, apikey.ScopeRead, "read"); err != nil {
		t.Fatal(err)
	}
	s, err := New(Deps{Config: cfg, DB: db, Blob: bs, Runner: r, Keys: keys, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *catalogEnv) call(t *testing.T, method, path, key, ctype string, body []byte, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, _, b := send(t, req)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func multipartImage(t *testing.T, b []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("image", "product.jpg")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(b)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func TestCatalogRoutes(t *testing.T) {
	testenv.Samples(t) // skip before building the catalog
	e := newCatalogEnv(t)

	// Upload two images, multipart and raw.
	var up1, up2 struct {
		Ref string `json:"ref"`
	}
	body, ct := multipartImage(t, testenv.SampleImage(t, "16331"))
	if code := e.call(t, "POST", "/v1/catalog/images", e.ingest, ct, body, &up1); code != http.StatusCreated || !strings.HasPrefix(up1.Ref, "blob:catalog/images/") {
		t.Fatalf("upload: %d %+v", code, up1)
	}
	if code := e.call(t, "POST", "/v1/catalog/images", e.ingest, "image/jpeg", testenv.SampleImage(t, "12644"), &up2); code != http.StatusCreated {
		t.Fatalf("raw upload: %d", code)
	}
	if code := e.call(t, "POST", "/v1/catalog/images", e.ingest, "image/jpeg", []byte("not an image at all"), nil); code != http.StatusBadRequest {
		t.Errorf("non-image upload: %d, want 400", code)
	}
	if code := e.call(t, "POST", "/v1/catalog/images", e.ingest, "image/jpeg", make([]byte, maxImageUpload+10), nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize upload: %d, want 413", code)
	}
	if code := e.call(t, "POST", "/v1/catalog/images", e.read, "image/jpeg", testenv.SampleImage(t, "12644"), nil); code != http.StatusForbidden {
		t.Errorf("upload with a read key: %d, want 403", code)
	}

	// Bulk upsert and wait.
	products := map[string]any{"products": []map[string]any{
		{"id": "a", "title": "Blue striped polo", "category": "Tshirts", "price": 20, "currency": "EUR", "images": []string{up1.Ref}},
		{"id": "b", "title": "White polo", "category": "Tshirts", "price": 25, "currency": "EUR", "availability": "out_of_stock", "images": []string{up2.Ref}},
		{"id": "c", "title": "Negative price", "price": -5},
	}}
	pb, _ := json.Marshal(products)
	if code := e.call(t, "POST", "/v1/catalog/products", e.read, "application/json", pb, nil); code != http.StatusForbidden {
		t.Errorf("upsert with a read key: %d, want 403", code)
	}
	var res struct {
		Batch   int64           `json:"batch"`
		Summary catalog.Summary `json:"summary"`
	}
	if code := e.call(t, "POST", "/v1/catalog/products?wait=true", e.ingest, "application/json", pb, &res); code != http.StatusOK {
		t.Fatalf("upsert: %d", code)
	}
	if res.Summary.Added != 2 || res.Summary.Failed != 1 || len(res.Summary.Errors) != 1 || !strings.Contains(res.Summary.Errors[0].Reason, "bad price") {
		t.Fatalf("upsert summary: %+v", res.Summary)
	}
	var batch catalog.Summary
	if code := e.call(t, "GET", "/v1/catalog/batches/"+itoa64(res.Batch), e.read, "", nil, &batch); code != http.StatusOK || batch.Added != 2 {
		t.Errorf("batch: %d %+v", code, batch)
	}
	if code := e.call(t, "GET", "/v1/catalog/batches/9999", e.read, "", nil, nil); code != http.StatusNotFound {
		t.Errorf("unknown batch: %d, want 404", code)
	}

	var p catalog.Product
	if code := e.call(t, "GET", "/v1/catalog/products/a", e.read, "", nil, &p); code != http.StatusOK || p.Title != "Blue striped polo" || p.Status != catalog.StatusReady {
		t.Fatalf("get: %d %+v", code, p)
	}

	var text struct {
		Results []catalog.Result `json:"results"`
	}
	if code := e.call(t, "GET", "/v1/catalog/search?q=striped+polo", e.read, "", nil, &text); code != http.StatusOK || len(text.Results) != 1 || text.Results[0].Product.ID != "a" {
		t.Errorf("text search: %d %+v", code, text.Results)
	}
	if code := e.call(t, "GET", "/v1/catalog/search?q=polo&availability=in_stock", e.read, "", nil, &text); code != http.StatusOK || len(text.Results) != 1 || text.Results[0].Product.ID != "a" {
		t.Errorf("filtered text search: %d %+v", code, text.Results)
	}
	if code := e.call(t, "GET", "/v1/catalog/search?q=polo&k=0", e.read, "", nil, nil); code != http.StatusBadRequest {
		t.Errorf("k=0: %d, want 400", code)
	}

	var byImage struct {
		Items []catalog.ItemResults `json:"items"`
	}
	body, ct = multipartImage(t, testenv.SampleImage(t, "12644"))
	if code := e.call(t, "POST", "/v1/catalog/search?k=2", e.read, ct, body, &byImage); code != http.StatusOK || len(byImage.Items) == 0 {
		t.Fatalf("image search: %d %+v", code, byImage)
	}
	whole := byImage.Items[len(byImage.Items)-1]
	if whole.Label != "image" || len(whole.Results) == 0 || whole.Results[0].Product.ID != "b" {
		t.Errorf("image search whole-image results: %+v", whole)
	}

	var sim struct {
		Results []catalog.Result `json:"results"`
	}
	if code := e.call(t, "GET", "/v1/catalog/products/a/similar", e.read, "", nil, &sim); code != http.StatusOK || len(sim.Results) != 1 || sim.Results[0].Product.ID != "b" {
		t.Errorf("similar: %d %+v", code, sim.Results)
	}

	if code := e.call(t, "DELETE", "/v1/catalog/products/a", e.ingest, "", nil, nil); code != http.StatusOK {
		t.Errorf("delete: %d", code)
	}
	if code := e.call(t, "GET", "/v1/catalog/products/a", e.read, "", nil, nil); code != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", code)
	}
	if code := e.call(t, "DELETE", "/v1/catalog/products/a", e.ingest, "", nil, nil); code != http.StatusNotFound {
		t.Errorf("second delete: %d, want 404", code)
	}
	if code := e.call(t, "GET", "/v1/catalog/products/b/similar", e.read, "", nil, &sim); code != http.StatusOK || len(sim.Results) != 0 {
		t.Errorf("similar after delete: %d %+v", code, sim.Results)
	}
}

func itoa64(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
