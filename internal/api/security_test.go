package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/api/audit"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// newSecEnv is newEnv with extra configuration (rate limits).
func newSecEnv(t *testing.T, extra map[string]string) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := config.Load(func(k string) (string, bool) {
		if k == "VITRINE_DATA_DIR" {
			return dir, true
		}
		v, ok := extra[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 0, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	e := &env{keys: apikey.New(db), runner: r}
	for _, k := range []struct {
		dst   *string
		scope apikey.Scope
	}{{&e.admin, apikey.ScopeAdmin}, {&e.ingest, apikey.ScopeIngest}, {&e.read, apikey.ScopeRead}} {
		if *k.dst, _, err = e.keys.Create(ctx, k.scope, k.scope.String()); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Deps{Config: cfg, DB: db, Runner: r, Keys: e.keys})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func TestAuditLogOfAdminActions(t *testing.T) {
	e := newSecEnv(t, nil)
	steps := []struct {
		method, path, key, body string
		status                  int
	}{
		{"POST", "/v1/keys", e.admin, `{"scope":"read","name":"audited"}`, 201},
		{"GET", "/v1/keys", e.ingest, "", 403},
		{"DELETE", "/v1/keys/999", e.admin, "", 404},
		{"GET", "/v1/keys", "", "", 401},
		{"GET", "/v1/workflows", e.read, "", 200}, // not an admin route: not logged
	}
	for _, s := range steps {
		if st, _, raw := e.do(t, s.method, s.path, s.key, s.body); st != s.status {
			t.Fatalf("%s %s: %d %s", s.method, s.path, st, raw)
		}
	}
	st, _, raw := e.do(t, "GET", "/v1/audit?limit=10", e.admin, "")
	var out struct{ Entries []audit.Entry }
	if st != 200 || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("audit: %d %s", st, raw)
	}
	// Newest first; the listing itself is logged after it answers.
	want := []struct {
		route  string
		status int
		scope  string
	}{
		{"GET /v1/keys", 401, ""},
		{"DELETE /v1/keys/{id}", 404, "admin"},
		{"GET /v1/keys", 403, "ingest"},
		{"POST /v1/keys", 201, "admin"},
	}
	if len(out.Entries) != len(want) {
		t.Fatalf("%d entries, want %d: %s", len(out.Entries), len(want), raw)
	}
	for i, w := range want {
		got := out.Entries[i]
		if got.Route != w.route || got.Status != w.status || got.Scope != w.scope || got.Remote == "" {
			t.Errorf("entry %d: %+v, want %+v", i, got, w)
		}
		if w.scope != "" && (got.KeyID == nil || got.KeyPrefix == "") {
			t.Errorf("entry %d does not name its key: %+v", i, got)
		}
	}
	st, _, raw = e.do(t, "GET", fmt.Sprintf("/v1/audit?before=%d&limit=1", out.Entries[0].ID), e.admin, "")
	if st != 200 || !strings.Contains(string(raw), `"DELETE /v1/keys/{id}"`) {
		t.Errorf("paging: %d %s", st, raw)
	}
	for _, q := range []string{"limit=0", "limit=x", "before=-1"} {
		if st, eb, _ := e.do(t, "GET", "/v1/audit?"+q, e.admin, ""); st != 400 || eb.Error.Code != CodeBadRequest {
			t.Errorf("%s: %d %s", q, st, eb.Error.Code)
		}
	}
}

func TestKeyExpiryOverAPI(t *testing.T) {
	e := newSecEnv(t, nil)
	tests := []struct {
		body   string
		status int
	}{
		{`{"scope":"read","expires_in":"1h"}`, 201},
		{`{"scope":"read","expires_at":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, 201},
		{`{"scope":"read","expires_in":"-1h"}`, 400},
		{`{"scope":"read","expires_in":"soon"}`, 400},
		{`{"scope":"read","expires_at":"2001-01-01T00:00:00Z"}`, 400},
		{`{"scope":"read","expires_in":"1h","expires_at":"2999-01-01T00:00:00Z"}`, 400},
	}
	for _, tc := range tests {
		st, _, raw := e.do(t, "POST", "/v1/keys", e.admin, tc.body)
		if st != tc.status {
			t.Errorf("%s: %d %s", tc.body, st, raw)
		}
		if st == 201 {
			var c struct {
				Key  string
				Info apikey.Key
			}
			json.Unmarshal(raw, &c)
			if c.Info.ExpiresAt == nil {
				t.Errorf("%s: no expiry in %s", tc.body, raw)
			}
			if st, _, _ := e.do(t, "GET", "/v1/workflows", c.Key, ""); st != 200 {
				t.Errorf("fresh expiring key refused: %d", st)
			}
		}
	}
}

func TestRateLimits(t *testing.T) {
	e := newSecEnv(t, map[string]string{"VITRINE_RATE_API_KEY": "2", "VITRINE_RATE_PUBLIC_IP": "3"})
	// Burst of four seconds' worth, then 429 with Retry-After.
	count := func(path, key string, n int) (ok, limited int) {
		for range n {
			req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var eb ErrorBody
			json.NewDecoder(resp.Body).Decode(&eb)
			resp.Body.Close()
			switch {
			case resp.StatusCode == 429 && eb.Error.Code == CodeRateLimited && resp.Header.Get("Retry-After") != "":
				limited++
			case resp.StatusCode == 429:
				t.Errorf("429 without code or Retry-After: %+v", eb)
			default:
				ok++
			}
		}
		return ok, limited
	}
	start := time.Now()
	if ok, lim := count("/v1/workflows", e.read, 12); ok < 8 || ok > refilled(8, 2, start) || lim < 12-refilled(8, 2, start) {
		t.Errorf("API key: %d allowed, %d limited; want the burst of 8 (plus refills) then 429", ok, lim)
	}
	// Another key has its own bucket.
	if ok, lim := count("/v1/workflows", e.ingest, 3); ok != 3 || lim != 0 {
		t.Errorf("second key: %d allowed, %d limited", ok, lim)
	}
	// The public read path is limited per client IP, whatever the answer.
	start = time.Now()
	if ok, lim := count("/public/v1/products?ids=a", "", 16); ok < 12 || ok > refilled(12, 3, start) || lim < 16-refilled(12, 3, start) {
		t.Errorf("public per IP: %d allowed, %d limited", ok, lim)
	}
	// Health stays unlimited.
	if ok, lim := count("/healthz", "", 30); lim != 0 || ok != 30 {
		t.Errorf("healthz limited: %d %d", ok, lim)
	}
}

func TestPublishableKeyRateLimit(t *testing.T) {
	e := newSecEnv(t, map[string]string{"VITRINE_RATE_PUBLIC_IP": "0", "VITRINE_RATE_PUBLIC_KEY": "2"})
	count := func(key string, n int) (limited int) {
		for range n {
			resp, err := http.Get(e.srv.URL + "/public/v1/products?ids=a&key=" + key)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				limited++
			}
		}
		return limited
	}
	// Burst of 8 per publishable key, whatever the client address.
	start := time.Now()
	if lim := count("pk_one", 12); lim > 4 || lim < 12-refilled(8, 2, start) {
		t.Errorf("pk_one: %d of 12 limited, want the burst of 8 (plus refills) allowed", lim)
	}
	if lim := count("pk_two", 6); lim != 0 {
		t.Errorf("pk_two has its own bucket: %d limited", lim)
	}
}

func TestOversizedJSONBodies(t *testing.T) {
	e := newSecEnv(t, nil)
	big := `{"name":"` + strings.Repeat("x", 70000) + `"}`
	for _, path := range []string{"/v1/keys", "/v1/selftest", "/v1/publishable-keys"} {
		st, eb, _ := e.do(t, "POST", path, e.admin, big)
		if st != 413 || eb.Error.Code != CodeTooLarge || !strings.Contains(eb.Error.Message, "larger than") {
			t.Errorf("%s: %d %+v, want 413 %s", path, st, eb.Error, CodeTooLarge)
		}
		if st, eb, _ := e.do(t, "POST", path, e.admin, `{"name":`); st != 400 || eb.Error.Code != CodeBadRequest {
			t.Errorf("%s malformed: %d %+v", path, st, eb.Error)
		}
	}
}

// refilled is the most requests a bucket of burst at rate per second can
// have allowed since start (a slow machine refills it during the test).
func refilled(burst int, rate float64, start time.Time) int {
	return burst + int(rate*time.Since(start).Seconds()) + 1
}
