package api

// Routes of the vitrine HTTP API.
//
// Every route is one Route value: method, path pattern (net/http ServeMux
// syntax, "/v1/videos/{id}"), the API key scope it needs, a handler, and a
// one-line summary. Every /v1 route must need at least apikey.ScopeRead; a
// test fails otherwise, and another fails when a route is missing from
// openapi.yaml.
//
// To add routes for a domain, create internal/api/<domain>.go with
//
//	func init() { registerRoutes((*Server).catalogRoutes) }
//
//	func (s *Server) catalogRoutes() []Route {
//		return []Route{
//			{Method: "GET", Pattern: "/v1/products/{id}", Scope: apikey.ScopeRead, Handler: s.getProduct, Summary: "Get a product"},
//		}
//	}
//
// add the service the handlers need to Deps (server.go), and describe the
// routes in openapi.yaml. Handlers report errors with WriteError (stable
// codes in errors.go) and answer with WriteJSON.

import (
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
)

// Route is one endpoint of the API.
type Route struct {
	Method  string
	Pattern string
	// Scope is the least API key scope allowed; apikey.ScopeNone makes the
	// route public (only health, metrics and the OpenAPI document).
	Scope   apikey.Scope
	Handler http.HandlerFunc
	Summary string
}

// routeGroups collects the route sets of every domain file.
var routeGroups []func(*Server) []Route

// registerRoutes adds a domain's route set; call it from an init func.
func registerRoutes(group func(*Server) []Route) { routeGroups = append(routeGroups, group) }

func init() {
	registerRoutes((*Server).systemRoutes)
	registerRoutes((*Server).workflowRoutes)
	registerRoutes((*Server).keyRoutes)
}

// Routes returns the full route table.
func (s *Server) Routes() []Route {
	var out []Route
	for _, g := range routeGroups {
		out = append(out, g(s)...)
	}
	return out
}

func (s *Server) systemRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/healthz", Scope: apikey.ScopeNone, Handler: s.healthz, Summary: "Liveness"},
		{Method: "GET", Pattern: "/readyz", Scope: apikey.ScopeNone, Handler: s.readyz, Summary: "Readiness: database reachable and runner started"},
		{Method: "GET", Pattern: "/metrics", Scope: apikey.ScopeNone, Handler: s.metricsHandler, Summary: "Prometheus metrics"},
		{Method: "GET", Pattern: "/openapi.yaml", Scope: apikey.ScopeNone, Handler: s.openapi, Summary: "This API's OpenAPI document"},
		{Method: "POST", Pattern: "/v1/selftest", Scope: apikey.ScopeAdmin, Handler: s.startSelftest, Summary: "Start the installation self-test workflow"},
	}
}
