package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/api/audit"
	"github.com/vitrine-dev/vitrine/internal/commerce"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/crypt"
)

// CodeRateLimited: the client or key sent more requests than its limit;
// Retry-After says when to try again.
const CodeRateLimited = "rate_limited"

func init() { registerRoutes((*Server).securityRoutes) }

func (s *Server) securityRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/v1/audit", Scope: apikey.ScopeAdmin, Handler: s.listAudit, Summary: "The audit log of admin actions, newest first"},
	}
}

// guard holds the rate limiters and the audit log of a server.
type guard struct {
	once                 sync.Once
	publicIP, publicKey  *analytics.Limiter
	apiKey               *analytics.Limiter
	ipRate, keyRate, api float64
	audit                *audit.Log
}

var guards sync.Map // *Server -> *guard

func (s *Server) guard() *guard {
	v, _ := guards.LoadOrStore(s, &guard{})
	g := v.(*guard)
	g.once.Do(func() {
		if s.Config != nil {
			g.ipRate, g.keyRate, g.api = s.Config.RatePublicIP, s.Config.RatePublicKey, s.Config.RateAPIKey
		}
		// Bursts of four seconds' worth let a player load a page (document,
		// product details, images, the first media ranges) at once.
		if g.ipRate > 0 {
			g.publicIP = analytics.NewLimiter(g.ipRate, burst(g.ipRate))
		}
		if g.keyRate > 0 {
			g.publicKey = analytics.NewLimiter(g.keyRate, burst(g.keyRate))
		}
		if g.api > 0 {
			g.apiKey = analytics.NewLimiter(g.api, burst(g.api))
		}
		if s.DB != nil {
			g.audit = audit.New(s.DB)
		}
	})
	return g
}

func burst(rate float64) int { return max(1, int(4*rate)) }

// isPublicData says whether a keyless route serves the public read path,
// which is rate limited per client IP and per publishable key.
func isPublicData(rt Route) bool {
	return rt.Scope == apikey.ScopeNone && len(rt.Pattern) > 8 && rt.Pattern[:8] == "/public/"
}

// allowPublic applies the per-IP and per-publishable-key limits.
func (s *Server) allowPublic(w http.ResponseWriter, r *http.Request) bool {
	g := s.guard()
	if g.publicIP != nil && !g.publicIP.Allow("ip:"+remoteIP(r), 1) {
		tooMany(w, g.ipRate, "this client address")
		return false
	}
	if k := r.URL.Query().Get("key"); k != "" && g.publicKey != nil && !g.publicKey.Allow("pk:"+k, 1) {
		tooMany(w, g.keyRate, "this publishable key")
		return false
	}
	return true
}

// allowKey applies the per-API-key limit.
func (s *Server) allowKey(w http.ResponseWriter, k apikey.Key) bool {
	g := s.guard()
	if g.apiKey != nil && !g.apiKey.Allow("key:"+strconv.FormatInt(k.ID, 10), 1) {
		tooMany(w, g.api, "this API key")
		return false
	}
	return true
}

func tooMany(w http.ResponseWriter, rate float64, who string) {
	w.Header().Set("Retry-After", "1")
	WriteError(w, http.StatusTooManyRequests, CodeRateLimited,
		fmt.Sprintf("too many requests from %s (limit %g per second); retry later", who, rate))
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// recordAudit logs an admin-scope request once it is answered. It runs on
// its own context so a client that hangs up cannot drop the entry.
func (s *Server) recordAudit(r *http.Request, rt Route, sw *statusWriter, k *apikey.Key) {
	g := s.guard()
	if g.audit == nil {
		return
	}
	e := audit.Entry{At: time.Now(), Method: r.Method, Route: rt.Method + " " + rt.Pattern, Path: r.URL.RequestURI(), Status: sw.status, Remote: r.RemoteAddr}
	if e.Status == 0 {
		e.Status = http.StatusOK
	}
	if k != nil && k.ID != 0 {
		id := k.ID
		e.KeyID, e.KeyPrefix, e.Scope = &id, k.Prefix, k.Scope
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	if err := g.audit.Record(ctx, e); err != nil {
		s.log.Error("api: audit log", "err", err)
	}
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	limit, before := 100, int64(0)
	var err error
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "limit must be an integer from 1 to 1000")
			return
		}
	}
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "before must be a positive entry id")
			return
		}
	}
	entries, err := s.guard().audit.List(r.Context(), limit, before)
	if err != nil {
		s.log.Error("api: audit list", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// UpstreamAuthContext binds a sealed upstream credential in commerce.toml
// to its place (vitrine crypt seal --context).
const UpstreamAuthContext = "commerce.upstream.auth_value"

// openSealedSecrets decrypts the secrets of a commerce configuration that
// were sealed with the installation's key-encryption key (values starting
// with "vtrsec1:"), so credentials need not sit in files in the clear.
func openSealedSecrets(c *config.Config, cfg *commerce.Config) error {
	if cfg.Upstream == nil || !crypt.IsSealed(cfg.Upstream.AuthValue) {
		return nil
	}
	kr, err := crypt.LoadKeyring(c.KEK, c.KEKFile)
	if err != nil {
		return fmt.Errorf("upstream auth_value: %w", err)
	}
	if kr == nil {
		return errors.New("upstream auth_value is sealed but no key-encryption key is configured (VITRINE_KEK or VITRINE_KEK_FILE)")
	}
	v, err := kr.Open(cfg.Upstream.AuthValue, UpstreamAuthContext)
	if err != nil {
		return fmt.Errorf("upstream auth_value: %w", err)
	}
	cfg.Upstream.AuthValue = string(v)
	return nil
}
