package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/jobs"
)

func (s *Server) workflowRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/v1/workflows", Scope: apikey.ScopeRead, Handler: s.listWorkflows, Summary: "List workflows, newest first"},
		{Method: "GET", Pattern: "/v1/workflows/{id}", Scope: apikey.ScopeRead, Handler: s.getWorkflow, Summary: "Get a workflow with its steps"},
		{Method: "GET", Pattern: "/v1/workflows/{id}/logs", Scope: apikey.ScopeRead, Handler: s.workflowLogs, Summary: "Step log lines of a workflow"},
		{Method: "POST", Pattern: "/v1/workflows/{id}/cancel", Scope: apikey.ScopeIngest, Handler: s.cancelWorkflow, Summary: "Cancel a workflow"},
		{Method: "POST", Pattern: "/v1/workflows/{id}/retry", Scope: apikey.ScopeIngest, Handler: s.retryWorkflow, Summary: "Re-run a failed or cancelled workflow from its first unfinished step"},
	}
}

// jobsError maps runner errors to HTTP errors.
func (s *Server) jobsError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "workflow not found")
	case errors.Is(err, jobs.ErrConflict):
		WriteError(w, http.StatusConflict, CodeConflict, err.Error())
	default:
		s.log.Error("api: workflows", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
	}
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := QueryInt(r, "limit", 50)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	before, err := QueryInt(r, "before", 0)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if limit < 1 || limit > 500 {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "limit must be between 1 and 500")
		return
	}
	outputs, err := QueryBool(r, "outputs")
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	list, err := s.Runner.List(r.Context(), jobs.ListParams{Kind: q.Get("kind"), Subject: q.Get("subject"), State: q.Get("state"), BeforeID: before, Limit: int(limit), Outputs: outputs})
	if err != nil {
		s.jobsError(w, err)
		return
	}
	if list == nil {
		list = []*jobs.Workflow{}
	}
	for _, wf := range list {
		scrubWorkflow(wf)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"workflows": list})
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) {
	id, err := PathID(r, "id")
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	wf, err := s.Runner.Workflow(r.Context(), id)
	if err != nil {
		s.jobsError(w, err)
		return
	}
	scrubWorkflow(wf)
	WriteJSON(w, http.StatusOK, wf)
}

func (s *Server) workflowLogs(w http.ResponseWriter, r *http.Request) {
	id, err := PathID(r, "id")
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	after, err := QueryInt(r, "after", 0)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if _, err := s.Runner.Workflow(r.Context(), id); err != nil {
		s.jobsError(w, err)
		return
	}
	logs, err := s.Runner.Logs(r.Context(), id, after, 1000)
	if err != nil {
		s.jobsError(w, err)
		return
	}
	if logs == nil {
		logs = []jobs.LogLine{}
	}
	scrubLogs(logs)
	WriteJSON(w, http.StatusOK, map[string]any{"logs": logs})
}

func (s *Server) cancelWorkflow(w http.ResponseWriter, r *http.Request) {
	s.workflowAction(w, r, s.Runner.Cancel)
}

func (s *Server) retryWorkflow(w http.ResponseWriter, r *http.Request) {
	s.workflowAction(w, r, s.Runner.Retry)
}

func (s *Server) workflowAction(w http.ResponseWriter, r *http.Request, act func(context.Context, int64) error) {
	id, err := PathID(r, "id")
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if err := act(r.Context(), id); err != nil {
		s.jobsError(w, err)
		return
	}
	wf, err := s.Runner.Workflow(r.Context(), id)
	if err != nil {
		s.jobsError(w, err)
		return
	}
	scrubWorkflow(wf)
	WriteJSON(w, http.StatusOK, wf)
}
