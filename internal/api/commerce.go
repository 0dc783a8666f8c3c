package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/commerce"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/web/player"
)

// The public read path lives under /public/v1: it needs no API key but a
// publishable key (key=pk_…) whose origins include the calling page, so it
// can sit in a web page. Its requests are CORS-simple (key in the query,
// text/plain event bodies), so browsers send no preflight.

func init() {
	registerRoutes((*Server).commerceRoutes)
	registerRoutes((*Server).analyticsRoutes)
}

// commerceConfigFile is read from the data directory when present.
const commerceConfigFile = "commerce.toml"

// shop holds the commerce and analytics services of a server. They are
// built on first use: route tables are also listed by servers that never
// serve (documentation, tests).
type shop struct {
	s    *Server
	once sync.Once
	err  error

	cfg     commerce.Config
	svc     *commerce.Service
	cache   *commerce.Cache
	keys    *commerce.Keys
	gate    *commerce.Gate
	docs    *commerce.DocumentHandler
	events  *analytics.Store
	rec     *analytics.Recorder
	ingest  *analytics.Ingest
	reports *analytics.Reports
	player  http.Handler
	demo    *player.Demo
}

var shops sync.Map // *Server -> *shop

func (s *Server) shop() *shop {
	v, _ := shops.LoadOrStore(s, &shop{s: s})
	return v.(*shop)
}

func (sh *shop) init() error {
	sh.once.Do(func() {
		s := sh.s
		if s.DB == nil {
			sh.err = errors.New("no database")
			return
		}
		if s.Config != nil {
			sh.cfg, sh.err = commerce.LoadConfig(filepath.Join(s.Config.DataDir, commerceConfigFile))
			if sh.err != nil {
				return
			}
			if sh.err = openSealedSecrets(s.Config, &sh.cfg); sh.err != nil {
				return
			}
		}
		var src commerce.Source = catalogSource{s}
		if sh.cfg.Upstream != nil {
			up, err := commerce.NewUpstream(*sh.cfg.Upstream, nil)
			if err != nil {
				sh.err = err
				return
			}
			src = up
		}
		sh.cache = commerce.NewCache(src, sh.cfg.Cache, s.log)
		var similar commerce.Similar
		if s.Catalog != nil {
			similar = catalogSimilar{s.Catalog}
		}
		sh.svc = commerce.NewService(sh.cache, similar, sh.cfg.MaxAlternatives, s.log)
		sh.keys = commerce.NewKeys(s.DB, 0)
		sh.gate = commerce.NewGate(sh.keys, s.log)
		sh.docs = commerce.NewDocumentHandler(publishedDocs{s: s, products: sh.cache}, 0)
		sh.events = analytics.NewStore(s.DB, 0)
		sh.rec = analytics.NewRecorder(sh.events, analytics.RecorderConfig{}, s.log)
		sh.ingest = analytics.NewIngest(sh.rec, analytics.IngestConfig{
			KeyOf:    publishableKeyOf,
			OriginOf: commerce.RequestOrigin,
			Logger:   s.log,
		})
		sh.reports = analytics.NewReports(sh.events)
		sh.player = http.StripPrefix("/player", player.Handler())
		sh.demo = &player.Demo{Source: demoSource{sh}, ScriptURL: "/player/" + player.ScriptName}
	})
	return sh.err
}

// publishableKeyOf names the key the gate admitted r with.
func publishableKeyOf(r *http.Request) string {
	if pk := commerce.KeyFromContext(r.Context()); pk != nil {
		return pk.Key
	}
	return ""
}

// handle wraps a handler that needs the services.
func (s *Server) handle(fn func(sh *shop, w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sh := s.shop()
		if err := sh.init(); err != nil {
			s.log.Error("api: commerce services", "err", err)
			WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "commerce is not available: "+err.Error())
			return
		}
		fn(sh, w, r)
	}
}

// public puts a handler behind the publishable-key gate.
func (s *Server) public(h func(sh *shop) http.Handler) http.HandlerFunc {
	return s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.gate.Wrap(h(sh)).ServeHTTP(w, r) })
}

func (s *Server) commerceRoutes() []Route {
	none, read, admin := apikey.ScopeNone, apikey.ScopeRead, apikey.ScopeAdmin
	return []Route{
		{Method: "GET", Pattern: "/public/v1/videos/{id}/shoppable", Scope: none, Summary: "Published shoppable document of a video (publishable key)",
			Handler: s.public(func(sh *shop) http.Handler { return sh.docs })},
		{Method: "GET", Pattern: "/public/v1/videos/{id}/media", Scope: none, Summary: "The video file, with Range support (publishable key)",
			Handler: s.public(func(sh *shop) http.Handler { return http.HandlerFunc(s.serveMedia) })},
		{Method: "GET", Pattern: "/public/v1/products", Scope: none, Summary: "Details of products by ids=a,b,c (publishable key)",
			Handler: s.public(func(sh *shop) http.Handler { return http.HandlerFunc(sh.svc.ServeProducts) })},
		{Method: "GET", Pattern: "/public/v1/products/{id}", Scope: none, Summary: "Details of one product (publishable key)",
			Handler: s.public(func(sh *shop) http.Handler { return http.HandlerFunc(sh.svc.ServeProduct) })},
		{Method: "GET", Pattern: "/public/v1/products/{id}/images/{n}", Scope: none, Summary: "A catalog product image",
			Handler: s.productImage},
		{Method: "GET", Pattern: "/player/{file}", Scope: none, Summary: "The embeddable player (vitrine-player.js)",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.player.ServeHTTP(w, r) })},
		{Method: "GET", Pattern: "/player/vendor/{file}", Scope: none, Summary: "Third-party code the player loads when it needs it (hls.js)",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.player.ServeHTTP(w, r) })},
		{Method: "GET", Pattern: "/demo/{id}", Scope: none, Summary: "Demo page playing a processed video in the player",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.demo.ServeHTTP(w, r) })},
		{Method: "GET", Pattern: "/v1/commerce/products", Scope: read, Summary: "Details of products by ids=a,b,c, as the player sees them",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.svc.ServeProducts(w, r) })},
		{Method: "GET", Pattern: "/v1/commerce/products/{id}", Scope: read, Summary: "Details of one product, as the player sees them",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) { sh.svc.ServeProduct(w, r) })},
		{Method: "GET", Pattern: "/v1/commerce/stats", Scope: read, Summary: "Product-details cache and event ingestion counters",
			Handler: s.handle(func(sh *shop, w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, http.StatusOK, map[string]any{"cache": sh.cache.Stats(), "events": sh.rec.Stats()})
			})},
		{Method: "GET", Pattern: "/v1/publishable-keys", Scope: admin, Summary: "List publishable keys", Handler: s.handle(listPublishable)},
		{Method: "POST", Pattern: "/v1/publishable-keys", Scope: admin, Summary: "Create a publishable key for a list of page origins", Handler: s.handle(createPublishable)},
		{Method: "DELETE", Pattern: "/v1/publishable-keys/{id}", Scope: admin, Summary: "Revoke a publishable key", Handler: s.handle(revokePublishable)},
	}
}

func listPublishable(sh *shop, w http.ResponseWriter, r *http.Request) {
	ks, err := sh.keys.List(r.Context())
	if err != nil {
		WriteError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	if ks == nil {
		ks = []commerce.PublishableKey{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"keys": ks})
}

func createPublishable(sh *shop, w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name    string   `json:"name"`
		Origins []string `json:"origins"`
	}
	if err := DecodeJSON(w, r, 1<<16, &in); err != nil {
		WriteBodyError(w, err)
		return
	}
	if len(in.Name) > 200 || len(in.Origins) > 100 {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "name longer than 200 bytes or more than 100 origins")
		return
	}
	pk, err := sh.keys.Create(r.Context(), in.Name, in.Origins)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	WriteJSON(w, http.StatusCreated, pk)
}

func revokePublishable(sh *shop, w http.ResponseWriter, r *http.Request) {
	err := sh.keys.Revoke(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, commerce.ErrUnknownKey):
		WriteError(w, http.StatusNotFound, CodeNotFound, "no such active publishable key")
	case err != nil:
		WriteError(w, http.StatusInternalServerError, CodeInternal, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// catalogSource serves product details from the built-in catalog.
type catalogSource struct{ s *Server }

func (c catalogSource) Get(ctx context.Context, ids []string) ([]commerce.Product, error) {
	if c.s.Catalog == nil {
		return nil, errors.New("the catalog is not configured on this server")
	}
	ps, err := c.s.Catalog.Store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]commerce.Product, 0, len(ps))
	for _, p := range ps {
		cp := commerce.Product{
			ID: p.ID, Title: p.Title, Category: p.Category, Price: p.Price, Currency: p.Currency,
			Rating: p.Rating, Availability: p.Availability, URL: p.URL,
		}
		if p.RatingCount != nil {
			cp.RatingCount = int(*p.RatingCount)
		}
		cp.Removed = p.Attributes[catalog.AttrRemoved] != ""
		if cp.Availability == "" {
			cp.Availability = commerce.Unknown
		}
		for i, img := range p.Images {
			if u, err := url.Parse(img); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				cp.Images = append(cp.Images, img)
				continue
			}
			// Imported from a file or upload: served by this server, relative
			// to its root (the player resolves it against its API base).
			cp.Images = append(cp.Images, "/public/v1/products/"+url.PathEscape(p.ID)+"/images/"+strconv.Itoa(i))
		}
		out = append(out, cp)
	}
	return out, nil
}

// catalogSimilar finds in-stock products of the same category with the
// catalog's vector index.
type catalogSimilar struct{ c *catalog.Service }

func (cs catalogSimilar) SimilarProducts(ctx context.Context, id, category string, k int) ([]string, error) {
	sr, err := cs.c.Searcher(ctx)
	if err != nil {
		return nil, err
	}
	f := catalog.Filter{Availability: []string{catalog.InStock}}
	if category != "" {
		f.Categories = []string{category}
	}
	rs, err := sr.Similar(ctx, id, k, f)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.Product.ID
	}
	return ids, nil
}

// productImage serves a stored catalog image. Product images are public
// (they are on the shop already), so no key is needed and browsers may cache.
func (s *Server) productImage(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n > 1000 || !commerce.ValidID(r.PathValue("id")) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "bad product image reference")
		return
	}
	if s.DB == nil || s.Blob == nil {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "no blob store")
		return
	}
	var key string
	err = s.DB.Read.QueryRowContext(r.Context(), s.DB.Rebind(`SELECT i.blob_key FROM product_images i
		JOIN products p ON p.seq = i.product_seq WHERE p.id = ? AND i.position = ?`), r.PathValue("id"), n).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) || err == nil && key == "" {
		WriteError(w, http.StatusNotFound, CodeNotFound, "no stored image")
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	s.serveBlob(w, r, key, "public, max-age=86400")
}

// serveMedia serves a video's source file to the player.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var key string
	err := s.DB.Read.QueryRowContext(r.Context(), s.DB.Rebind(`SELECT v.blob_key FROM videos v
		WHERE v.id = ? AND EXISTS (SELECT 1 FROM shoppable_docs d WHERE d.video_id = v.id AND d.published_at IS NOT NULL)`), id).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "video "+id+" is unknown or not published")
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	s.serveBlob(w, r, key, "public, max-age=3600")
}

// serveBlob answers with a blob, honouring Range and If-Modified-Since.
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, key, cache string) {
	if s.Blob == nil {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "no blob store")
		return
	}
	attrs, err := s.Blob.Attributes(r.Context(), key)
	if errors.Is(err, blob.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "stored file is missing")
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	if attrs.ContentType != "" && attrs.ContentType != "application/octet-stream" {
		w.Header().Set("Content-Type", attrs.ContentType)
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rs := &blobSeeker{ctx: r.Context(), b: s.Blob, key: key, size: attrs.Size}
	defer rs.Close()
	http.ServeContent(w, r, "", attrs.ModTime, rs)
}

// blobSeeker is an io.ReadSeeker over a blob for http.ServeContent: each
// seek reopens the blob at the new offset with a range read.
type blobSeeker struct {
	ctx       context.Context
	b         *blob.Store
	key       string
	size, off int64
	r         io.ReadCloser
}

func (b *blobSeeker) Read(p []byte) (int, error) {
	if b.off >= b.size {
		return 0, io.EOF
	}
	if b.r == nil {
		r, err := b.b.GetRange(b.ctx, b.key, b.off, -1)
		if err != nil {
			return 0, err
		}
		b.r = r
	}
	n, err := b.r.Read(p)
	b.off += int64(n)
	return n, err
}

func (b *blobSeeker) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = b.off + offset
	case io.SeekEnd:
		abs = b.size + offset
	default:
		return 0, errors.New("blob seek: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("blob seek: negative position")
	}
	if abs != b.off {
		b.Close()
		b.off = abs
	}
	return abs, nil
}

func (b *blobSeeker) Close() error {
	if b.r == nil {
		return nil
	}
	err := b.r.Close()
	b.r = nil
	return err
}

// publishedDocs reads the newest published shoppable document of a video,
// as viewers get it.
type publishedDocs struct {
	s *Server
	// products, when set, is asked which products the shop still sells:
	// items of a product a feed sync removed, or one the shop no longer
	// knows, are left out, so every embed stops drawing them while the
	// stored document stays as it was published.
	products commerce.Source
}

func (p publishedDocs) ShoppableJSON(ctx context.Context, id string) ([]byte, error) {
	var doc string
	err := p.s.DB.Read.QueryRowContext(ctx, p.s.DB.Rebind(`SELECT doc FROM shoppable_docs
		WHERE video_id = ? AND published_at IS NOT NULL ORDER BY version DESC LIMIT 1`), id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: video %s", commerce.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("api: shoppable document %s: %w", id, err)
	}
	gone := func([]string) map[string]bool { return nil }
	if p.products != nil {
		gone = func(ids []string) map[string]bool { return commerce.Gone(ctx, p.products, ids) }
	}
	return shownOnly([]byte(doc), gone)
}

// shownOnly keeps the items a player shows: viewers get nothing that waits
// for review or was rejected, nor items whose product gone reports as no
// longer sold.
func shownOnly(js []byte, gone func(ids []string) map[string]bool) ([]byte, error) {
	var d shoppable.Document
	if err := json.Unmarshal(js, &d); err != nil {
		return nil, fmt.Errorf("api: shoppable document: %w", err)
	}
	items := d.Items[:0]
	var ids []string
	for _, it := range d.Items {
		if it.Shown() {
			items = append(items, it)
			if pid := it.Product(); pid != "" {
				ids = append(ids, pid)
			}
		}
	}
	if g := gone(ids); len(g) > 0 {
		kept := items[:0]
		for _, it := range items {
			if !g[it.Product()] {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	d.Items = items
	return d.Marshal()
}

// demoSource gives the demo page a published video and a publishable key
// for the page's own origin.
type demoSource struct{ sh *shop }

func (d demoSource) DemoVideo(ctx context.Context, id string) (player.DemoVideo, error) {
	if _, err := (publishedDocs{s: d.sh.s}).ShoppableJSON(ctx, id); errors.Is(err, commerce.ErrNotFound) {
		return player.DemoVideo{}, player.ErrNotFound
	} else if err != nil {
		return player.DemoVideo{}, err
	}
	v := player.DemoVideo{ID: id, Title: "Video " + id, Src: "/public/v1/videos/" + url.PathEscape(id) + "/media?key={key}"}
	var source string
	err := d.sh.s.DB.Read.QueryRowContext(ctx, d.sh.s.DB.Rebind(`SELECT source, width, height FROM videos WHERE id = ?`), id).Scan(&source, &v.Width, &v.Height)
	if err != nil {
		return player.DemoVideo{}, fmt.Errorf("api: demo video %s: %w", id, err)
	}
	if source != "" {
		v.Title = filepath.Base(source)
	}
	return v, nil
}

// DemoKey returns the "demo" publishable key, extended to origin when that
// origin is this machine (loopback) or listed in demo_origins. Other origins
// get no automatic key: create one with POST /v1/publishable-keys.
func (d demoSource) DemoKey(ctx context.Context, origin string) (string, error) {
	allowed := false
	if u, err := url.Parse(origin); err == nil {
		host := u.Hostname()
		ip := net.ParseIP(host)
		allowed = host == "localhost" || ip != nil && ip.IsLoopback()
	}
	for _, o := range d.sh.cfg.DemoOrigins {
		if n, _ := commerce.NormalizeOrigin(o); n == strings.ToLower(origin) {
			allowed = true
		}
	}
	if !allowed {
		return "", fmt.Errorf("origin %s is not loopback nor in %s demo_origins", origin, commerceConfigFile)
	}
	ks, err := d.sh.keys.List(ctx)
	if err != nil {
		return "", err
	}
	for _, k := range ks {
		if k.Name == "demo" && k.RevokedAt == nil && k.AllowsOrigin(origin) {
			return k.Key, nil
		}
	}
	pk, err := d.sh.keys.Create(ctx, "demo", []string{origin})
	if err != nil {
		return "", err
	}
	return pk.Key, nil
}

// closeShop writes the queued player events and forgets the server's
// commerce services. Serve should call it after the HTTP server has shut
// down; until then, events of the last second before a stop can be lost.
func (s *Server) closeShop(ctx context.Context) error {
	v, ok := shops.LoadAndDelete(s)
	if !ok {
		return nil
	}
	sh := v.(*shop)
	if sh.rec == nil {
		return nil
	}
	return sh.rec.Close(ctx)
}
