package api

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
)

// routeScopes is the reviewed scope of every route. A route added to the
// table without an entry here fails TestRouteScopes: adding one is the
// moment to decide who may call it. Public routes (none) are listed too,
// so a keyless route can never appear by accident.
var routeScopes = map[string]apikey.Scope{
	"GET /healthz":      apikey.ScopeNone,
	"GET /readyz":       apikey.ScopeNone,
	"GET /metrics":      apikey.ScopeNone,
	"GET /openapi.yaml": apikey.ScopeNone,
	"POST /v1/selftest": apikey.ScopeAdmin,

	"GET /v1/keys":         apikey.ScopeAdmin,
	"POST /v1/keys":        apikey.ScopeAdmin,
	"DELETE /v1/keys/{id}": apikey.ScopeAdmin,
	"GET /v1/audit":        apikey.ScopeAdmin,

	"GET /v1/publishable-keys":         apikey.ScopeAdmin,
	"POST /v1/publishable-keys":        apikey.ScopeAdmin,
	"DELETE /v1/publishable-keys/{id}": apikey.ScopeAdmin,

	"GET /v1/workflows":              apikey.ScopeRead,
	"GET /v1/workflows/{id}":         apikey.ScopeRead,
	"GET /v1/workflows/{id}/logs":    apikey.ScopeRead,
	"POST /v1/workflows/{id}/cancel": apikey.ScopeIngest,
	"POST /v1/workflows/{id}/retry":  apikey.ScopeIngest,

	"POST /v1/catalog/products":             apikey.ScopeIngest,
	"POST /v1/catalog/products/delete":      apikey.ScopeIngest,
	"GET /v1/catalog/products/{id}":         apikey.ScopeRead,
	"DELETE /v1/catalog/products/{id}":      apikey.ScopeIngest,
	"GET /v1/catalog/products/{id}/similar": apikey.ScopeRead,
	"POST /v1/catalog/images":               apikey.ScopeIngest,
	"GET /v1/catalog/search":                apikey.ScopeRead,
	"POST /v1/catalog/search":               apikey.ScopeRead,
	"GET /v1/catalog/batches/{id}":          apikey.ScopeRead,
	"GET /v1/catalog/feeds":                 apikey.ScopeRead,

	"POST /v1/videos":                         apikey.ScopeIngest,
	"GET /v1/videos":                          apikey.ScopeRead,
	"POST /v1/live":                           apikey.ScopeIngest,
	"GET /v1/live":                            apikey.ScopeRead,
	"GET /v1/live/{id}":                       apikey.ScopeRead,
	"POST /v1/live/{id}/stop":                 apikey.ScopeIngest,
	"GET /public/v1/live/{id}/events":         apikey.ScopeNone,
	"GET /v1/videos/{id}":                     apikey.ScopeRead,
	"GET /v1/videos/{id}/workflow":            apikey.ScopeRead,
	"GET /v1/videos/{id}/shoppable":           apikey.ScopeRead,
	"GET /v1/videos/{id}/vtt":                 apikey.ScopeRead,
	"GET /v1/videos/{id}/shots":               apikey.ScopeRead,
	"GET /v1/videos/{id}/shots/{n}/thumbnail": apikey.ScopeRead,
	"POST /v1/videos/{id}/rematch":            apikey.ScopeIngest,
	"GET /v1/search/videos":                   apikey.ScopeRead,

	"GET /v1/analytics/videos":        apikey.ScopeRead,
	"GET /v1/analytics/videos/{id}":   apikey.ScopeRead,
	"GET /v1/analytics/products/{id}": apikey.ScopeRead,
	"GET /v1/commerce/products":       apikey.ScopeRead,
	"GET /v1/commerce/products/{id}":  apikey.ScopeRead,
	"GET /v1/commerce/stats":          apikey.ScopeRead,

	// The public read path: no API key, but a publishable key checked
	// against the page origin, and rate limits per IP and per key.
	"POST /public/v1/events":                  apikey.ScopeNone,
	"GET /public/v1/videos/{id}/shoppable":    apikey.ScopeNone,
	"GET /public/v1/videos/{id}/media":        apikey.ScopeNone,
	"GET /public/v1/products":                 apikey.ScopeNone,
	"GET /public/v1/products/{id}":            apikey.ScopeNone,
	"GET /public/v1/products/{id}/images/{n}": apikey.ScopeNone,
	"GET /player/{file}":                      apikey.ScopeNone,
	"GET /player/vendor/{file}":               apikey.ScopeNone,
	"GET /demo/{id}":                          apikey.ScopeNone,

	// The console: static files and login are public; its API is keyed
	// (session cookie with CSRF token, or a key header).
	"GET /console/":                                 apikey.ScopeNone,
	"GET /console/{file}":                           apikey.ScopeNone,
	"POST /console/api/login":                       apikey.ScopeNone,
	"POST /console/api/logout":                      apikey.ScopeNone,
	"GET /console/api/session":                      apikey.ScopeRead,
	"GET /console/api/overview":                     apikey.ScopeRead,
	"GET /console/api/workflows/{id}":               apikey.ScopeRead,
	"GET /console/api/videos/{id}":                  apikey.ScopeRead,
	"GET /console/api/videos/{id}/media":            apikey.ScopeRead,
	"POST /console/api/videos/{id}/review":          apikey.ScopeIngest,
	"POST /console/api/catalog/import":              apikey.ScopeIngest,
	"POST /console/api/catalog/uploads":             apikey.ScopeIngest,
	"POST /console/api/catalog/uploads/{id}/import": apikey.ScopeIngest,
	"GET /console/api/catalog/products":             apikey.ScopeRead,
}

// TestRouteScopes checks every route's scope against the reviewed table,
// in both directions, and against the x-vitrine-scope of openapi.yaml.
func TestRouteScopes(t *testing.T) {
	doc := openAPIScopes(t)
	s := &Server{}
	seen := map[string]bool{}
	for _, rt := range s.Routes() {
		k := rt.Method + " " + rt.Pattern
		seen[k] = true
		t.Run(k, func(t *testing.T) {
			want, ok := routeScopes[k]
			if !ok {
				t.Fatalf("route has no reviewed scope: add it to routeScopes in scope_test.go (its table says %s)", rt.Scope)
			}
			if rt.Scope != want {
				t.Errorf("route needs scope %s, the reviewed table says %s", rt.Scope, want)
			}
			if rt.Scope == apikey.ScopeNone && strings.HasPrefix(rt.Pattern, "/v1/") {
				t.Errorf("a /v1 route is public")
			}
			if rt.Scope == apikey.ScopeNone && rt.Method != "GET" && !strings.HasPrefix(rt.Pattern, "/public/") && !strings.HasPrefix(rt.Pattern, "/console/api/log") {
				t.Errorf("a public route changes state")
			}
			if got := doc[k]; rt.Scope != apikey.ScopeNone && got != rt.Scope.String() {
				t.Errorf("openapi.yaml says x-vitrine-scope %q, want %q", got, rt.Scope)
			} else if rt.Scope == apikey.ScopeNone && got != "" {
				t.Errorf("openapi.yaml gives public route x-vitrine-scope %q", got)
			}
		})
	}
	for k := range routeScopes {
		if !seen[k] {
			t.Errorf("routeScopes lists %s, which is not a route", k)
		}
	}
}

// openAPIScopes reads "METHOD /path" -> x-vitrine-scope from openapi.yaml.
func openAPIScopes(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	path, op := "", ""
	inPaths := false
	sc := bufio.NewScanner(bytes.NewReader(OpenAPI()))
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && len(line) > 0 && line[0] != ' ':
			inPaths = false
		case inPaths && strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(trim, ":")
		case inPaths && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") && strings.HasSuffix(line, ":"):
			op = strings.ToUpper(strings.TrimSuffix(trim, ":")) + " " + path
		case inPaths && strings.HasPrefix(line, "      x-vitrine-scope:"):
			out[op] = strings.TrimSpace(strings.TrimPrefix(trim, "x-vitrine-scope:"))
		}
	}
	if len(out) == 0 {
		t.Fatal("no x-vitrine-scope found in openapi.yaml")
	}
	return out
}
