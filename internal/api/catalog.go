package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

func init() { registerRoutes((*Server).catalogRoutes) }

// Catalog request limits.
const (
	maxProductsBody   = 32 << 20
	maxProductsPerReq = 10_000
	maxImageUpload    = catalog.DefaultMaxImageBytes
)

func (s *Server) catalogRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/v1/catalog/products", Scope: apikey.ScopeIngest, Handler: s.upsertProducts, Summary: "Bulk upsert products (runs the catalog ingestion workflow)"},
		{Method: "POST", Pattern: "/v1/catalog/products/delete", Scope: apikey.ScopeIngest, Handler: s.deleteProducts, Summary: "Bulk delete products"},
		{Method: "GET", Pattern: "/v1/catalog/products/{id}", Scope: apikey.ScopeRead, Handler: s.getProduct, Summary: "Get a product"},
		{Method: "DELETE", Pattern: "/v1/catalog/products/{id}", Scope: apikey.ScopeIngest, Handler: s.deleteProduct, Summary: "Delete a product"},
		{Method: "GET", Pattern: "/v1/catalog/products/{id}/similar", Scope: apikey.ScopeRead, Handler: s.similarProducts, Summary: "Products visually similar to a product"},
		{Method: "POST", Pattern: "/v1/catalog/images", Scope: apikey.ScopeIngest, Handler: s.uploadProductImage, Summary: "Upload a product image; returns a blob: reference for product images"},
		{Method: "GET", Pattern: "/v1/catalog/search", Scope: apikey.ScopeRead, Handler: s.searchText, Summary: "Search products by text"},
		{Method: "POST", Pattern: "/v1/catalog/search", Scope: apikey.ScopeRead, Handler: s.searchImage, Summary: "Search products by image, per detected item"},
		{Method: "GET", Pattern: "/v1/catalog/batches/{id}", Scope: apikey.ScopeRead, Handler: s.getBatch, Summary: "Summary of an import batch"},
		{Method: "GET", Pattern: "/v1/catalog/feeds", Scope: apikey.ScopeRead, Handler: s.listFeeds, Summary: "Synced shop feeds: last sync, its added/updated/removed/failed counts and workflow, next scheduled run"},
	}
}

// catalogService returns the catalog or answers 503.
func (s *Server) catalogService(w http.ResponseWriter) *catalog.Service {
	if s.Catalog == nil {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "the catalog is not configured on this server")
	}
	return s.Catalog
}

func (s *Server) catalogError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "product not found")
	case errors.Is(err, catalog.ErrNoModels):
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
	case errors.Is(err, imageio.ErrNotImage), errors.Is(err, imageio.ErrCorrupt), errors.Is(err, imageio.ErrEmpty),
		errors.Is(err, imageio.ErrUnsupportedFormat), errors.Is(err, imageio.ErrTooManyPixels):
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, imageio.ErrTooLarge):
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, err.Error())
	default:
		s.log.Error("api: catalog", "err", err)
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
	}
}

// upsertProducts accepts {"products":[…]} and starts a catalog workflow.
// With ?wait=true it answers with the batch summary once the workflow ends.
func (s *Server) upsertProducts(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	var body struct {
		Products []catalog.Product `json:"products"`
	}
	if err := DecodeJSON(w, r, maxProductsBody, &body); err != nil {
		WriteBodyError(w, err)
		return
	}
	if len(body.Products) == 0 || len(body.Products) > maxProductsPerReq {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("products must hold 1 to %d products", maxProductsPerReq))
		return
	}
	batch, wf, err := c.EnqueueProducts(r.Context(), s.Runner, body.Products)
	if err != nil {
		s.catalogError(w, err)
		return
	}
	if r.URL.Query().Get("wait") != "true" {
		WriteJSON(w, http.StatusAccepted, map[string]any{"batch": batch, "workflow_id": wf})
		return
	}
	sum, err := c.Wait(r.Context(), s.Runner, batch, wf, nil)
	if err != nil && sum.Batch == 0 {
		s.catalogError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"batch": batch, "workflow_id": wf, "summary": sum})
}

func (s *Server) deleteProducts(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	var body struct {
		IDs []string `json:"ids"`
	}
	if err := DecodeJSON(w, r, maxProductsBody, &body); err != nil {
		WriteBodyError(w, err)
		return
	}
	if len(body.IDs) == 0 || len(body.IDs) > maxProductsPerReq {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("ids must hold 1 to %d ids", maxProductsPerReq))
		return
	}
	sum, err := c.Delete(r.Context(), body.IDs)
	if err != nil {
		s.catalogError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, sum)
}

func (s *Server) deleteProduct(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	sum, err := c.Delete(r.Context(), []string{r.PathValue("id")})
	if err != nil {
		s.catalogError(w, err)
		return
	}
	if sum.Deleted == 0 {
		WriteError(w, http.StatusNotFound, CodeNotFound, "product not found")
		return
	}
	WriteJSON(w, http.StatusOK, sum)
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	p, err := c.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.catalogError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, p)
}

// searchParams reads k and the filter from the query string.
func searchParams(r *http.Request) (int, catalog.Filter, error) {
	q := r.URL.Query()
	k, err := QueryInt(r, "k", 10)
	if err != nil {
		return 0, catalog.Filter{}, err
	}
	if k < 1 || k > 200 {
		return 0, catalog.Filter{}, errors.New("k must be between 1 and 200")
	}
	var f catalog.Filter
	for _, v := range q["category"] {
		f.Categories = append(f.Categories, strings.Split(v, ",")...)
	}
	for _, v := range q["availability"] {
		for _, a := range strings.Split(v, ",") {
			av, err := catalog.ParseAvailability(a)
			if err != nil {
				return 0, f, err
			}
			f.Availability = append(f.Availability, av)
		}
	}
	for name, dst := range map[string]*float64{"min_price": &f.MinPrice, "max_price": &f.MaxPrice} {
		if v := q.Get(name); v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x < 0 {
				return 0, f, fmt.Errorf("query parameter %s=%q is not a non-negative number", name, v)
			}
			*dst = x
		}
	}
	return int(k), f, nil
}

// searchRequest returns the catalog and the k and filter of a search
// request, or answers 503 or 400 and returns false.
func (s *Server) searchRequest(w http.ResponseWriter, r *http.Request) (*catalog.Service, int, catalog.Filter, bool) {
	c := s.catalogService(w)
	if c == nil {
		return nil, 0, catalog.Filter{}, false
	}
	k, f, err := searchParams(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return nil, 0, catalog.Filter{}, false
	}
	return c, k, f, true
}

func (s *Server) similarProducts(w http.ResponseWriter, r *http.Request) {
	c, k, f, ok := s.searchRequest(w, r)
	if !ok {
		return
	}
	sr, err := c.Searcher(r.Context())
	if err != nil {
		s.catalogError(w, err)
		return
	}
	rs, err := sr.Similar(r.Context(), r.PathValue("id"), k, f)
	if err != nil {
		s.catalogError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"results": nonNil(rs)})
}

func (s *Server) searchText(w http.ResponseWriter, r *http.Request) {
	c, k, f, ok := s.searchRequest(w, r)
	if !ok {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > 500 {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "q must hold 1 to 500 characters")
		return
	}
	// Full-text search needs no models; a semantic text encoder does.
	sr := &catalog.Searcher{Store: c.Store}
	if loaded, err := c.Searcher(r.Context()); err == nil {
		sr = loaded
	}
	rs, err := sr.SearchText(r.Context(), q, k, f)
	if err != nil {
		if errors.Is(err, catalog.ErrEmptyQuery) {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "q has no searchable words")
			return
		}
		s.catalogError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"results": nonNil(rs)})
}

// readImageBody reads an image from a multipart "image" field or from the
// raw body, at most maxImageUpload bytes, or answers 400/413 and returns
// false.
func readImageBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, status, err := imageBody(w, r)
	if err != nil {
		code := CodeBadRequest
		if status == http.StatusRequestEntityTooLarge {
			code = CodeTooLarge
		}
		WriteError(w, status, code, err.Error())
		return nil, false
	}
	return b, true
}

func imageBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxImageUpload+1<<20)
	var src io.Reader = r.Body
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("bad multipart body: %w", err)
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, http.StatusBadRequest, errors.New(`multipart body has no "image" part`)
			}
			if err != nil {
				return nil, http.StatusBadRequest, fmt.Errorf("bad multipart body: %w", err)
			}
			if part.FormName() == "image" {
				src = part
				break
			}
		}
	}
	b, err := io.ReadAll(io.LimitReader(src, maxImageUpload+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("image larger than %d bytes", maxImageUpload)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read image: %w", err)
	}
	if int64(len(b)) > maxImageUpload {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("image larger than %d bytes", maxImageUpload)
	}
	if len(b) == 0 {
		return nil, http.StatusBadRequest, errors.New("empty image")
	}
	return b, 0, nil
}

func (s *Server) searchImage(w http.ResponseWriter, r *http.Request) {
	c, k, f, ok := s.searchRequest(w, r)
	if !ok {
		return
	}
	b, ok := readImageBody(w, r)
	if !ok {
		return
	}
	sr, err := c.Searcher(r.Context())
	if err != nil {
		s.catalogError(w, err)
		return
	}
	items, err := sr.SearchImage(r.Context(), b, k, f)
	if err != nil {
		s.catalogError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

// uploadProductImage stores an image under its sha256 and returns the
// "blob:" reference to use in a product's images.
func (s *Server) uploadProductImage(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	b, ok := readImageBody(w, r)
	if !ok {
		return
	}
	_, info, err := imageio.DecodeBytes(b, imageio.Limits{MaxBytes: maxImageUpload})
	if err != nil {
		s.catalogError(w, err)
		return
	}
	sum := sha256.Sum256(b)
	sha := hex.EncodeToString(sum[:])
	key := catalog.BlobPrefix + sha
	if ok, err := c.Blobs.Exists(r.Context(), key); err != nil {
		s.catalogError(w, err)
		return
	} else if !ok {
		if err := c.Blobs.Put(r.Context(), key, bytes.NewReader(b), http.DetectContentType(b)); err != nil {
			s.catalogError(w, err)
			return
		}
	}
	WriteJSON(w, http.StatusCreated, map[string]any{"ref": "blob:" + key, "sha256": sha, "width": info.Width, "height": info.Height, "format": info.Format})
}

func (s *Server) getBatch(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	id, err := PathID(r, "id")
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	sum, err := c.Summary(r.Context(), id)
	if err != nil {
		if errors.Is(err, catalog.ErrBatchNotFound) {
			WriteError(w, http.StatusNotFound, CodeNotFound, "batch not found")
			return
		}
		s.catalogError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, sum)
}

// FeedStatus is a synced feed as the API shows it: the feed's name (a URL
// without credentials or query, or a file's base name), the sync summary,
// and the catalog workflow of its last import.
type FeedStatus struct {
	catalog.Feed
	WorkflowID int64 `json:"workflow_id,omitempty"`
}

func (s *Server) listFeeds(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	ctx := r.Context()
	fs, err := c.Store.Feeds(ctx)
	if err != nil {
		s.catalogError(w, err)
		return
	}
	out := make([]FeedStatus, 0, len(fs))
	for _, f := range fs {
		name := feedName(f.Source)
		f.Error = scrubPaths(strings.ReplaceAll(f.Error, f.Source, name))
		f.Source = name
		st := FeedStatus{Feed: f}
		if f.Batch > 0 && s.Runner != nil {
			wfs, err := s.Runner.List(ctx, jobs.ListParams{Kind: catalog.WorkflowKind, Subject: "batch:" + strconv.FormatInt(f.Batch, 10), Limit: 1})
			if err == nil && len(wfs) == 1 {
				st.WorkflowID = wfs[0].ID
			}
		}
		out = append(out, st)
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, map[string]any{"feeds": out})
}

// feedName shows a feed without what must not leave the server: a URL's
// credentials and query (shops put access tokens there), a file's
// directory.
func feedName(source string) string {
	if u, err := url.Parse(source); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		u.User = nil
		if u.RawQuery != "" {
			u.RawQuery = "…"
		}
		u.Fragment = ""
		return u.String()
	}
	return filepath.Base(source)
}

func nonNil(rs []catalog.Result) []catalog.Result {
	if rs == nil {
		return []catalog.Result{}
	}
	return rs
}
