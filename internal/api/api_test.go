package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store"
)

type env struct {
	srv    *httptest.Server
	keys   *apikey.Store
	runner *jobs.Runner
	admin  string
	ingest string
	read   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir, nil)
	db := testDB(t, dir)
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 1, PollInterval: 20 * time.Millisecond, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	// A real one-step workflow under the selftest kind, so the route can start it.
	if err := r.Register(jobs.Definition{Kind: SelftestKind, Steps: []jobs.Step{{Name: "ok", Run: func(ctx context.Context, sc *jobs.StepContext) error {
		return nil
	}}}}); err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	e := newKeyedEnv(t, db, r)
	e.serve(t, Deps{Config: cfg, DB: db, Runner: r, Keys: e.keys})
	return e
}

// testConfig is the configuration of a test server with its data directory
// dir and extra VITRINE_… variables.
func testConfig(t testing.TB, dir string, vars map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) (string, bool) {
		if k == "VITRINE_DATA_DIR" {
			return dir, true
		}
		v, ok := vars[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testDB opens a SQLite database in dir, closed when the test ends.
func testDB(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testBlobs opens a blob directory in dir, closed when the test ends.
func testBlobs(t testing.TB, dir string) *blob.Store {
	t.Helper()
	bs, err := blob.Open(context.Background(), filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	return bs
}

// startRunner starts r and stops it when the test ends.
func startRunner(t testing.TB, r *jobs.Runner) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
}

// newKeyedEnv is an env with an admin, an ingest and a read key.
func newKeyedEnv(t testing.TB, db *store.DB, r *jobs.Runner) *env {
	t.Helper()
	e := &env{keys: apikey.New(db), runner: r}
	for _, k := range []struct {
		dst   *string
		scope apikey.Scope
	}{{&e.admin, apikey.ScopeAdmin}, {&e.ingest, apikey.ScopeIngest}, {&e.read, apikey.ScopeRead}} {
		var err error
		if *k.dst, _, err = e.keys.Create(context.Background(), k.scope, k.scope.String()); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// serve starts a server with deps on loopback, closed when the test ends.
func (e *env) serve(t testing.TB, deps Deps) {
	t.Helper()
	s, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
}

func (e *env) do(t *testing.T, method, path, key, body string) (int, ErrorBody, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, eb, b := send(t, req)
	return resp.StatusCode, eb, b
}

// send does req and returns the response, its body read, and the body
// decoded as an error when it is one.
func send(t testing.TB, req *http.Request) (*http.Response, ErrorBody, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb ErrorBody
	_ = json.Unmarshal(b, &eb)
	return resp, eb, b
}

func concrete(pattern string) string {
	return strings.NewReplacer("{id}", "1").Replace(pattern)
}

// TestEveryV1RouteRefusesBadKeys covers every /v1 route of the table:
// missing key, unknown key, revoked key, and a key one scope too small.
func TestEveryV1RouteRefusesBadKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	revoked, k, _ := e.keys.Create(ctx, apikey.ScopeAdmin, "gone")
	e.keys.Revoke(ctx, k.ID)
	wrong, _ := apikey.Generate()
	below := map[apikey.Scope]string{apikey.ScopeAdmin: e.ingest, apikey.ScopeIngest: e.read}
	s := &Server{}
	n := 0
	// Revoking key 1 (the admin key this test uses) must come last.
	routes := s.Routes()
	sort.SliceStable(routes, func(i, j int) bool {
		return routes[i].Method+" "+routes[i].Pattern != "DELETE /v1/keys/{id}" && routes[j].Method+" "+routes[j].Pattern == "DELETE /v1/keys/{id}"
	})
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Pattern, "/v1/") {
			continue
		}
		n++
		path := concrete(rt.Pattern)
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			if rt.Scope < apikey.ScopeRead {
				t.Fatalf("route needs no API key")
			}
			cases := []struct {
				name, key, code string
				status          int
			}{
				{"missing", "", CodeMissingKey, 401},
				{"wrong", wrong, CodeInvalidKey, 401},
				{"malformed", "hunter2", CodeInvalidKey, 401},
				{"revoked", revoked, CodeInvalidKey, 401},
			}
			if low, ok := below[rt.Scope]; ok {
				cases = append(cases, struct {
					name, key, code string
					status          int
				}{"scope too small", low, CodeInsufficientScope, 403})
			}
			for _, c := range cases {
				st, eb, raw := e.do(t, rt.Method, path, c.key, "{}")
				if st != c.status || eb.Error.Code != c.code {
					t.Errorf("%s key: status %d body %s, want %d %s", c.name, st, raw, c.status, c.code)
				}
			}
			// The admin key passes authentication on every route.
			if st, eb, _ := e.do(t, rt.Method, path, e.admin, "{}"); st == 401 || st == 403 {
				t.Errorf("admin key refused: %d %s", st, eb.Error.Code)
			}
		})
	}
	if n < 8 {
		t.Errorf("only %d /v1 routes checked", n)
	}
}

func TestXAPIKeyHeader(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/workflows", nil)
	req.Header.Set("X-API-Key", e.read)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestWorkflowRoutes(t *testing.T) {
	e := newEnv(t)
	st, _, raw := e.do(t, "POST", "/v1/selftest", e.admin, `{"step_delay":"10ms"}`)
	if st != 202 {
		t.Fatalf("selftest: %d %s", st, raw)
	}
	var started struct {
		WorkflowID int64 `json:"workflow_id"`
	}
	json.Unmarshal(raw, &started)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if w, err := e.runner.Wait(ctx, started.WorkflowID, nil); err != nil || w.State != jobs.StateSucceeded {
		t.Fatalf("workflow: %+v %v", w, err)
	}
	st, _, raw = e.do(t, "GET", fmt.Sprintf("/v1/workflows/%d", started.WorkflowID), e.read, "")
	var wf jobs.Workflow
	if st != 200 || json.Unmarshal(raw, &wf) != nil || wf.State != "succeeded" || len(wf.Steps) != 1 {
		t.Fatalf("get: %d %s", st, raw)
	}
	st, _, raw = e.do(t, "GET", "/v1/workflows?kind=selftest&limit=10", e.read, "")
	if st != 200 || !bytes.Contains(raw, []byte(`"kind": "selftest"`)) {
		t.Fatalf("list: %d %s", st, raw)
	}
	if st, _, raw = e.do(t, "GET", "/v1/workflows?kind=selftest&outputs=true", e.read, ""); st != 200 {
		t.Errorf("list with outputs: %d %s", st, raw)
	}
	tests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/v1/workflows/999", "", 404, CodeNotFound},
		{"GET", "/v1/workflows/abc", "", 400, CodeBadRequest},
		{"GET", "/v1/workflows?limit=0", "", 400, CodeBadRequest},
		{"GET", "/v1/workflows?limit=x", "", 400, CodeBadRequest},
		{"GET", "/v1/workflows?outputs=maybe", "", 400, CodeBadRequest},
		{"POST", fmt.Sprintf("/v1/workflows/%d/cancel", started.WorkflowID), "", 409, CodeConflict},
		{"POST", fmt.Sprintf("/v1/workflows/%d/retry", started.WorkflowID), "", 409, CodeConflict},
		{"POST", "/v1/workflows/999/retry", "", 404, CodeNotFound},
		{"POST", "/v1/selftest", `{"step_delay":"forever"}`, 400, CodeBadRequest},
		{"POST", "/v1/selftest", `{"nope":1}`, 400, CodeBadRequest},
		{"POST", "/v1/selftest", `{`, 400, CodeBadRequest},
		{"POST", "/v1/keys", `{"scope":"root"}`, 400, CodeBadRequest},
		{"DELETE", "/v1/keys/999", "", 404, CodeNotFound},
		{"GET", "/v1/nothing-here", "", 404, CodeNotFound},
		{"PUT", "/v1/workflows", "", 405, CodeMethodNotAllowed},
	}
	for _, tc := range tests {
		st, eb, raw := e.do(t, tc.method, tc.path, e.admin, tc.body)
		if st != tc.status || eb.Error.Code != tc.code || eb.Error.Message == "" {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, st, raw, tc.status, tc.code)
		}
	}
}

func TestKeysRoutes(t *testing.T) {
	e := newEnv(t)
	st, _, raw := e.do(t, "POST", "/v1/keys", e.admin, `{"scope":"read","name":"player"}`)
	var created struct {
		Key  string     `json:"key"`
		Info apikey.Key `json:"info"`
	}
	if st != 201 || json.Unmarshal(raw, &created) != nil || !strings.HasPrefix(created.Key, "vtr_") {
		t.Fatalf("create: %d %s", st, raw)
	}
	if st, _, _ := e.do(t, "GET", "/v1/workflows", created.Key, ""); st != 200 {
		t.Errorf("new key refused: %d", st)
	}
	if st, _, _ := e.do(t, "DELETE", fmt.Sprintf("/v1/keys/%d", created.Info.ID), e.admin, ""); st != 204 {
		t.Errorf("revoke: %d", st)
	}
	if st, _, _ := e.do(t, "GET", "/v1/workflows", created.Key, ""); st != 401 {
		t.Errorf("revoked key accepted: %d", st)
	}
	st, _, raw = e.do(t, "GET", "/v1/keys", e.admin, "")
	if st != 200 || bytes.Contains(raw, []byte(created.Key)) {
		t.Errorf("list leaks secrets or fails: %d", st)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if st, _, raw := e.do(t, "GET", p, "", ""); st != 200 {
			t.Errorf("%s: %d %s", p, st, raw)
		}
	}
	e.do(t, "GET", "/v1/workflows", e.read, "")
	st, _, raw := e.do(t, "GET", "/metrics", "", "")
	if st != 200 || !bytes.Contains(raw, []byte(`vitrine_http_requests_total{code="200",route="GET /v1/workflows"} 1`)) {
		t.Errorf("metrics: %d\n%s", st, raw)
	}
	e.runner.Stop(context.Background())
	if st, _, raw := e.do(t, "GET", "/readyz", "", ""); st != 503 || !bytes.Contains(raw, []byte("not started")) {
		t.Errorf("readyz with stopped runner: %d %s", st, raw)
	}
}

// TestOpenAPICoversRoutes keeps openapi.yaml and the route table in step.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := map[string]bool{} // "METHOD /path"
	path := ""
	sc := bufio.NewScanner(bytes.NewReader(OpenAPI()))
	inPaths := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && len(line) > 0 && line[0] != ' ':
			inPaths = false
		case inPaths && strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case inPaths && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") && strings.HasSuffix(line, ":"):
			m := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(line), ":"))
			switch m {
			case "GET", "POST", "PUT", "PATCH", "DELETE":
				doc[m+" "+path] = true
			}
		}
	}
	s := &Server{}
	for _, rt := range s.Routes() {
		k := rt.Method + " " + rt.Pattern
		if !doc[k] {
			t.Errorf("route %s is not in openapi.yaml", k)
		}
		delete(doc, k)
	}
	for k := range doc {
		t.Errorf("openapi.yaml documents %s, which is not a route", k)
	}
}
