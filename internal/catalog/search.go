package catalog

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sort"
	"strings"
	"unicode"

	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/vecindex"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// Filter restricts search results; zero fields are unbounded.
type Filter struct {
	Categories   []string `json:"categories,omitempty"`
	Availability []string `json:"availability,omitempty"`
	MinPrice     float64  `json:"min_price,omitempty"`
	MaxPrice     float64  `json:"max_price,omitempty"`
}

func (f Filter) index() *vecindex.Filter {
	vf := &vecindex.Filter{Availability: f.Availability, MinPrice: f.MinPrice, MaxPrice: f.MaxPrice}
	for _, c := range f.Categories {
		vf.Categories = append(vf.Categories, strings.ToLower(c))
	}
	return vf
}

// Result is one product found by a search.
type Result struct {
	Product Product `json:"product"`
	Score   float32 `json:"score"`
}

// ItemResults are the products matching one item of a query image.
type ItemResults struct {
	// Label is the detector label, "trimmed" for the main item of a
	// packshot, or "image" for the whole query image.
	Label   string          `json:"label"`
	Score   float32         `json:"score,omitempty"`
	Box     image.Rectangle `json:"box"`
	Results []Result        `json:"results"`
}

// TextEncoder embeds text into the image embedder's space (a CLIP-style
// pair; internal/vision.TextEncoder).
type TextEncoder interface {
	EmbedTexts(ctx context.Context, texts []string) ([][]float32, error)
}

// Searcher answers image, text and similar-product queries.
type Searcher struct {
	Store    *Store
	Index    *Index
	Detector Detector
	Embedder Embedder
	// Text, when set, makes text search semantic (k-NN of the encoded
	// query); without it text search is full-text over product fields.
	Text TextEncoder
	// Shoppable lists detector labels that are products by themselves.
	Shoppable []string
	Limits    imageio.Limits
}

// ErrEmptyQuery is returned for a text query without searchable words.
var ErrEmptyQuery = errors.New("catalog: search text: the query has no searchable words")

// maxK caps the number of results of one query.
const maxK = 200

func clampK(k int) int {
	if k <= 0 {
		return 10
	}
	return min(k, maxK)
}

// SearchImage decodes a query image, detects its items and returns the
// nearest products for each shoppable item, plus for the whole image (last).
func (s *Searcher) SearchImage(ctx context.Context, data []byte, k int, f Filter) ([]ItemResults, error) {
	if s.Embedder == nil || s.Index == nil {
		return nil, errIndexNotReady
	}
	orig, _, err := imageio.DecodeBytes(data, s.Limits)
	if err != nil {
		return nil, fmt.Errorf("catalog: search image: %w", err)
	}
	// Prepared as at ingestion, so query and catalog vectors compare alike.
	img, scale := forModels(orig)
	var dets []Detection
	if s.Detector != nil {
		if dets, err = s.Detector.Detect(ctx, img); err != nil {
			return nil, fmt.Errorf("catalog: search image: detect: %w", err)
		}
	}
	shop := map[string]bool{}
	for _, l := range s.Shoppable {
		shop[strings.ToLower(l)] = true
	}
	var items []ItemResults
	imgs := []image.Image{}
	b := img.Bounds()
	for _, d := range dets {
		l := strings.ToLower(d.Label)
		r := d.Box.Intersect(b)
		if d.Score < minItemScore || !(shop[l] || l == "person") || r.Dx() < 8 || r.Dy() < 8 {
			continue
		}
		items = append(items, ItemResults{Label: l, Score: d.Score, Box: r})
		imgs = append(imgs, imageio.Crop(img, pad(r, b, 0.04)))
	}
	if len(items) == 0 {
		// A packshot-like query: its main item, as at ingestion.
		if it := MainItem(img, nil, nil); it.Box != b {
			items = append(items, ItemResults{Label: it.Label, Box: it.Box})
			imgs = append(imgs, imageio.Crop(img, it.Box))
		}
	}
	items = append(items, ItemResults{Label: "image", Box: b})
	imgs = append(imgs, img)
	vecs, err := s.Embedder.EmbedImages(ctx, imgs)
	if err != nil {
		return nil, fmt.Errorf("catalog: search image: embed: %w", err)
	}
	if len(vecs) != len(imgs) {
		return nil, fmt.Errorf("catalog: search image: %d vectors for %d crops", len(vecs), len(imgs))
	}
	for i := range items {
		if items[i].Results, err = s.knn(ctx, vecs[i], k, f, ""); err != nil {
			return nil, err
		}
		items[i].Box = scaleRect(items[i].Box, scale, orig.Bounds())
	}
	return items, nil
}

// Similar returns the products nearest to a product's own vectors, without
// the product itself.
func (s *Searcher) Similar(ctx context.Context, id string, k int, f Filter) ([]Result, error) {
	if s.Index == nil {
		return nil, errIndexNotReady
	}
	vs, err := s.Store.ProductVectors(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		if _, err := s.Store.Get(ctx, id); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("catalog: similar to %s: the product has no image vectors", id)
	}
	// Merge the neighbours of each of its vectors, best score per product.
	best := map[string]float32{}
	for _, v := range vs {
		if !Indexed(v.Kind) || v.Model != s.Index.model {
			continue
		}
		hits, err := s.Index.Search(v.Vec, clampK(k)+1, f.index())
		if err != nil {
			return nil, fmt.Errorf("catalog: similar to %s: %w", id, err)
		}
		for _, h := range hits {
			if h.Product != id && h.Score > best[h.Product] {
				best[h.Product] = h.Score
			}
		}
	}
	return s.results(ctx, best, clampK(k))
}

func (s *Searcher) knn(ctx context.Context, q []float32, k int, f Filter, exclude string) ([]Result, error) {
	hits, err := s.Index.Search(q, clampK(k), f.index())
	if err != nil {
		return nil, fmt.Errorf("catalog: search: %w", err)
	}
	best := map[string]float32{}
	for _, h := range hits {
		if h.Product != exclude {
			best[h.Product] = max(best[h.Product], h.Score)
		}
	}
	return s.results(ctx, best, clampK(k))
}

// results loads the products of best and orders them by score.
func (s *Searcher) results(ctx context.Context, best map[string]float32, k int) ([]Result, error) {
	ids := make([]string, 0, len(best))
	for id := range best {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if best[ids[i]] != best[ids[j]] {
			return best[ids[i]] > best[ids[j]]
		}
		return ids[i] < ids[j]
	})
	if len(ids) > k {
		ids = ids[:k]
	}
	ps, err := s.Store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(ps))
	for _, p := range ps {
		out = append(out, Result{Product: p, Score: best[p.ID]})
	}
	return out, nil
}

// SearchText ranks products by full-text relevance of the query over title,
// brand, category, colour and attribute values. Every query word must match
// (a word is also matched as a prefix); when that finds nothing, any word
// may match.
func (s *Searcher) SearchText(ctx context.Context, query string, k int, f Filter) ([]Result, error) {
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) == 0 {
		return nil, ErrEmptyQuery
	}
	if s.Text != nil && s.Index != nil {
		vs, err := s.Text.EmbedTexts(ctx, []string{query})
		if err != nil {
			return nil, fmt.Errorf("catalog: search text: encode: %w", err)
		}
		if len(vs) == 1 && len(vs[0]) == s.Index.Dim() {
			return s.knn(ctx, vs[0], k, f, "")
		}
	}
	if len(words) > 32 {
		words = words[:32]
	}
	for _, all := range []bool{true, false} {
		rs, err := s.Store.textSearch(ctx, words, all, clampK(k), f)
		if err != nil || len(rs) > 0 || len(words) == 1 {
			return rs, err
		}
	}
	return nil, nil
}

// textSearch ranks products whose text matches every word (all) or any
// word, each word also as a prefix. words hold only letters and digits. It
// is the one place that knows each dialect's full-text syntax: FTS5 with
// bm25 on SQLite, tsvector with ts_rank on PostgreSQL (same field weights:
// title first, then brand/category/colour, then attribute values).
func (st *Store) textSearch(ctx context.Context, words []string, all bool, k int, f Filter) ([]Result, error) {
	var q string
	var args []any
	if st.db.Dialect == store.Postgres {
		terms := make([]string, len(words))
		for i, w := range words {
			terms[i] = w + ":*"
		}
		op := " | "
		if all {
			op = " & "
		}
		q = `SELECT p.id, ts_rank(x.doc, to_tsquery('simple', ?)) AS score FROM products_fts x
			JOIN products p ON p.seq = x.seq WHERE x.doc @@ to_tsquery('simple', ?)`
		m := strings.Join(terms, op)
		args = []any{m, m}
	} else {
		terms := make([]string, len(words))
		for i, w := range words {
			terms[i] = `"` + w + `"*` // quoted: FTS5 operators in user text are plain words
		}
		op := " OR "
		if all {
			op = " AND "
		}
		q = `SELECT p.id, -bm25(products_fts, 4.0, 2.0, 2.0, 2.0, 1.0) AS score FROM products_fts
			JOIN products p ON p.seq = products_fts.rowid WHERE products_fts MATCH ?`
		args = []any{strings.Join(terms, op)}
	}
	if len(f.Categories) > 0 {
		q += ` AND lower(p.category) IN (?` + strings.Repeat(",?", len(f.Categories)-1) + `)`
		for _, c := range f.Categories {
			args = append(args, strings.ToLower(c))
		}
	}
	if len(f.Availability) > 0 {
		q += ` AND p.availability IN (?` + strings.Repeat(",?", len(f.Availability)-1) + `)`
		args = append(args, anySlice(f.Availability)...)
	}
	if f.MinPrice > 0 {
		q += ` AND p.price >= ?`
		args = append(args, f.MinPrice)
	}
	if f.MaxPrice > 0 {
		q += ` AND p.price <= ?`
		args = append(args, f.MaxPrice)
	}
	q += ` ORDER BY score DESC, p.id LIMIT ?`
	args = append(args, k)
	rows, err := st.db.Read.QueryContext(ctx, st.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: search text: %w", err)
	}
	var ids []string
	score := map[string]float32{}
	for rows.Next() {
		var id string
		var sc float64
		if err := rows.Scan(&id, &sc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("catalog: search text: %w", err)
		}
		ids = append(ids, id)
		score[id] = float32(sc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: search text: %w", err)
	}
	ps, err := st.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(ps))
	for _, p := range ps {
		out = append(out, Result{Product: p, Score: score[p.ID]})
	}
	return out, nil
}
