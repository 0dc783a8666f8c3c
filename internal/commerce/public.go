package commerce

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/httpjson"
)

// KeyLookup resolves a publishable key; *Keys satisfies it.
type KeyLookup interface {
	Lookup(ctx context.Context, key string) (*PublishableKey, error)
}

// Gate guards the public read path: every request must carry an active
// publishable key (query parameter "key" or header X-Vitrine-Key) and come
// from a page on one of the key's origins. It answers CORS preflights and
// sets CORS headers for allowed origins.
type Gate struct {
	keys KeyLookup
	log  *slog.Logger
}

// NewGate returns a Gate over keys. log may be nil.
func NewGate(keys KeyLookup, log *slog.Logger) *Gate {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gate{keys: keys, log: log}
}

type ctxKey struct{}

// KeyFromContext returns the publishable key a Gate admitted the request with.
func KeyFromContext(ctx context.Context) *PublishableKey {
	pk, _ := ctx.Value(ctxKey{}).(*PublishableKey)
	return pk
}

// RequestOrigin returns the page origin of r: the Origin header, else the
// scheme and host of the Referer, else "".
func RequestOrigin(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		if u, err := url.Parse(ref); err == nil && u.Scheme != "" && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	return ""
}

// Wrap returns next behind the gate.
func (g *Gate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := RequestOrigin(r)
		h := w.Header()
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			// A preflight carries no header values, so the key can only be
			// checked here when it is in the query; the real request is
			// checked in full either way.
			if origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
				httpjson.Error(w, http.StatusBadRequest, "not a CORS preflight")
				return
			}
			if key := r.URL.Query().Get("key"); key != "" {
				pk, err := g.keys.Lookup(r.Context(), key)
				if err != nil || !pk.AllowsOrigin(origin) {
					httpjson.Error(w, http.StatusForbidden, "origin not allowed for this key")
					return
				}
			}
			corsHeaders(h, r.Header.Get("Origin"))
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Vitrine-Key")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// Error answers carry CORS headers too: they hold no data, and a
		// page that can read "origin not allowed" is easier to fix.
		corsHeaders(h, r.Header.Get("Origin"))
		key := r.URL.Query().Get("key")
		if key == "" {
			key = r.Header.Get("X-Vitrine-Key")
		}
		if key == "" {
			httpjson.ErrorCode(w, http.StatusUnauthorized, "missing_api_key", "a publishable key is required (key=pk_…)")
			return
		}
		pk, err := g.keys.Lookup(r.Context(), key)
		if err != nil {
			if !errors.Is(err, ErrUnknownKey) {
				g.log.Error("commerce: publishable key lookup", "err", err)
				httpjson.Error(w, http.StatusServiceUnavailable, "key check failed")
				return
			}
			httpjson.Error(w, http.StatusUnauthorized, "unknown or revoked publishable key")
			return
		}
		if origin == "" && !pk.AllowsOrigin("*") {
			httpjson.Error(w, http.StatusForbidden, "this key is only valid from its web pages (no Origin or Referer)")
			return
		}
		if origin != "" && !pk.AllowsOrigin(origin) {
			httpjson.Error(w, http.StatusForbidden, "origin "+origin+" is not allowed for this key")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, pk)))
	})
}

func corsHeaders(h http.Header, origin string) {
	if origin == "" || origin == "null" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "ETag")
}

// splitIDs parses "a,b,c" (also repeated ids= parameters).
func splitIDs(vals []string) []string {
	var ids []string
	for _, v := range vals {
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}
