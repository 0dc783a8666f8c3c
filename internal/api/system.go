package api

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"time"

	"github.com/vitrine-dev/vitrine/internal/jobs"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the embedded OpenAPI document.
func OpenAPI() []byte { return openapiYAML }

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openapiYAML)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "runner": "ok"}
	ready := true
	if err := s.DB.Read.PingContext(ctx); err != nil {
		checks["database"], ready = err.Error(), false
	}
	if !s.Runner.Started() {
		checks["runner"], ready = "not started", false
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	WriteJSON(w, status, map[string]any{"ready": ready, "checks": checks})
}

// SelftestKind is the workflow kind started by POST /v1/selftest.
const SelftestKind = "selftest"

func (s *Server) startSelftest(w http.ResponseWriter, r *http.Request) {
	var in struct {
		StepDelay string `json:"step_delay"`
	}
	if err := DecodeJSON(w, r, 1<<16, &in); err != nil {
		WriteBodyError(w, err)
		return
	}
	if in.StepDelay != "" {
		d, err := time.ParseDuration(in.StepDelay)
		if err != nil || d < 0 || d > time.Minute {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "step_delay must be a duration between 0s and 1m, like \"2s\"")
			return
		}
	}
	id, err := s.Runner.Enqueue(r.Context(), SelftestKind, "installation", in)
	if errors.Is(err, jobs.ErrUnknownKind) {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "the selftest workflow is not registered in this server")
		return
	}
	if err != nil {
		s.log.Error("api: start selftest", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "could not start the selftest")
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"workflow_id": id})
}
