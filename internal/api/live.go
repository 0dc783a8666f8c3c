package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/live"
)

func init() { registerRoutes((*Server).liveRoutes) }

func (s *Server) liveRoutes() []Route {
	none, read, ingest := apikey.ScopeNone, apikey.ScopeRead, apikey.ScopeIngest
	return []Route{
		{Method: "POST", Pattern: "/v1/live", Scope: ingest, Handler: s.startLive, Summary: "Start a live stream from an HLS playlist URL (or, with an admin key, a local file read in real time)"},
		{Method: "GET", Pattern: "/v1/live", Scope: read, Handler: s.listLive, Summary: "List live streams, newest first"},
		{Method: "GET", Pattern: "/v1/live/{id}", Scope: read, Handler: s.getLive, Summary: "A live stream's state, lag, dropped frames, reconnects and items so far"},
		{Method: "POST", Pattern: "/v1/live/{id}/stop", Scope: ingest, Handler: s.stopLive, Summary: "Stop a live stream"},
		{Method: "GET", Pattern: "/public/v1/live/{id}/events", Scope: none, Summary: "A live stream's items as Server-Sent Events, resumable with Last-Event-ID (publishable key)",
			Handler: s.public(func(sh *shop) http.Handler { return http.HandlerFunc(s.liveEvents(sh)) })},
	}
}

// liveEventsMax ends an event stream after this long; the browser
// reconnects with its Last-Event-ID and misses nothing.
const liveEventsMax = 10 * time.Minute

func (s *Server) liveManager(w http.ResponseWriter) *live.Manager {
	if s.Live == nil {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "live streams are not run by this server")
	}
	return s.Live
}

func (s *Server) liveError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, live.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, live.ErrBadSource):
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
	default:
		s.log.Error("api: live", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
	}
}

func (s *Server) startLive(w http.ResponseWriter, r *http.Request) {
	m := s.liveManager(w)
	if m == nil {
		return
	}
	var in struct {
		Source string `json:"source"`
		Name   string `json:"name"`
	}
	if err := DecodeJSON(w, r, 1<<16, &in); err != nil {
		WriteBodyError(w, err)
		return
	}
	if err := live.CheckSource(in.Source); err != nil {
		s.liveError(w, err)
		return
	}
	// A file source reads the server's disk: admins only.
	if k, ok := KeyFrom(r.Context()); live.IsFile(in.Source) && (!ok || !k.ScopeValue().Allows(apikey.ScopeAdmin)) {
		WriteError(w, http.StatusForbidden, CodeInsufficientScope, "a local file source needs an admin key; ingest keys may start HLS, RTMP and SRT URLs")
		return
	}
	st, err := m.Start(r.Context(), in.Source, in.Name)
	if err != nil {
		s.liveError(w, err)
		return
	}
	WriteJSON(w, http.StatusCreated, st)
}

func (s *Server) listLive(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	ls, err := live.List(r.Context(), s.DB, limit)
	if err != nil {
		s.liveError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"streams": ls})
}

func (s *Server) getLive(w http.ResponseWriter, r *http.Request) {
	st, err := live.Get(r.Context(), s.DB, r.PathValue("id"))
	if err != nil {
		s.liveError(w, err)
		return
	}
	items, err := live.Items(r.Context(), s.DB, st.ID)
	if err != nil {
		s.liveError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"stream": st, "items": items})
}

func (s *Server) stopLive(w http.ResponseWriter, r *http.Request) {
	var (
		st  live.Stream
		err error
	)
	if s.Live != nil {
		st, err = s.Live.Stop(r.Context(), r.PathValue("id"))
	} else {
		st, err = live.RequestStop(r.Context(), s.DB, r.PathValue("id"))
	}
	if err != nil {
		s.liveError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, st)
}

// liveEvents streams a live stream's events with each product's details
// as the player's product requests get them.
func (s *Server) liveEvents(sh *shop) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := s.liveManager(w)
		if m == nil {
			return
		}
		details := func(ctx context.Context, ids []string) map[string]any {
			out := map[string]any{}
			d, err := sh.svc.Products(ctx, ids)
			if err != nil {
				return out
			}
			for _, p := range d.Products {
				out[p.ID] = p
			}
			return out
		}
		if err := m.ServeEvents(w, r, r.PathValue("id"), details, liveEventsMax); err != nil {
			s.liveError(w, err)
		}
	}
}
