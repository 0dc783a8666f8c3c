// Package match finds the catalog products that a tracked item shows. For
// each track it picks the best crops (sharp, large, whole, unoccluded),
// searches the catalog's nearest neighbours of each crop's embedding, and
// re-ranks the candidates with a fused score: the crop embedding's
// similarity relative to the other catalog products (raw cosine similarity
// of non-negative CNN features says little on its own), appearance (re-ID)
// similarity of the crop to the product's main item, colour histogram
// overlap and the compatibility of the detected label with the product's
// category. Scores are aggregated over the track's crops, and a track whose
// best product does not stand out from the rest of the catalog gets no
// match.
package match

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Candidate is one nearest-neighbour hit: a product and its cosine
// similarity to the query vector.
type Candidate struct {
	ProductID string
	Score     float64
}

// Searcher is the catalog's vector index as matching uses it. Search returns
// up to k products, best first, at most one hit per product.
type Searcher interface {
	Search(ctx context.Context, vec []float32, k int) ([]Candidate, error)
}

// AppearanceSearcher is a Searcher that also finds products by appearance
// (re-ID) vector. A Matcher over one takes candidates from both neighbour
// lists and scores appearance relative to its own list, as it scores the
// embedding: the two models fail on different products (the ImageNet
// embedding on plain dark garments, the re-ID features on printed
// objects), so neither list alone holds every product worth ranking.
type AppearanceSearcher interface {
	SearchAppearance(ctx context.Context, vec []float32, k int) ([]Candidate, error)
}

// ProjectedSearcher is a Searcher that can also search the catalog in its
// learned projection (internal/project): the same embeddings mapped to
// the directions that tell one product from another across changes of
// light, pose, framing and cover. SearchProjected takes the crop's raw
// embedding and returns no candidates when the catalog has no projection,
// so matching then ranks by the raw embedding alone.
type ProjectedSearcher interface {
	SearchProjected(ctx context.Context, vec []float32, k int) ([]Candidate, error)
}

// ProductInfo is what re-ranking needs to know about a product beyond its
// embedding similarity. Zero fields are treated as unknown.
type ProductInfo struct {
	// Hubness is how much higher than the catalog average this product's
	// embedding scores against unrelated images (its mean similarity to
	// other products minus the mean of those means). Some products are
	// near everything; their similarities are lowered by this much before
	// ranking.
	Hubness    float64
	Category   string
	Colour     []float32 // colour histogram (ColourHistogram of its image)
	Appearance []float32 // appearance (re-ID) embedding, L2-normalised
}

// Products looks up ProductInfo for candidate products; ids missing from
// the result are unknown.
type Products interface {
	ProductInfo(ctx context.Context, ids []string) (map[string]ProductInfo, error)
}

// Query is one track to match.
type Query struct {
	Label string
	// Crops are the embeddings of the track's chosen crops (one per crop).
	Crops [][]float32
	// Appearance and Colour, when set, are parallel to Crops (entries may be
	// nil).
	Appearance [][]float32
	Colour     [][]float32
}

// Weights of the fused score; zero weights switch a cue off.
type Weights struct {
	Embedding  float64 // catalog-relative crop embedding similarity
	Appearance float64 // re-ID appearance similarity
	Colour     float64 // colour histogram intersection
	Category   float64 // label/category compatibility
}

// Fusions are the preset weightings compared by the evaluation.
var (
	EmbeddingOnly = Weights{Embedding: 1}
	Fused         = Weights{Embedding: 0.6, Appearance: 0.15, Colour: 0.15, Category: 0.1}
)

// Config tunes a Matcher. Zero fields take defaults.
type Config struct {
	// K is how many neighbours are fetched per crop; they also give the
	// score distribution the relative similarity is computed from.
	// Default 100.
	K int
	// TopN is how many ranked matches a result keeps. Default 5.
	TopN int
	// Weights of the fused score. Default Fused.
	Weights *Weights
	// ZScale maps the relative similarity (standard deviations above the
	// mean of the K neighbours) to 0..1: z/ZScale, clipped. Default 8.
	ZScale float64
	// MinZ: when the best product's mean relative similarity is below it,
	// the track has no match. Default 2.5.
	MinZ float64
	// MinCosine: when the best product's mean raw cosine similarity over
	// the crops is below it, the track has no match, however much that
	// product stands out. Relative scores alone let background objects
	// match whichever product is least unlike them. Default 0.68 (0.65
	// before catalogs had scene views, which raise every cosine a little);
	// negative disables it.
	MinCosine float64
	// AppearanceSearch, when the searcher is an AppearanceSearcher, takes
	// candidates from the appearance neighbours of each crop too and scores
	// appearance relative to them (see AppearanceSearcher). Off, appearance
	// is the raw cosine similarity to the embedding's candidates.
	AppearanceSearch bool
	// MinAppearanceCosine: with AppearanceSearch, a best product whose
	// mean appearance cosine similarity reaches it passes the MinCosine
	// floor even when its embedding similarity does not. Default 0.7;
	// negative disables it.
	MinAppearanceCosine float64
	// IgnoreProjection ranks by the raw embedding even when the searcher
	// is a ProjectedSearcher with a projection (for comparisons). By
	// default the projected similarity replaces the raw one in the score
	// and the ranking; the raw similarity still decides, with MinZ and
	// MinCosine, whether the track matches at all.
	IgnoreProjection bool
	// MinProjectedZ: with a projection, a best product that stands out at
	// least this far in it (standard deviations above its neighbours)
	// passes the MinZ gate even when its raw relative similarity does not;
	// MinCosine still holds. The projection ranks a product shown
	// differently from its photo first where the raw embedding puts it
	// lower and less apart, so a raw-only gate turns much of what it finds
	// away. Default 3 (chosen on the calibration videos: re-shot reels'
	// track candidates with the right product first 0.66 -> 0.80, and no
	// more matched tracks on the pedestrian video); negative disables.
	MinProjectedZ float64
	// MinSupportZ is the Support a detection of a matched track needs to
	// count as showing the matched product; the item's time span is cut to
	// the detections between the first and last that do. Default 2.
	MinSupportZ float64
	// Compatible scores label/category compatibility in 0..1 (0.5 when
	// unknown). Default: CategoryCompatibility.
	Compatible func(label, category string) float64
}

func (c Config) withDefaults() Config {
	if c.K <= 0 {
		c.K = 100
	}
	if c.TopN <= 0 {
		c.TopN = 5
	}
	if c.Weights == nil {
		w := Fused
		c.Weights = &w
	}
	if c.ZScale <= 0 {
		c.ZScale = 8
	}
	if c.MinZ == 0 {
		c.MinZ = 2.5
	}
	if c.MinCosine == 0 {
		c.MinCosine = 0.68
	}
	if c.MinProjectedZ == 0 {
		c.MinProjectedZ = 3
	}
	if c.MinAppearanceCosine == 0 {
		c.MinAppearanceCosine = 0.7
	}
	if c.MinSupportZ == 0 {
		c.MinSupportZ = 2
	}
	if c.Compatible == nil {
		c.Compatible = CategoryCompatibility
	}
	return c
}

// Matcher matches tracks against a catalog.
type Matcher struct {
	cfg      Config
	search   Searcher
	products Products // may be nil
}

// New returns a Matcher over the catalog searcher s; products may be nil,
// which leaves out the colour, appearance and category cues.
func New(cfg Config, s Searcher, products Products) (*Matcher, error) {
	if s == nil {
		return nil, errors.New("match: nil searcher")
	}
	return &Matcher{cfg: cfg.withDefaults(), search: s, products: products}, nil
}

// Scored is one ranked product of a Result.
type Scored struct {
	ProductID string
	// Score is the fused score in 0..1.
	Score float64
	// Z is the mean relative embedding similarity over the crops.
	Z float64
	// Cosine is the mean raw cosine similarity over the crops.
	Cosine float64
	// Votes is how many crops ranked this product first.
	Votes int
	// AppearanceZ and AppearanceCosine are the appearance counterparts of
	// Z and Cosine (AppearanceZ is zero without appearance search;
	// AppearanceCosine zero without appearance vectors).
	AppearanceZ, AppearanceCosine float64
	// ProjectedZ and ProjectedCosine are Z and Cosine in the catalog's
	// learned projection (zero without one).
	ProjectedZ, ProjectedCosine float64
	// Colour is the mean colour histogram intersection with the product's
	// image (zero without colour histograms).
	Colour float64
}

// Result is the outcome of matching one track.
type Result struct {
	// Matches are ranked best first; empty when NoMatch.
	Matches []Scored
	// NoMatch is set when nothing in the catalog is close enough; Best then
	// still holds the closest product for diagnostics.
	NoMatch bool
	Best    *Scored
	// Crops is how many crop vectors the query had (set by the caller).
	Crops int
}

// cropHits is the neighbour list of one crop with its score statistics.
type cropHits struct {
	raw         []Candidate
	scores      map[string]float64
	mean, sd    float64
	floor       float64 // the lowest fetched score: stands in for products not fetched
	bestProduct string
}

// Match ranks catalog products for one track.
func (m *Matcher) Match(ctx context.Context, q Query) (Result, error) {
	if len(q.Crops) == 0 {
		return Result{}, errors.New("match: track has no crop embeddings")
	}
	w := *m.cfg.Weights
	var appHits []cropHits
	cands := map[string]bool{}
	hits, err := searchEach(ctx, q.Crops, m.cfg.K, m.search.Search, cands)
	if err != nil {
		return Result{}, fmt.Errorf("match: search %w", err)
	}
	if len(hits) == 0 {
		return Result{NoMatch: true}, nil
	}
	var projHits []cropHits
	if ps, ok := m.search.(ProjectedSearcher); ok && !m.cfg.IgnoreProjection {
		if projHits, err = searchEach(ctx, q.Crops, m.cfg.K, ps.SearchProjected, cands); err != nil {
			return Result{}, fmt.Errorf("match: projected search %w", err)
		}
	}
	if as, ok := m.search.(AppearanceSearcher); ok && m.cfg.AppearanceSearch && w.Appearance > 0 {
		if appHits, err = searchEach(ctx, q.Appearance, m.cfg.K, as.SearchAppearance, cands); err != nil {
			return Result{}, fmt.Errorf("match: search appearance of %w", err)
		}
	}
	ids := make([]string, 0, len(cands))
	for id := range cands {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	info := map[string]ProductInfo{}
	if m.products != nil {
		var err error
		if info, err = m.products.ProductInfo(ctx, ids); err != nil {
			return Result{}, fmt.Errorf("match: product info: %w", err)
		}
	}
	for k := range hits {
		hits[k].summarise(func(id string) float64 { return info[id].Hubness })
	}
	for k := range appHits {
		appHits[k].summarise(nil)
	}
	for k := range projHits {
		projHits[k].summarise(nil)
	}
	// The neighbour lists that rank products: the projection's when the
	// catalog has one.
	ranking := hits
	if len(projHits) > 0 {
		ranking = projHits
	}
	var all []Scored
	for _, id := range ids {
		pi := info[id]
		s := Scored{ProductID: id}
		for _, h := range ranking {
			if h.bestProduct == id {
				s.Votes++
			}
		}
		// Mean of the better half of the crops: one blurred or occluded
		// crop should not sink a product the other crops agree on.
		s.Z, s.Cosine = relative(hits, id)
		emb := s.Z
		if len(projHits) > 0 {
			s.ProjectedZ, s.ProjectedCosine = relative(projHits, id)
			emb = s.ProjectedZ
		}
		num := w.Embedding * clamp01(emb/m.cfg.ZScale)
		den := w.Embedding
		switch {
		case len(appHits) > 0:
			s.AppearanceZ, s.AppearanceCosine = relative(appHits, id)
			num += w.Appearance * clamp01(s.AppearanceZ/m.cfg.ZScale)
			den += w.Appearance
		case w.Appearance > 0 && len(pi.Appearance) > 0:
			if v := meanOver(q.Appearance, func(a []float32) float64 { return cosine(a, pi.Appearance) }); !math.IsNaN(v) {
				s.AppearanceCosine = v
				num += w.Appearance * clamp01((v-0.5)/0.5)
				den += w.Appearance
			}
		}
		if w.Colour > 0 && len(pi.Colour) > 0 {
			if v := meanOver(q.Colour, func(c []float32) float64 { return HistogramIntersection(c, pi.Colour) }); !math.IsNaN(v) {
				s.Colour = v
				num += w.Colour * v
				den += w.Colour
			}
		}
		if w.Category > 0 && pi.Category != "" && q.Label != "" {
			num += w.Category * m.cfg.Compatible(q.Label, pi.Category)
			den += w.Category
		}
		if den > 0 {
			s.Score = clamp01(num / den)
		}
		all = append(all, s)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Score != all[j].Score {
			return all[i].Score > all[j].Score
		}
		if all[i].ProjectedZ != all[j].ProjectedZ {
			return all[i].ProjectedZ > all[j].ProjectedZ
		}
		return all[i].Z > all[j].Z
	})
	best := all[0]
	res := Result{Best: &best}
	z, close := best.Z, best.Cosine >= m.cfg.MinCosine
	if len(appHits) > 0 {
		// The evidence of both models, weighted as in the score.
		z = (w.Embedding*best.Z + w.Appearance*best.AppearanceZ) / (w.Embedding + w.Appearance)
		close = close || (m.cfg.MinAppearanceCosine >= 0 && best.AppearanceCosine >= m.cfg.MinAppearanceCosine)
	}
	if len(projHits) > 0 && m.cfg.MinProjectedZ >= 0 && best.ProjectedZ >= m.cfg.MinProjectedZ {
		z = max(z, m.cfg.MinZ)
	}
	if z < m.cfg.MinZ || !close {
		res.NoMatch = true
		return res, nil
	}
	if len(all) > m.cfg.TopN {
		all = all[:m.cfg.TopN]
	}
	res.Matches = all
	return res, nil
}

// searchEach runs search for every non-empty vector and returns the
// non-empty neighbour lists, adding their products to cands.
func searchEach(ctx context.Context, vecs [][]float32, k int, search func(context.Context, []float32, int) ([]Candidate, error), cands map[string]bool) ([]cropHits, error) {
	var out []cropHits
	for i, v := range vecs {
		if len(v) == 0 {
			continue
		}
		res, err := search(ctx, v, k)
		if err != nil {
			return nil, fmt.Errorf("crop %d: %w", i, err)
		}
		if len(res) == 0 {
			continue
		}
		for _, c := range res {
			cands[c.ProductID] = true
		}
		out = append(out, cropHits{raw: res})
	}
	return out, nil
}

// summarise computes the score statistics of a neighbour list; hub, when
// set, lowers each product's score by its hubness first.
func (h *cropHits) summarise(hub func(id string) float64) {
	h.scores = make(map[string]float64, len(h.raw))
	h.floor = math.Inf(1)
	var sum, sum2 float64
	best := math.Inf(-1)
	for _, c := range h.raw {
		sc := c.Score
		if hub != nil {
			sc -= hub(c.ProductID)
		}
		h.scores[c.ProductID] = sc
		sum += sc
		sum2 += sc * sc
		h.floor = math.Min(h.floor, sc)
		if sc > best {
			best, h.bestProduct = sc, c.ProductID
		}
	}
	n := float64(len(h.raw))
	h.mean = sum / n
	// A floor on the spread keeps a tiny or uniform catalog from turning
	// noise into huge relative scores.
	h.sd = math.Max(math.Sqrt(math.Max(sum2/n-h.mean*h.mean, 0)), 0.02)
}

// relative returns product id's mean relative score (standard deviations
// above each list's mean) and mean raw score over the better half of the
// lists; a list without the product counts its lowest score.
func relative(lists []cropHits, id string) (z, raw float64) {
	zs := make([]float64, 0, len(lists))
	raws := make([]float64, 0, len(lists))
	for _, h := range lists {
		sc, ok := h.scores[id]
		if !ok {
			sc = h.floor
		}
		zs = append(zs, (sc-h.mean)/h.sd)
		raws = append(raws, sc)
	}
	return topMean(zs), topMean(raws)
}

// topMean returns the mean of the larger half (rounded up) of xs.
func topMean(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	n := (len(s) + 1) / 2
	var sum float64
	for _, v := range s[:n] {
		sum += v
	}
	return sum / float64(n)
}

// meanOver averages f over the non-empty vectors, ignoring NaN results.
func meanOver(vs [][]float32, f func([]float32) float64) float64 {
	var sum float64
	n := 0
	for _, v := range vs {
		if len(v) == 0 {
			continue
		}
		if x := f(v); !math.IsNaN(x) {
			sum += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

func cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return math.NaN()
	}
	return dot / math.Sqrt(na*nb)
}

// MinSupportZ is the configured support threshold (see Config).
func (m *Matcher) MinSupportZ() float64 { return m.cfg.MinSupportZ }

// Support measures how strongly one crop embedding points at a product: the
// product's similarity in standard deviations above the mean of the crop's
// K nearest catalog neighbours (as Scored.Z, for a single crop). A product
// not among the neighbours gets the z of the lowest neighbour. It tells the
// detections of a matched track that show the product from those that do
// not (the track began on something else, or outlived the product).
func (m *Matcher) Support(ctx context.Context, vec []float32, productID string) (float64, error) {
	res, err := m.search.Search(ctx, vec, m.cfg.K)
	if err != nil {
		return 0, fmt.Errorf("match: support: %w", err)
	}
	if len(res) == 0 {
		return 0, nil
	}
	h := cropHits{raw: res}
	h.summarise(nil)
	z, _ := relative([]cropHits{h}, productID)
	return z, nil
}
