package vecindex

import (
	"fmt"
	"math"
	"slices"
)

// cfilter is a Filter compiled against the index's attribute codes.
type cfilter struct {
	cats       []bool // by category code; nil accepts any
	avails     []bool // by availability code; nil accepts any
	minP, maxP float64
	hasMin     bool
	hasMax     bool
	match      func(string, Attrs) bool
}

func (f *cfilter) ok(ix *Index, n uint32) bool {
	if f.cats != nil && !f.cats[ix.cat[n]] {
		return false
	}
	if f.avails != nil && !f.avails[ix.avail[n]] {
		return false
	}
	if f.hasMin && ix.price[n] < f.minP {
		return false
	}
	if f.hasMax && ix.price[n] > f.maxP {
		return false
	}
	if f.match != nil && !f.match(ix.ids[n], ix.attrs(n)) {
		return false
	}
	return true
}

// compile turns f into codes. It returns nil for a filter that accepts
// everything and none=true for one that can match nothing.
func (ix *Index) compile(f *Filter) (cf *cfilter, none bool, err error) {
	if f == nil {
		return nil, false, nil
	}
	if math.IsNaN(f.MinPrice) || math.IsNaN(f.MaxPrice) {
		return nil, false, fmt.Errorf("vecindex: filter: price bound is NaN")
	}
	c := &cfilter{match: f.Match, minP: f.MinPrice, maxP: f.MaxPrice, hasMin: f.MinPrice > 0, hasMax: f.MaxPrice > 0}
	if c.hasMin && c.hasMax && c.minP > c.maxP {
		return nil, true, nil
	}
	var known bool
	if c.cats, known = codeSet(&ix.cats, f.Categories); !known {
		return nil, true, nil
	}
	if c.avails, known = codeSet(&ix.avails, f.Availability); !known {
		return nil, true, nil
	}
	if c.cats == nil && c.avails == nil && !c.hasMin && !c.hasMax && c.match == nil {
		return nil, false, nil
	}
	return c, false, nil
}

// codeSet maps names to a membership table over codes. An empty name list
// gives nil (accept all); known reports whether some name is known at all.
func codeSet(t *strtab, names []string) (set []bool, known bool) {
	if len(names) == 0 {
		return nil, true
	}
	set = make([]bool, t.len())
	for _, s := range names {
		if c, ok := t.lookup(s); ok {
			set[c] = true
			known = true
		}
	}
	return set, known
}

// estimate predicts how many live nodes pass f from the per-code counters,
// assuming independent attributes. Price bounds and Match are not counted,
// so the estimate is an upper bound for them.
func (ix *Index) estimate(f *cfilter) float64 {
	live := float64(len(ix.ids) - ix.nDeleted)
	est := live
	if f.cats != nil {
		var c int
		for code, in := range f.cats {
			if in {
				c += ix.catLive[code]
			}
		}
		est *= float64(c) / live
	}
	if f.avails != nil {
		var c int
		for code, in := range f.avails {
			if in {
				c += ix.availLive[code]
			}
		}
		est *= float64(c) / live
	}
	return est
}

// prepare validates and normalises a query.
func (ix *Index) prepare(op string, q []float32, k int) ([]float32, error) {
	if k < 1 {
		return nil, fmt.Errorf("vecindex: %s: k must be positive, got %d", op, k)
	}
	if len(q) != ix.cfg.Dim {
		return nil, fmt.Errorf("vecindex: %s: %w: got %d, want %d", op, ErrDim, len(q), ix.cfg.Dim)
	}
	qn, ok := normalize(q)
	if !ok {
		return nil, fmt.Errorf("vecindex: %s: query has zero norm or non-finite components", op)
	}
	return qn, nil
}

// Search returns up to k distinct products closest to q that pass f, best
// first. It walks the graph; a filter expected to match few vectors, or a
// walk that cannot find k matching products, falls back to an exact scan
// of the matching vectors, so a selective filter still yields k results
// when k exist.
func (ix *Index) Search(q []float32, k int, f *Filter) ([]Hit, error) {
	qn, err := ix.prepare("search", q, k)
	if err != nil {
		return nil, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	cf, none, err := ix.compile(f)
	if err != nil || none {
		return nil, err
	}
	live := len(ix.ids) - ix.nDeleted
	if live == 0 {
		return nil, nil
	}
	thr := ix.cfg.ExactThreshold
	if live <= thr || (cf != nil && ix.estimate(cf) <= float64(thr)) {
		return ix.exact(qn, k, cf), nil
	}
	s, _ := ix.pool.Get().(*searcher)
	if s == nil {
		s = &searcher{}
	}
	defer ix.pool.Put(s)
	budget := 0
	if cf != nil || ix.nDeleted > 0 {
		budget = live
	}
	for ef := max(ix.efSearch, k); ; ef *= 2 {
		if ix.searchGraph(s, qn, ef, cf, budget) {
			break // too many rejected nodes: the exact scan is cheaper
		}
		hits := ix.group(s, k)
		if len(hits) >= k {
			return hits, nil
		}
		if len(s.res) < ef || ef >= live {
			break // walked everything reachable
		}
	}
	return ix.exact(qn, k, cf), nil
}

// searchGraph descends the upper layers greedily and runs the ef-bounded
// search on layer 0, leaving the results in s.res.
func (ix *Index) searchGraph(s *searcher, q []float32, ef int, f *cfilter, budget int) (aborted bool) {
	e := uint32(ix.entry)
	ep := item{-dot(q, ix.vec(e)), e}
	for l := ix.topLevel; l > 0; l-- {
		ep = ix.greedy(q, ep, l)
	}
	s.eps = append(s.eps[:0], ep)
	return ix.searchLayer(s, q, s.eps, ef, 0, f, false, budget)
}

// group sorts s.res and keeps the best node of each product, up to k.
func (ix *Index) group(s *searcher, k int) []Hit {
	slices.SortFunc(s.res, cmpItem)
	hits := make([]Hit, 0, k)
	seen := make([]uint32, 0, k)
	for _, it := range s.res {
		p := ix.prod[it.n]
		if slices.Contains(seen, p) {
			continue
		}
		seen = append(seen, p)
		hits = append(hits, ix.hit(it))
		if len(hits) == k {
			break
		}
	}
	return hits
}

func (ix *Index) hit(it item) Hit {
	return Hit{ID: ix.ids[it.n], Product: ix.prods.name(ix.prod[it.n]), Score: -it.d}
}

// Exact returns the k distinct products closest to q that pass f by
// scanning every vector: the ground truth for Search.
func (ix *Index) Exact(q []float32, k int, f *Filter) ([]Hit, error) {
	qn, err := ix.prepare("exact search", q, k)
	if err != nil {
		return nil, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	cf, none, err := ix.compile(f)
	if err != nil || none {
		return nil, err
	}
	return ix.exact(qn, k, cf), nil
}

// exact keeps a max-heap of the best k products seen; a product already in
// the heap is improved in place, so the heap never holds a product twice.
func (ix *Index) exact(q []float32, k int, f *cfilter) []Hit {
	h := make([]item, 0, min(k, len(ix.ids)))
	for i := range ix.ids {
		n := uint32(i)
		if !ix.accept(n, f) {
			continue
		}
		d := -dot(q, ix.vec(n))
		if len(h) == k && d >= h[0].d {
			continue
		}
		p := ix.prod[n]
		j := slices.IndexFunc(h, func(x item) bool { return ix.prod[x.n] == p })
		switch {
		case j >= 0:
			if d < h[j].d {
				h[j] = item{d, n}
				siftDownMax(h, j)
			}
		case len(h) < k:
			h = pushMax(h, item{d, n})
		default:
			h[0] = item{d, n}
			siftDownMax(h, 0)
		}
	}
	slices.SortFunc(h, cmpItem)
	hits := make([]Hit, len(h))
	for i, it := range h {
		hits[i] = ix.hit(it)
	}
	return hits
}
