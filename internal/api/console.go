package api

// The operator console: a single-page app (web/console) at /console/, its
// login sessions, and the aggregated reads and actions it needs under
// /console/api/.
//
// Login: an operator enters an API key once (POST /console/api/login); the
// server answers with an HttpOnly, SameSite=Strict session cookie (Secure
// on TLS). Every route that takes an API key also takes that cookie, with
// the scope of the key that opened the session. A cookie-authenticated
// request that changes state must carry the session's CSRF token in
// X-CSRF-Token (the console reads it from GET /console/api/session, which
// another site cannot read), and an Origin header, when sent, must be this
// server's. Logout deletes the session.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/api/session"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/review"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/video"
	"github.com/vitrine-dev/vitrine/internal/videosearch"
	"github.com/vitrine-dev/vitrine/web/console"
)

// Console session cookie and CSRF header names.
const (
	SessionCookie = "vitrine_session"
	CSRFHeader    = "X-CSRF-Token"
)

func init() { registerRoutes((*Server).consoleRoutes) }

func (s *Server) consoleRoutes() []Route {
	none, read, ingest := apikey.ScopeNone, apikey.ScopeRead, apikey.ScopeIngest
	files := http.StripPrefix("/console", console.Handler())
	// "/console/" catches every path below it: unknown API paths answer
	// like the rest of the API.
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/console/api/") {
			WriteError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
			return
		}
		files.ServeHTTP(w, r)
	})
	return []Route{
		{Method: "GET", Pattern: "/console/", Scope: none, Handler: static.ServeHTTP, Summary: "The operator console (single-page app)"},
		{Method: "GET", Pattern: "/console/{file}", Scope: none, Handler: static.ServeHTTP, Summary: "A static file of the operator console"},
		{Method: "POST", Pattern: "/console/api/login", Scope: none, Handler: s.consoleLogin, Summary: "Open a console session with an API key (sets the session cookie)"},
		{Method: "POST", Pattern: "/console/api/logout", Scope: none, Handler: s.consoleLogout, Summary: "End the console session"},
		{Method: "GET", Pattern: "/console/api/session", Scope: read, Handler: s.consoleSession, Summary: "The current session's key, scope and CSRF token"},
		{Method: "GET", Pattern: "/console/api/overview", Scope: read, Handler: s.consoleOverview, Summary: "Videos and catalog batches with their workflow state, progress, duration and throughput"},
		{Method: "GET", Pattern: "/console/api/workflows/{id}", Scope: read, Handler: s.consoleWorkflow, Summary: "A workflow with its steps, every attempt and its log lines"},
		{Method: "GET", Pattern: "/console/api/videos/{id}", Scope: read, Handler: s.consoleVideo, Summary: "A video for review: workflow, shots, items with ranked matches, review history"},
		{Method: "GET", Pattern: "/console/api/videos/{id}/media", Scope: read, Handler: s.consoleMedia, Summary: "The video file, with Range support"},
		{Method: "POST", Pattern: "/console/api/videos/{id}/review", Scope: ingest, Handler: s.consoleReview, Summary: "Approve, reject, replace or reset an item's match and publish a new document version"},
		{Method: "POST", Pattern: "/console/api/catalog/import", Scope: ingest, Handler: s.consoleImportCatalog, Summary: "Upload a catalog file (CSV, JSONL or a feed, or a ZIP holding one with its images; raw body, ?name=) and start its ingestion"},
		{Method: "POST", Pattern: "/console/api/catalog/uploads", Scope: ingest, Handler: s.consoleCatalogUpload, Summary: "Upload a catalog file or a ZIP (raw body, ?name=) and get its columns, sample rows, suggested or remembered column mapping and image check"},
		{Method: "POST", Pattern: "/console/api/catalog/uploads/{id}/import", Scope: ingest, Handler: s.consoleCatalogUploadImport, Summary: "Apply a column mapping ({\"mapping\": {field: column}}, remembered per file name) to an upload and start its ingestion"},
		{Method: "GET", Pattern: "/console/api/catalog/products", Scope: read, Handler: s.consoleProducts, Summary: "A page of catalog products with images and ingestion state"},
		{Method: "GET", Pattern: "/v1/search/videos", Scope: read, Handler: s.searchVideos, Summary: "Videos and time ranges where products matching q (text) or product_id appear"},
	}
}

var sessionStores sync.Map // *Server -> *session.Store

func (s *Server) sessions() *session.Store {
	if v, ok := sessionStores.Load(s); ok {
		return v.(*session.Store)
	}
	v, _ := sessionStores.LoadOrStore(s, session.New(s.DB, 0))
	return v.(*session.Store)
}

// safeMethod reports whether a request cannot change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether the request's Origin header, when present, is
// this server. Browsers send Origin on every cross-site POST.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// sessionKey authenticates a request by its session cookie; state-changing
// requests must also pass the origin and CSRF checks.
func (s *Server) sessionKey(w http.ResponseWriter, r *http.Request, token string) (apikey.Key, bool) {
	ss, err := s.sessions().Lookup(r.Context(), token)
	if errors.Is(err, session.ErrInvalid) {
		clearSessionCookie(w, r)
		WriteError(w, http.StatusUnauthorized, CodeInvalidKey, "the console session has expired or was ended; log in again")
		return apikey.Key{}, false
	}
	if err != nil {
		s.log.Error("api: console session", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "could not check the session")
		return apikey.Key{}, false
	}
	if !safeMethod(r.Method) && (!sameOrigin(r) || !ss.CheckCSRF(r.Header.Get(CSRFHeader))) {
		WriteError(w, http.StatusForbidden, CodeCSRF, "a console request that changes state needs the session's "+CSRFHeader+" header and this server's origin")
		return apikey.Key{}, false
	}
	return apikey.Key{ID: ss.KeyID, Name: ss.KeyName, Scope: ss.Scope}, true
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", MaxAge: int(ttl.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func (s *Server) consoleLogin(w http.ResponseWriter, r *http.Request) {
	// A login from another site would sign the victim in as the attacker.
	if !sameOrigin(r) {
		WriteError(w, http.StatusForbidden, CodeCSRF, "login is only accepted from this server's own pages")
		return
	}
	var in struct {
		Key string `json:"key"`
	}
	if err := DecodeJSON(w, r, 1<<12, &in); err != nil {
		WriteBodyError(w, err)
		return
	}
	k, err := s.Keys.Verify(r.Context(), strings.TrimSpace(in.Key))
	if errors.Is(err, apikey.ErrInvalid) {
		WriteError(w, http.StatusUnauthorized, CodeInvalidKey, "the API key is unknown or revoked")
		return
	}
	if err != nil {
		s.log.Error("api: console login", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "could not verify the API key")
		return
	}
	token, ss, err := s.sessions().Create(r.Context(), k.ID)
	if err != nil {
		s.log.Error("api: console login", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "could not open a session")
		return
	}
	setSessionCookie(w, r, token, s.sessions().TTL())
	s.log.Info("console login", "key_id", k.ID, "key", k.Name, "scope", k.Scope)
	WriteJSON(w, http.StatusOK, ss)
}

func (s *Server) consoleLogout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if _, ok := s.sessionKey(w, r, c.Value); !ok {
		return
	}
	if err := s.sessions().Delete(r.Context(), c.Value); err != nil {
		s.log.Error("api: console logout", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "could not end the session")
		return
	}
	clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) consoleSession(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || bearer(r) != "" {
		// Authenticated by a key header: there is no session to describe.
		k, _ := KeyFrom(r.Context())
		WriteJSON(w, http.StatusOK, session.Session{KeyID: k.ID, KeyName: k.Name, Scope: k.Scope})
		return
	}
	ss, err := s.sessions().Lookup(r.Context(), c.Value)
	if err != nil {
		WriteError(w, http.StatusUnauthorized, CodeInvalidKey, "the console session has expired or was ended; log in again")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, ss)
}

// WorkflowSummary is a workflow's state at a glance.
type WorkflowSummary struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	Subject     string    `json:"subject"`
	State       string    `json:"state"`
	Error       string    `json:"error,omitempty"`
	Step        string    `json:"step,omitempty"` // the running, failed or last step
	StepsDone   int       `json:"steps_done"`
	StepsTotal  int       `json:"steps_total"`
	Done        int64     `json:"progress_done"`
	Total       int64     `json:"progress_total"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	ElapsedS    float64   `json:"elapsed_s"`
	Attempts    int       `json:"attempts"`
	FailedSteps int       `json:"failed_steps"`
	// Problem tells Error in words, with whether a retry can help.
	Problem *Problem `json:"problem,omitempty"`
}

func summarize(wf *jobs.Workflow, now time.Time) WorkflowSummary {
	ws := WorkflowSummary{ID: wf.ID, Kind: wf.Kind, Subject: wf.Subject, State: wf.State, Error: scrubPaths(wf.Error),
		StepsTotal: len(wf.Steps), CreatedAt: wf.CreatedAt, UpdatedAt: wf.UpdatedAt, Problem: explain(wf.Error)}
	var first, last time.Time
	for _, st := range wf.Steps {
		ws.Attempts += st.Attempts
		if st.State == jobs.StateSucceeded {
			ws.StepsDone++
		}
		if st.State == jobs.StateFailed {
			ws.FailedSteps++
		}
		if st.StartedAt != nil && (first.IsZero() || st.StartedAt.Before(first)) {
			first = *st.StartedAt
		}
		if st.FinishedAt != nil && st.FinishedAt.After(last) {
			last = *st.FinishedAt
		}
	}
	if i := currentStep(wf.Steps); i >= 0 {
		st := wf.Steps[i]
		ws.Step, ws.Done, ws.Total = st.Name, st.Done, st.Total
	}
	if !first.IsZero() {
		end := last
		if !wf.Terminal() {
			end = now
		}
		ws.ElapsedS = max(0, end.Sub(first).Seconds())
	}
	return ws
}

// currentStep is the step to show for a workflow: the first one running,
// retrying, failed or cancelled, else the first pending one, else the last.
func currentStep(steps []jobs.StepStatus) int {
	for i, st := range steps {
		if st.State != jobs.StatePending && st.State != jobs.StateSucceeded {
			return i
		}
	}
	for i, st := range steps {
		if st.State == jobs.StatePending {
			return i
		}
	}
	return len(steps) - 1
}

// ConsoleVideo is a video row of the dashboard.
type ConsoleVideo struct {
	video.Video
	Workflow *WorkflowSummary `json:"workflow,omitempty"`
	// Speed is the analysis speed as a multiple of real time.
	Speed float64 `json:"speed_x,omitempty"`
	// Problem tells the video's error in words.
	Problem *Problem `json:"problem,omitempty"`
	// Analysis is the video's analysis workflow when a later one (a
	// re-match or a republish after review) is the current Workflow: its
	// time is the analysis time, which Speed is measured on.
	Analysis *WorkflowSummary `json:"analysis,omitempty"`
}

// ConsoleBatch is a catalog import row of the dashboard.
type ConsoleBatch struct {
	WorkflowSummary
	// Batch is the import's summary (nil when it cannot be read).
	Batch *catalog.Summary `json:"batch,omitempty"`
	// Rate is the import speed in products per second.
	Rate float64 `json:"products_per_s,omitempty"`
}

// dashboardBatchErrors is how many failed rows a dashboard batch lists.
const dashboardBatchErrors = 3

func (s *Server) consoleBatch(ctx context.Context, wf *jobs.Workflow, now time.Time) ConsoleBatch {
	b := ConsoleBatch{WorkflowSummary: summarize(wf, now)}
	id, err := strconv.ParseInt(strings.TrimPrefix(wf.Subject, "batch:"), 10, 64)
	if err != nil || s.Catalog == nil {
		return b
	}
	sum, err := s.Catalog.Summary(ctx, id)
	if err != nil {
		return b
	}
	// The dashboard shows counts and the first reasons; the batch route
	// has the rest.
	if len(sum.Errors) > dashboardBatchErrors {
		sum.Errors = sum.Errors[:dashboardBatchErrors]
	}
	b.Batch = &sum
	if b.ElapsedS > 0 && sum.Total > 0 {
		b.Rate = float64(sum.Total) / b.ElapsedS
	}
	return b
}

func (s *Server) consoleOverview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := time.Now().UTC()
	out := struct {
		Videos  []ConsoleVideo    `json:"videos"`
		Batches []ConsoleBatch    `json:"batches"`
		Other   []WorkflowSummary `json:"workflows"`
	}{Videos: []ConsoleVideo{}, Batches: []ConsoleBatch{}, Other: []WorkflowSummary{}}
	vsvc := s.consoleVideos(w)
	if vsvc == nil {
		return
	}
	vs, err := vsvc.List(ctx, 200)
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	for _, v := range vs {
		cv := ConsoleVideo{Video: v, Problem: explain(v.Error)}
		cv.Error = scrubPaths(v.Error)
		if wf, err := vsvc.Workflow(ctx, v.ID); err == nil {
			sum := summarize(wf, now)
			cv.Workflow = &sum
			// Speed is the analysis's, even when a re-match ran since.
			analysis := sum
			if wf.ID != v.WorkflowID && v.WorkflowID > 0 {
				if awf, err := s.Runner.Workflow(ctx, v.WorkflowID); err == nil {
					analysis = summarize(awf, now)
					cv.Analysis = &analysis
				}
			}
			if analysis.Kind == video.KindAnalyze && analysis.State == jobs.StateSucceeded && analysis.ElapsedS > 0 && v.DurationS > 0 {
				cv.Speed = v.DurationS / analysis.ElapsedS
			}
		}
		out.Videos = append(out.Videos, cv)
	}
	list, err := s.Runner.List(ctx, jobs.ListParams{Limit: 100})
	if err != nil {
		s.jobsError(w, err)
		return
	}
	for _, wf := range list {
		switch {
		case wf.Kind == catalog.WorkflowKind:
			out.Batches = append(out.Batches, s.consoleBatch(ctx, wf, now))
		case strings.HasPrefix(wf.Kind, video.KindAnalyze):
		default:
			out.Other = append(out.Other, summarize(wf, now))
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) consoleWorkflow(w http.ResponseWriter, r *http.Request) {
	id, err := PathID(r, "id")
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	wf, err := s.Runner.Workflow(ctx, id)
	if err != nil {
		s.jobsError(w, err)
		return
	}
	runs, err := s.Runner.StepRuns(ctx, id)
	if err != nil {
		s.jobsError(w, err)
		return
	}
	logs, err := s.Runner.Logs(ctx, id, 0, 500)
	if err != nil {
		s.jobsError(w, err)
		return
	}
	if runs == nil {
		runs = []jobs.StepRun{}
	}
	if logs == nil {
		logs = []jobs.LogLine{}
	}
	sum := summarize(wf, time.Now().UTC())
	scrubWorkflow(wf)
	scrubLogs(logs)
	out := map[string]any{"workflow": wf, "summary": sum, "runs": runs, "logs": logs, "problem": sum.Problem}
	// Each failed step's error in words.
	steps := map[int]*Problem{}
	for _, st := range wf.Steps {
		if st.Error != "" {
			steps[st.Index] = explain(st.Error)
		}
	}
	out["step_problems"] = steps
	if wf.Kind == catalog.WorkflowKind {
		// How the rows fared: a workflow can succeed with every row failed.
		if b := s.consoleBatch(ctx, wf, time.Now().UTC()); b.Batch != nil {
			out["batch"] = b.Batch
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, out)
}

// consoleVideoError maps video service errors to HTTP errors.
func (s *Server) consoleVideoError(w http.ResponseWriter, err error) {
	if errors.Is(err, video.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, err.Error())
		return
	}
	s.log.Error("api: console", "err", err)
	WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
}

// consoleVideos is the video service with review edits applied to the
// documents it builds, or nil after answering 503.
func (s *Server) consoleVideos(w http.ResponseWriter) *video.Service {
	if s.Blob == nil {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "video analysis is not configured on this server")
		return nil
	}
	v, err := video.New(video.Config{}, video.Deps{DB: s.DB, Blobs: s.Blob, Runner: s.Runner, Logger: s.log, Review: review.New(s.DB)})
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
		return nil
	}
	return v
}

// uploadName reads and checks the ?name= of an upload.
func uploadName(r *http.Request, exts ...string) (string, error) {
	name := filepath.Base(strings.TrimSpace(r.URL.Query().Get("name")))
	if name == "" || name == "." || name == "/" || len(name) > 200 {
		return "", errors.New("the name query parameter (the file's name) is required")
	}
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range exts {
		if ext == e {
			return name, nil
		}
	}
	return "", fmt.Errorf("file %q: want one of %s", name, strings.Join(exts, ", "))
}

func (s *Server) consoleImportCatalog(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	dir, file, _, ok := s.storeCatalogUpload(w, r)
	if !ok {
		return
	}
	batch, wf, err := c.EnqueueFile(r.Context(), s.Runner, file)
	if err != nil {
		os.RemoveAll(dir)
		WriteError(w, http.StatusBadRequest, CodeBadRequest, scrubPaths(err.Error()))
		return
	}
	if err := os.WriteFile(filepath.Join(dir, ".imported"), []byte(fmt.Sprint(batch)), 0o640); err != nil {
		s.log.Warn("api: mark catalog upload imported", "file", filepath.Base(file), "err", err)
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"batch": batch, "workflow_id": wf})
}

func (s *Server) consoleProducts(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	offset, err := QueryInt(r, "offset", 0)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	limit, err := QueryInt(r, "limit", 48)
	if err != nil || limit < 1 || limit > 500 || offset < 0 {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "limit must be 1..500 and offset >= 0")
		return
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", catalog.StatusPending, catalog.StatusReady, catalog.StatusFailed:
	default:
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "status must be pending, ready or failed")
		return
	}
	ps, total, err := c.Store.List(r.Context(), status, int(offset), int(limit))
	if err != nil {
		s.catalogError(w, err)
		return
	}
	counts, err := c.Store.Count(r.Context())
	if err != nil {
		s.catalogError(w, err)
		return
	}
	if ps == nil {
		ps = []catalog.Product{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"products": ps, "total": total, "counts": counts})
}

// ProductBrief is what the review screen shows of a matched product.
type ProductBrief struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Category string `json:"category,omitempty"`
	Colour   string `json:"colour,omitempty"`
	Image    string `json:"image,omitempty"`
	Status   string `json:"status,omitempty"`
}

// productBriefs describes the products with these ids (unknown ids are left out).
func (s *Server) productBriefs(ctx context.Context, ids []string) (map[string]ProductBrief, error) {
	out := map[string]ProductBrief{}
	if s.Catalog == nil || len(ids) == 0 {
		return out, nil
	}
	ps, err := s.Catalog.Store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		b := ProductBrief{ID: p.ID, Title: p.Title, Category: p.Category, Colour: p.Colour, Status: p.Status}
		if len(p.Images) > 0 {
			b.Image = "/public/v1/products/" + url.PathEscape(p.ID) + "/images/0"
		}
		out[p.ID] = b
	}
	return out, nil
}

func (s *Server) consoleVideo(w http.ResponseWriter, r *http.Request) {
	vs := s.consoleVideos(w)
	if vs == nil {
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	v, err := vs.Get(ctx, id)
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	out := map[string]any{"video": v, "problem": explain(v.Error)}
	v.Error = scrubPaths(v.Error)
	out["video"] = v
	if wf, err := vs.Workflow(ctx, id); err == nil {
		out["workflow"] = summarize(wf, time.Now().UTC())
	}
	shots, err := vs.Shots(ctx, id)
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	if shots == nil {
		shots = []video.Shot{}
	}
	out["shots"] = shots
	// The document as the next version would be assembled: stored matches
	// with every review edit applied.
	var ids []string
	if v.State == video.StateReady {
		doc, err := vs.BuildDocument(ctx, id)
		if err != nil {
			s.consoleVideoError(w, err)
			return
		}
		if doc.Items == nil {
			doc.Items = []shoppable.Item{}
		}
		out["items"] = doc.Items
		for _, it := range doc.Items {
			for _, m := range it.Matches {
				ids = append(ids, m.ProductID)
			}
			if it.ProductID != "" {
				ids = append(ids, it.ProductID)
			}
		}
	}
	edits, err := review.New(s.DB).Edits(ctx, id)
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	if edits == nil {
		edits = []review.Edit{}
	}
	out["edits"] = edits
	for _, e := range edits {
		if e.ProductID != "" {
			ids = append(ids, e.ProductID)
		}
	}
	if products, err := s.productBriefs(ctx, ids); err == nil {
		out["products"] = products
	} else {
		s.log.Warn("api: console video products", "video", id, "err", err)
	}
	if doc, _, err := vs.Shoppable(ctx, id); err == nil {
		var head struct {
			Version int `json:"version"`
		}
		if d, err := shoppable.Parse(doc); err == nil {
			head.Version = d.Version
		}
		out["published_version"] = head.Version
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) consoleMedia(w http.ResponseWriter, r *http.Request) {
	vs := s.consoleVideos(w)
	if vs == nil {
		return
	}
	v, err := vs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	s.serveBlob(w, r, v.BlobKey, "private, max-age=600")
}

func (s *Server) consoleReview(w http.ResponseWriter, r *http.Request) {
	vs := s.consoleVideos(w)
	if vs == nil {
		return
	}
	var in struct {
		ItemID    string `json:"item_id"`
		Action    string `json:"action"`
		ProductID string `json:"product_id"`
		Note      string `json:"note"`
	}
	if err := DecodeJSON(w, r, 1<<14, &in); err != nil {
		WriteBodyError(w, err)
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	v, err := vs.Get(ctx, id)
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	if v.State != video.StateReady {
		WriteError(w, http.StatusConflict, CodeConflict, fmt.Sprintf("video %s is %s: review it once its analysis has finished", id, v.State))
		return
	}
	doc, err := vs.BuildDocument(ctx, id)
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	var item *shoppable.Item
	for i := range doc.Items {
		if doc.Items[i].ID == in.ItemID {
			item = &doc.Items[i]
		}
	}
	if item == nil {
		WriteError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("video %s has no item %q", id, in.ItemID))
		return
	}
	if in.ProductID != "" && s.Catalog != nil {
		if _, err := s.Catalog.Store.Get(ctx, in.ProductID); errors.Is(err, catalog.ErrNotFound) {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("product %q is not in the catalog", in.ProductID))
			return
		} else if err != nil {
			s.catalogError(w, err)
			return
		}
	}
	k, _ := KeyFrom(ctx)
	e, err := review.New(s.DB).Record(ctx, id, *item, in.Action, in.ProductID, in.Note, review.Actor{KeyID: k.ID, Name: k.Name})
	if errors.Is(err, review.ErrInvalid) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	// The edit is stored; a new document version makes it public.
	wf, err := vs.Republish(ctx, id)
	if err != nil {
		s.log.Warn("api: republish after review", "video", id, "err", err)
		WriteJSON(w, http.StatusAccepted, map[string]any{"edit": e, "workflow_id": 0, "warning": "edit stored; it will be published with the next document version: " + err.Error()})
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"edit": e, "workflow_id": wf})
}

// searchVideos answers GET /v1/search/videos?q=red+handbag or ?product_id=…
func (s *Server) searchVideos(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	pid := strings.TrimSpace(r.URL.Query().Get("product_id"))
	if (q == "") == (pid == "") || len(q) > 500 || len(pid) > 200 {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "give either q (1 to 500 characters) or product_id")
		return
	}
	vs := s.consoleVideos(w)
	if vs == nil {
		return
	}
	query := videosearch.Query{Products: map[string]float64{}}
	if pid != "" {
		query.Products[pid] = 1
	} else {
		query.Words = strings.Fields(q)
		if s.Catalog != nil {
			rs, err := (&catalog.Searcher{Store: s.Catalog.Store}).SearchText(ctx, q, 50, catalog.Filter{})
			if err != nil && !errors.Is(err, catalog.ErrEmptyQuery) {
				s.catalogError(w, err)
				return
			}
			top := float32(0)
			for _, res := range rs {
				top = max(top, res.Score)
			}
			for _, res := range rs {
				rel := 1.0
				if top > 0 {
					rel = float64(res.Score / top)
				}
				query.Products[res.Product.ID] = rel
			}
		}
	}
	vids, err := vs.List(ctx, 1000)
	if err != nil {
		s.consoleVideoError(w, err)
		return
	}
	var docs []*shoppable.Document
	for _, v := range vids {
		raw, _, err := vs.Shoppable(ctx, v.ID)
		if errors.Is(err, video.ErrNotFound) {
			continue
		}
		if err != nil {
			s.consoleVideoError(w, err)
			return
		}
		d, err := shoppable.Parse(raw)
		if err != nil {
			s.log.Warn("api: search videos: bad stored document", "video", v.ID, "err", err)
			continue
		}
		docs = append(docs, d)
	}
	hits := videosearch.Find(docs, query)
	if hits == nil {
		hits = []videosearch.Hit{}
	}
	var ids []string
	for _, h := range hits {
		for _, rg := range h.Ranges {
			if rg.ProductID != "" {
				ids = append(ids, rg.ProductID)
			}
		}
	}
	products, err := s.productBriefs(ctx, ids)
	if err != nil {
		s.catalogError(w, err)
		return
	}
	// What each hit is called and looks like: its file name and the
	// keyframe of its first matching shot.
	names := map[string]VideoBrief{}
	byID := map[string]video.Video{}
	for _, v := range vids {
		byID[v.ID] = v
	}
	for _, h := range hits {
		v := byID[h.VideoID]
		b := VideoBrief{ID: v.ID, Name: path.Base(strings.ReplaceAll(v.Source, "\\", "/")), DurationS: v.DurationS}
		if b.Name == "." || b.Name == "/" || v.Source == "" {
			b.Name = v.ID
		}
		if len(h.Ranges) > 0 {
			b.Thumbnail = fmt.Sprintf("/v1/videos/%s/shots/%d/thumbnail", url.PathEscape(v.ID), h.Ranges[0].Shot)
		}
		names[v.ID] = b
	}
	// The query as run: the words matched against labels and the
	// products the catalog search found for them.
	ran := map[string]any{"products": len(query.Products)}
	if pid != "" {
		ran["product_id"] = pid
	} else {
		ran["q"] = strings.Join(query.Words, " ")
	}
	WriteJSON(w, http.StatusOK, map[string]any{"videos": hits, "products": products, "video_info": names, "query": ran})
}

// VideoBrief is what search results show of a video.
type VideoBrief struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	DurationS float64 `json:"duration_s,omitempty"`
	Thumbnail string  `json:"thumbnail,omitempty"`
}
