package api

import (
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
)

func (s *Server) analyticsRoutes() []Route {
	none, read := apikey.ScopeNone, apikey.ScopeRead
	return []Route{
		{Method: "POST", Pattern: "/public/v1/events", Scope: none, Summary: "Player events: impressions, clicks, buys (publishable key)",
			Handler: s.public(func(sh *shop) http.Handler { return sh.ingest })},
		{Method: "GET", Pattern: "/v1/analytics/videos", Scope: read, Summary: "Impressions, clicks and buys per video",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.reports.ServeVideos(w, r) })},
		{Method: "GET", Pattern: "/v1/analytics/videos/{id}", Scope: read, Summary: "A video's counts per product and per day",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.reports.ServeVideo(w, r) })},
		{Method: "GET", Pattern: "/v1/analytics/products/{id}", Scope: read, Summary: "A product's counts per video and per day",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.reports.ServeProduct(w, r) })},
	}
}
