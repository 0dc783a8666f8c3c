package api

import (
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/video"
)

func init() { registerRoutes((*Server).videoRoutes) }

func (s *Server) videoRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/v1/videos", Scope: apikey.ScopeIngest, Handler: s.uploadVideo, Summary: "Upload a video (raw body, ?name=file.mp4) and start its analysis workflow"},
		{Method: "GET", Pattern: "/v1/videos", Scope: apikey.ScopeRead, Handler: s.listVideos, Summary: "List videos, newest first"},
		{Method: "GET", Pattern: "/v1/videos/{id}", Scope: apikey.ScopeRead, Handler: s.getVideo, Summary: "Get a video"},
		{Method: "GET", Pattern: "/v1/videos/{id}/workflow", Scope: apikey.ScopeRead, Handler: s.videoWorkflow, Summary: "The video's latest workflow: every step's state, timing and error"},
		{Method: "GET", Pattern: "/v1/videos/{id}/shoppable", Scope: apikey.ScopeRead, Handler: s.videoShoppable, Summary: "The video's vitrine.shoppable/v1 document"},
		{Method: "GET", Pattern: "/v1/videos/{id}/vtt", Scope: apikey.ScopeRead, Handler: s.videoVTT, Summary: "The video's WebVTT metadata track"},
		{Method: "GET", Pattern: "/v1/videos/{id}/shots", Scope: apikey.ScopeRead, Handler: s.videoShots, Summary: "The video's shots (?format=edl for a CMX 3600 EDL)"},
		{Method: "GET", Pattern: "/v1/videos/{id}/shots/{n}/thumbnail", Scope: apikey.ScopeRead, Handler: s.videoThumbnail, Summary: "JPEG keyframe thumbnail of a shot"},
		{Method: "POST", Pattern: "/v1/videos/{id}/rematch", Scope: apikey.ScopeIngest, Handler: s.rematchVideo, Summary: "Re-match the video's stored tracks against the current catalog"},
	}
}

// videoService returns the video service for this request. Uploads,
// re-match requests and reads need only the database, the blob store and
// the runner (which runs the workflows where steps are executed), so the
// service is built from the server's own dependencies.
func (s *Server) videoService(w http.ResponseWriter) *video.Service {
	if s.Blob == nil {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "video analysis is not configured on this server")
		return nil
	}
	v, err := video.New(video.Config{}, video.Deps{DB: s.DB, Blobs: s.Blob, Runner: s.Runner, Logger: s.log})
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
		return nil
	}
	return v
}

func (s *Server) videoError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, video.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, video.ErrTooLarge):
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, err.Error())
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "upload exceeds the size limit")
			return
		}
		s.log.Error("api: videos", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
	}
}

// uploadVideo streams the request body to the blob store.
func (s *Server) uploadVideo(w http.ResponseWriter, r *http.Request) {
	v := s.videoService(w)
	if v == nil {
		return
	}
	limit := s.Config.MaxUploadBytes
	if r.ContentLength > 0 && limit > 0 && r.ContentLength > limit {
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "upload exceeds the size limit of "+strconv.FormatInt(limit, 10)+" bytes")
		return
	}
	body := io.Reader(r.Body)
	if limit > 0 {
		body = http.MaxBytesReader(w, r.Body, limit)
	}
	name := path.Base(r.URL.Query().Get("name"))
	if name == "." || name == "/" {
		name = "upload"
	}
	got, err := v.Add(r.Context(), body, name, limit)
	if err != nil {
		if errors.Is(err, video.ErrTooLarge) {
			s.videoError(w, err)
			return
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.videoError(w, err)
			return
		}
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	w.Header().Set("Location", "/v1/videos/"+got.ID)
	WriteJSON(w, http.StatusAccepted, got)
}

func (s *Server) listVideos(w http.ResponseWriter, r *http.Request) {
	v := s.videoService(w)
	if v == nil {
		return
	}
	limit, err := QueryInt(r, "limit", 100)
	if err != nil || limit < 1 || limit > 1000 {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "limit must be between 1 and 1000")
		return
	}
	vs, err := v.List(r.Context(), int(limit))
	if err != nil {
		s.videoError(w, err)
		return
	}
	if vs == nil {
		vs = []video.Video{}
	}
	for i := range vs {
		vs[i].Error = scrubPaths(vs[i].Error)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"videos": vs})
}

func (s *Server) getVideo(w http.ResponseWriter, r *http.Request) {
	v := s.videoService(w)
	if v == nil {
		return
	}
	got, err := v.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.videoError(w, err)
		return
	}
	got.Error = scrubPaths(got.Error)
	WriteJSON(w, http.StatusOK, got)
}

func (s *Server) videoWorkflow(w http.ResponseWriter, r *http.Request) {
	v := s.videoService(w)
	if v == nil {
		return
	}
	wf, err := v.Workflow(r.Context(), r.PathValue("id"))
	if err != nil {
		s.videoError(w, err)
		return
	}
	scrubWorkflow(wf)
	WriteJSON(w, http.StatusOK, wf)
}

func (s *Server) videoShoppable(w http.ResponseWriter, r *http.Request) {
	s.videoDocument(w, r, false)
}

func (s *Server) videoVTT(w http.ResponseWriter, r *http.Request) {
	s.videoDocument(w, r, true)
}

func (s *Server) videoDocument(w http.ResponseWriter, r *http.Request, vtt bool) {
	v := s.videoService(w)
	if v == nil {
		return
	}
	doc, track, err := v.Shoppable(r.Context(), r.PathValue("id"))
	if err != nil {
		s.videoError(w, err)
		return
	}
	if vtt {
		w.Header().Set("Content-Type", "text/vtt; charset=utf-8")
		w.Write(track)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(doc)
}

func (s *Server) videoShots(w http.ResponseWriter, r *http.Request) {
	v := s.videoService(w)
	if v == nil {
		return
	}
	id := r.PathValue("id")
	shots, err := v.Shots(r.Context(), id)
	if err != nil {
		s.videoError(w, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		if shots == nil {
			shots = []video.Shot{}
		}
		WriteJSON(w, http.StatusOK, map[string]any{"shots": shots})
	case "edl":
		got, err := v.Get(r.Context(), id)
		if err != nil {
			s.videoError(w, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, video.EDL(got.ID, got.FPS, shots))
	default:
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "format must be json or edl")
	}
}

func (s *Server) videoThumbnail(w http.ResponseWriter, r *http.Request) {
	v := s.videoService(w)
	if v == nil {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "shot must be a non-negative integer")
		return
	}
	rc, err := v.Thumbnail(r.Context(), r.PathValue("id"), n)
	if err != nil {
		s.videoError(w, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "image/jpeg")
	io.Copy(w, rc)
}

func (s *Server) rematchVideo(w http.ResponseWriter, r *http.Request) {
	v := s.videoService(w)
	if v == nil {
		return
	}
	id := r.PathValue("id")
	wf, err := v.Rematch(r.Context(), id)
	if err != nil {
		if errors.Is(err, video.ErrNotFound) {
			s.videoError(w, err)
			return
		}
		WriteError(w, http.StatusConflict, CodeConflict, err.Error())
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"video_id": id, "workflow_id": wf})
}
