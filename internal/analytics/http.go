package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/httpjson"
)

// IngestConfig tunes the ingest endpoint; zero fields take the defaults in
// brackets.
type IngestConfig struct {
	MaxBody     int64   // request body bytes [32 KiB]
	PerIPRate   float64 // events per second per client IP [20]
	PerIPBurst  int     // [200]
	PerKeyRate  float64 // events per second per publishable key [2000]
	PerKeyBurst int     // [10000]
	TrustProxy  bool    // take the client IP from X-Forwarded-For
	KeyOf       func(*http.Request) string
	OriginOf    func(*http.Request) string
	Now         func() time.Time
	Logger      *slog.Logger
}

// Ingest is the public endpoint the player posts event batches to.
type Ingest struct {
	rec         *Recorder
	cfg         IngestConfig
	byIP, byKey *Limiter
}

// NewIngest returns the handler. cfg.KeyOf names the publishable key a
// request was admitted with (the public gate knows it); cfg.OriginOf its
// page origin.
func NewIngest(rec *Recorder, cfg IngestConfig) *Ingest {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 32 << 10
	}
	if cfg.PerIPRate <= 0 {
		cfg.PerIPRate = 20
	}
	if cfg.PerIPBurst <= 0 {
		cfg.PerIPBurst = 200
	}
	if cfg.PerKeyRate <= 0 {
		cfg.PerKeyRate = 2000
	}
	if cfg.PerKeyBurst <= 0 {
		cfg.PerKeyBurst = 10000
	}
	if cfg.KeyOf == nil {
		cfg.KeyOf = func(*http.Request) string { return "" }
	}
	if cfg.OriginOf == nil {
		cfg.OriginOf = func(r *http.Request) string { return r.Header.Get("Origin") }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Ingest{
		rec: rec, cfg: cfg,
		byIP:  NewLimiter(cfg.PerIPRate, cfg.PerIPBurst),
		byKey: NewLimiter(cfg.PerKeyRate, cfg.PerKeyBurst),
	}
}

// ServeHTTP accepts POST {"events": [...]} as application/json, or as
// text/plain, which is what navigator.sendBeacon sends without a preflight.
func (h *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpjson.Error(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/plain") {
			httpjson.Error(w, http.StatusUnsupportedMediaType, "send JSON (application/json or text/plain)")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.cfg.MaxBody))
			return
		}
		httpjson.Error(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	var b Batch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "body is not an event batch: "+err.Error())
		return
	}
	if dec.More() {
		httpjson.Error(w, http.StatusBadRequest, "body has data after the event batch")
		return
	}
	if err := b.Validate(); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	key := h.cfg.KeyOf(r)
	n := len(b.Events)
	if !h.byIP.Allow(h.clientIP(r), n) || !h.byKey.Allow(key, n) {
		w.Header().Set("Retry-After", "1")
		httpjson.Error(w, http.StatusTooManyRequests, "too many events; slow down")
		return
	}
	now := h.cfg.Now().UTC()
	origin := h.cfg.OriginOf(r)
	recs := make([]Record, 0, n)
	seen := map[Event]bool{}
	for _, e := range b.Events {
		if seen[e] { // a retried beacon may repeat events within a batch
			continue
		}
		seen[e] = true
		recs = append(recs, Record{Event: e, At: now, KeyID: key, Origin: origin})
	}
	switch err := h.rec.Add(recs); {
	case errors.Is(err, ErrQueueFull):
		w.Header().Set("Retry-After", "5")
		httpjson.Error(w, http.StatusServiceUnavailable, "analytics are busy; events dropped")
		return
	case err != nil:
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	httpjson.Write(w, http.StatusAccepted, map[string]int{"accepted": len(recs)}, "no-store")
}

func (h *Ingest) clientIP(r *http.Request) string {
	if h.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Reports serves the counters to admins (read scope):
//
//	GET …/videos?days=30              per-video totals
//	GET …/videos/{id}?days=30         one video, per product and per day
//	GET …/products/{id}?days=30       one product, per video and per day
//
// from=YYYY-MM-DD&to=YYYY-MM-DD may replace days.
type Reports struct {
	st  *Store
	now func() time.Time
}

// NewReports returns the report handlers over st.
func NewReports(st *Store) *Reports { return &Reports{st: st, now: time.Now} }

// ParseRange reads days= or from=/to= (UTC days, inclusive); the default is
// the last 30 days.
func ParseRange(q map[string][]string, now time.Time) (Range, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if d := get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 3660 {
			return Range{}, fmt.Errorf("days=%q: want 1..3660", d)
		}
		return LastDays(now, n), nil
	}
	r := LastDays(now, 30)
	if f := get("from"); f != "" {
		t, err := time.Parse(time.DateOnly, f)
		if err != nil {
			return Range{}, fmt.Errorf("from=%q: want YYYY-MM-DD", f)
		}
		r.From = t
	}
	if f := get("to"); f != "" {
		t, err := time.Parse(time.DateOnly, f)
		if err != nil {
			return Range{}, fmt.Errorf("to=%q: want YYYY-MM-DD", f)
		}
		r.To = t
	}
	if r.To.Before(r.From) {
		return Range{}, errors.New("to is before from")
	}
	return r, nil
}

// ServeVideos answers the per-video totals.
func (h *Reports) ServeVideos(w http.ResponseWriter, r *http.Request) {
	rg, err := ParseRange(r.URL.Query(), h.now())
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	rows, err := h.st.Videos(r.Context(), rg, limit)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	from, to := rg.bounds()
	httpjson.Write(w, http.StatusOK, map[string]any{"from": from, "to": to, "videos": rows}, "no-store")
}

// ServeVideo answers one video's report; the path has {id}.
func (h *Reports) ServeVideo(w http.ResponseWriter, r *http.Request) {
	h.serveReport(w, r, h.st.VideoReport)
}

// ServeProduct answers one product's report; the path has {id}.
func (h *Reports) ServeProduct(w http.ResponseWriter, r *http.Request) {
	h.serveReport(w, r, h.st.ProductReport)
}

func (h *Reports) serveReport(w http.ResponseWriter, r *http.Request, get func(ctx context.Context, id string, rg Range) (Report, error)) {
	id := r.PathValue("id")
	if !validID(id, 128) {
		httpjson.Error(w, http.StatusBadRequest, "invalid id")
		return
	}
	rg, err := ParseRange(r.URL.Query(), h.now())
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := get(r.Context(), id, rg)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, rep, "no-store")
}
