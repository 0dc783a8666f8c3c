package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
)

func (s *Server) keyRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/v1/keys", Scope: apikey.ScopeAdmin, Handler: s.listKeys, Summary: "List API keys (without secrets)"},
		{Method: "POST", Pattern: "/v1/keys", Scope: apikey.ScopeAdmin, Handler: s.createKey, Summary: "Create an API key; the secret is in this response only"},
		{Method: "DELETE", Pattern: "/v1/keys/{id}", Scope: apikey.ScopeAdmin, Handler: s.revokeKey, Summary: "Revoke an API key"},
	}
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.Keys.List(r.Context())
	if err != nil {
		s.log.Error("api: list keys", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
		return
	}
	if keys == nil {
		keys = []apikey.Key{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Scope string `json:"scope"`
		Name  string `json:"name"`
		// ExpiresIn is a Go duration ("720h"); ExpiresAt an RFC 3339 time.
		ExpiresIn string     `json:"expires_in"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := DecodeJSON(w, r, 1<<16, &in); err != nil {
		WriteBodyError(w, err)
		return
	}
	scope, err := apikey.ParseScope(in.Scope)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	var expires time.Time
	switch {
	case in.ExpiresIn != "" && in.ExpiresAt != nil:
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "give expires_in or expires_at, not both")
		return
	case in.ExpiresIn != "":
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil || d <= 0 {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "expires_in must be a positive duration such as 720h")
			return
		}
		expires = time.Now().Add(d)
	case in.ExpiresAt != nil:
		if !in.ExpiresAt.After(time.Now()) {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "expires_at is in the past")
			return
		}
		expires = *in.ExpiresAt
	}
	secret, k, err := s.Keys.CreateExpiring(r.Context(), scope, in.Name, expires)
	if err != nil {
		s.log.Error("api: create key", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
		return
	}
	WriteJSON(w, http.StatusCreated, map[string]any{"key": secret, "info": k})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := PathID(r, "id")
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if err := s.Keys.Revoke(r.Context(), id); errors.Is(err, apikey.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "key not found")
		return
	} else if err != nil {
		s.log.Error("api: revoke key", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
