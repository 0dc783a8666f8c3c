// Package api is vitrine's HTTP server: the /v1 REST API behind scoped API
// keys, health and readiness probes, Prometheus metrics, JSON errors with
// stable codes, request logs and the OpenAPI document (openapi.yaml, served
// at /openapi.yaml). Routes are declared in tables; see routes.go.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/live"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// Deps are the services the handlers use. Domains add their own fields.
type Deps struct {
	Config *config.Config
	DB     *store.DB
	Blob   *blob.Store
	Runner *jobs.Runner
	Keys   *apikey.Store
	// Catalog serves the /v1/catalog routes (503 when nil).
	Catalog *catalog.Service
	// Live runs live streams and serves their events (503 when nil).
	Live   *live.Manager
	Logger *slog.Logger
	// Registry receives the HTTP metrics and is served at /metrics; the
	// runner's step metrics should be registered on it too.
	Registry *prometheus.Registry
}

// Server is the HTTP API.
type Server struct {
	Deps
	log     *slog.Logger
	metrics *httpMetrics
	handler http.Handler
}

// New builds the server and its route table.
func New(d Deps) (*Server, error) {
	if d.DB == nil || d.Runner == nil || d.Keys == nil || d.Config == nil {
		return nil, errors.New("api: new server: Config, DB, Runner and Keys are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Server{Deps: d, log: d.Logger}
	m, err := newHTTPMetrics(d.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range s.Routes() {
		key := rt.Method + " " + rt.Pattern
		if seen[key] {
			return nil, fmt.Errorf("api: route %s declared twice", key)
		}
		seen[key] = true
		mux.Handle(key, s.route(rt))
	}
	s.handler = s.observe(mux)
	return s, nil
}

// Handler is the server's root handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until ctx is done, then shuts down
// gracefully: in-flight requests get up to Config.ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	// Player events still queued are written once no request can add more.
	if cerr := s.closeShop(sctx); cerr != nil {
		s.log.Warn("api: write queued player events", "err", cerr)
	}
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

type ctxKey int

const (
	keyCtx ctxKey = iota
	routeCtx
)

// KeyFrom returns the API key that authenticated the request.
func KeyFrom(ctx context.Context) (apikey.Key, bool) {
	k, ok := ctx.Value(keyCtx).(apikey.Key)
	return k, ok
}

// route wraps a handler with its scope check and names it for metrics.
func (s *Server) route(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(routeCtx).(*string); ok {
			*p = rt.Method + " " + rt.Pattern
		}
		if isPublicData(rt) && !s.allowPublic(w, r) {
			return
		}
		if rt.Scope != apikey.ScopeNone {
			var k apikey.Key
			if rt.Scope == apikey.ScopeAdmin {
				// Admin actions, allowed or refused, go to the audit log.
				sw := &statusWriter{ResponseWriter: w}
				w = sw
				defer s.recordAudit(r, rt, sw, &k)
			}
			var ok bool
			if k, ok = s.authenticate(w, r); !ok {
				return
			}
			if !k.ScopeValue().Allows(rt.Scope) {
				WriteError(w, http.StatusForbidden, CodeInsufficientScope,
					fmt.Sprintf("this route needs a key of scope %s or higher; this key has scope %s", rt.Scope, k.Scope))
				return
			}
			if !s.allowKey(w, k) {
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyCtx, k))
		}
		rt.Handler(w, r)
	})
}

// authenticate finds the API key of a request: a bearer or X-API-Key
// header, else a console session cookie (see console.go). It answers the
// request and returns false when there is none or it is not valid.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (apikey.Key, bool) {
	secret := bearer(r)
	if secret == "" {
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			return s.sessionKey(w, r, c.Value)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="vitrine"`)
		WriteError(w, http.StatusUnauthorized, CodeMissingKey, "this route needs an API key: send Authorization: Bearer <key> or X-API-Key")
		return apikey.Key{}, false
	}
	k, err := s.Keys.Verify(r.Context(), secret)
	if errors.Is(err, apikey.ErrInvalid) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vitrine", error="invalid_token"`)
		WriteError(w, http.StatusUnauthorized, CodeInvalidKey, "the API key is unknown, revoked or expired")
		return apikey.Key{}, false
	}
	if err != nil {
		s.log.Error("api: verify key", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "could not verify the API key")
		return apikey.Key{}, false
	}
	return k, true
}

func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && (h[:7] == "Bearer " || h[:7] == "bearer ") {
		return h[7:]
	}
	return r.Header.Get("X-API-Key")
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streaming handlers (event streams) flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// observe logs and measures every request, answers unmatched paths with JSON
// errors and turns handler panics into 500s.
func (s *Server) observe(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := ""
		r = r.WithContext(context.WithValue(r.Context(), routeCtx, &route))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("api: handler panic", "path", r.URL.Path, "panic", p)
				if sw.status == 0 {
					WriteError(sw, http.StatusInternalServerError, CodeInternal, "internal error")
				}
			}
			label := route
			if label == "" {
				label = "unmatched"
			}
			d := time.Since(start)
			s.metrics.observe(label, sw.status, d)
			s.log.Info("http request", "method", r.Method, "path", r.URL.Path, "route", label, "status", sw.status,
				"bytes", sw.bytes, "duration", d.Round(time.Microsecond), "remote", r.RemoteAddr)
		}()
		if _, pattern := mux.Handler(r); pattern == "" {
			// No route: ServeMux would answer 404 or 405 in plain text.
			probe := &statusWriter{ResponseWriter: discardWriter{h: w.Header()}}
			mux.ServeHTTP(probe, r)
			if probe.status == http.StatusMethodNotAllowed {
				WriteError(sw, http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
				return
			}
			w.Header().Del("Allow")
			WriteError(sw, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// discardWriter keeps headers (Allow) but drops the plain-text body.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
