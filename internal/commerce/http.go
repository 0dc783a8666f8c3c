package commerce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/httpjson"
)

// ServeProduct answers GET …/products/{id} with one Product.
func (s *Service) ServeProduct(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !ValidID(id) {
		httpjson.Error(w, http.StatusBadRequest, "invalid product id")
		return
	}
	p, err := s.Product(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "product "+id+" not found")
		return
	case err != nil:
		httpjson.Error(w, http.StatusServiceUnavailable, "product details are unavailable right now")
		return
	}
	httpjson.Write(w, http.StatusOK, p, cacheControl(p.Stale))
}

// ServeProducts answers GET …/products?ids=a,b,c with Details.
func (s *Service) ServeProducts(w http.ResponseWriter, r *http.Request) {
	ids := splitIDs(r.URL.Query()["ids"])
	d, err := s.Products(r.Context(), ids)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	stale := len(d.Unavailable) > 0
	for _, p := range d.Products {
		stale = stale || p.Stale
	}
	httpjson.Write(w, http.StatusOK, d, cacheControl(stale))
}

func cacheControl(stale bool) string {
	if stale {
		return "no-cache" // let the browser pick up fresh data as soon as the shop is back
	}
	return "public, max-age=30"
}

// Documents returns published shoppable documents (vitrine.shoppable/v1
// JSON) by video id; the video package's store satisfies it through a small
// adapter. A missing or unpublished video is an error wrapping ErrNotFound.
type Documents interface {
	ShoppableJSON(ctx context.Context, videoID string) ([]byte, error)
}

// DocumentHandler serves shoppable documents on the public read path,
// keeping recently served documents in memory for a short time with an ETag
// so a popular video costs one database read per TTL.
type DocumentHandler struct {
	docs Documents
	ttl  time.Duration
	max  int

	mu    sync.Mutex
	cache map[string]docEntry
}

type docEntry struct {
	body    []byte
	etag    string
	fetched time.Time
}

// NewDocumentHandler serves docs, caching each document for ttl (0 means 5 s).
func NewDocumentHandler(docs Documents, ttl time.Duration) *DocumentHandler {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	return &DocumentHandler{docs: docs, ttl: ttl, max: 1000, cache: map[string]docEntry{}}
}

// ServeHTTP answers GET …/videos/{id}/shoppable.
func (h *DocumentHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !ValidID(id) {
		httpjson.Error(w, http.StatusBadRequest, "invalid video id")
		return
	}
	now := time.Now()
	h.mu.Lock()
	e, ok := h.cache[id]
	h.mu.Unlock()
	if !ok || now.Sub(e.fetched) >= h.ttl {
		body, err := h.docs.ShoppableJSON(r.Context(), id)
		switch {
		case errors.Is(err, ErrNotFound):
			httpjson.Error(w, http.StatusNotFound, "video "+id+" has no published shoppable document")
			return
		case err != nil:
			if ok { // keep serving the last document rather than break the player
				break
			}
			httpjson.Error(w, http.StatusServiceUnavailable, "shoppable document unavailable")
			return
		default:
			sum := sha256.Sum256(body)
			e = docEntry{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, fetched: now}
			h.mu.Lock()
			if len(h.cache) >= h.max {
				clear(h.cache)
			}
			h.cache[id] = e
			h.mu.Unlock()
		}
	}
	hd := w.Header()
	hd.Set("ETag", e.etag)
	hd.Set("Cache-Control", "public, max-age=5")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(e.body)
	}
}
