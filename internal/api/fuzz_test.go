package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// fuzzRoutes are the routes that decode a JSON body without needing the
// models; the fuzzer picks one per input.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/keys"},
	{"POST", "/v1/publishable-keys"},
	{"POST", "/v1/selftest"},
	{"POST", "/console/api/videos/v_none/review"},
	{"POST", "/v1/catalog/products"},
	{"POST", "/v1/catalog/products/delete"},
	{"POST", "/public/v1/events?key=pk_none"},
}

// FuzzAPIBodies sends arbitrary bodies to the JSON routes of a real server
// (SQLite in a temp dir, in-process handler): every answer is a 2xx or a
// JSON error with a stable code below 500, never a panic or an internal error.
func FuzzAPIBodies(f *testing.F) {
	ctx := context.Background()
	dir := f.TempDir()
	cfg, err := config.Load(func(k string) (string, bool) {
		switch k {
		case "VITRINE_DATA_DIR":
			return dir, true
		case "VITRINE_RATE_API_KEY", "VITRINE_RATE_PUBLIC_IP":
			return "0", true
		}
		return "", false
	})
	if err != nil {
		f.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "vitrine.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 0, PollInterval: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	if err := r.Register(jobs.Definition{Kind: SelftestKind, Steps: []jobs.Step{{Name: "ok", Run: func(context.Context, *jobs.StepContext) error { return nil }}}}); err != nil {
		f.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Stop(context.Background()) })
	keys := apikey.New(db)
	admin, _, err := keys.Create(ctx, apikey.ScopeAdmin, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Deps{Config: cfg, DB: db, Runner: r, Keys: keys})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()

	f.Add(uint8(0), []byte(`{"scope":"read","name":"x","expires_in":"1h"}`))
	f.Add(uint8(0), []byte(`{"scope":"admin","expires_at":"0001-01-01T00:00:00Z"}`))
	f.Add(uint8(1), []byte(`{"name":"site","origins":["https://shop.example"]}`))
	f.Add(uint8(2), []byte(`{"step_delay":"1ms"}`))
	f.Add(uint8(3), []byte(`{"item":"i1","action":"replace","product_id":"p1"}`))
	f.Add(uint8(4), []byte(`{"products":[{"id":"p1","images":["blob:x"]}]}`))
	f.Add(uint8(5), []byte(`{"ids":["p1"]}`))
	f.Add(uint8(6), []byte(`{"events":[{"type":"impression","video":"v1"}]}`))
	f.Add(uint8(0), []byte(`{"scope":"read"}{"scope":"admin"}`))
	f.Add(uint8(0), bytes.Repeat([]byte("["), 100000))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://example.com")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with %q: %d %s", rt.method, rt.path, body, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			var eb ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" {
				t.Fatalf("%s %s: %d answer is not a JSON error: %s", rt.method, rt.path, rec.Code, rec.Body.Bytes())
			}
		}
	})
}
