package vecindex

import (
	"cmp"
	"math"
	"slices"
)

// item is a node with its distance to the current query. The distance is
// the negated dot product, so smaller is closer and -d is the score.
type item struct {
	d float32
	n uint32
}

func cmpItem(a, b item) int {
	if c := cmp.Compare(a.d, b.d); c != 0 {
		return c
	}
	return cmp.Compare(a.n, b.n)
}

// searcher holds the scratch state of one graph walk. The visited set is a
// generation-stamped array rather than a map: marking is one store and a
// new search costs one increment.
type searcher struct {
	marks []uint32
	gen   uint32
	cand  []item // min-heap on d: frontier
	res   []item // max-heap on d: best ef so far
	eps   []item
	sel   []item
	tmp   []item
	tmp2  []item
	sel2  []item
}

func (s *searcher) reset(n int) {
	if len(s.marks) < n {
		s.marks = make([]uint32, n+n/4+64)
		s.gen = 0
	}
	s.gen++
	if s.gen == 0 {
		clear(s.marks)
		s.gen = 1
	}
	s.cand = s.cand[:0]
	s.res = s.res[:0]
}

// visit marks n and reports whether it was unvisited.
func (s *searcher) visit(n uint32) bool {
	if s.marks[n] == s.gen {
		return false
	}
	s.marks[n] = s.gen
	return true
}

func pushMin(h []item, x item) []item {
	h = append(h, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].d <= h[i].d {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func popMin(h []item) (item, []item) {
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h[r].d < h[l].d {
			c = r
		}
		if h[i].d <= h[c].d {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return top, h
}

func pushMax(h []item, x item) []item {
	h = append(h, x)
	siftUpMax(h, len(h)-1)
	return h
}

func siftUpMax(h []item, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].d >= h[i].d {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func siftDownMax(h []item, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h[r].d > h[l].d {
			c = r
		}
		if h[i].d >= h[c].d {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func popMax(h []item) []item {
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	siftDownMax(h, 0)
	return h
}

// linkSlot returns node n's neighbour slot on layer l: element 0 is the
// count, the rest the neighbour nodes.
func (ix *Index) linkSlot(n uint32, l int) []uint32 {
	if l == 0 {
		w := ix.m0 + 1
		i := int(n) * w
		return ix.links0[i : i+w : i+w]
	}
	w := ix.m + 1
	i := (l - 1) * w
	return ix.upper[n][i : i+w : i+w]
}

func (ix *Index) randomLevel() int {
	u := 1 - ix.rng.Float64() // (0, 1]
	l := int(-math.Log(u) * ix.ml)
	return min(l, maxLevelCap)
}

// greedy descends layer l from ep to the closest node it can reach.
func (ix *Index) greedy(q []float32, ep item, l int) item {
	cur := ep
	for changed := true; changed; {
		changed = false
		sl := ix.linkSlot(cur.n, l)
		for _, nb := range sl[1 : 1+sl[0]] {
			if d := -dot(q, ix.vec(nb)); d < cur.d {
				cur = item{d, nb}
				changed = true
			}
		}
	}
	return cur
}

// searchLayer walks layer l from eps and leaves the best ef accepted nodes
// in s.res. With all set every node is accepted (graph construction);
// otherwise tombstones and nodes rejected by f only route the walk. budget,
// when positive, bounds the distance evaluations: past it the walk gives
// up and reports true, since an exact scan would have been cheaper.
func (ix *Index) searchLayer(s *searcher, q []float32, eps []item, ef, l int, f *cfilter, all bool, budget int) (aborted bool) {
	s.reset(len(ix.ids))
	for _, e := range eps {
		if !s.visit(e.n) {
			continue
		}
		s.cand = pushMin(s.cand, e)
		if all || ix.accept(e.n, f) {
			s.res = pushMax(s.res, e)
			if len(s.res) > ef {
				s.res = popMax(s.res)
			}
		}
	}
	evals := 0
	for len(s.cand) > 0 {
		var c item
		c, s.cand = popMin(s.cand)
		if len(s.res) >= ef && c.d > s.res[0].d {
			break
		}
		sl := ix.linkSlot(c.n, l)
		for _, nb := range sl[1 : 1+sl[0]] {
			if !s.visit(nb) {
				continue
			}
			d := -dot(q, ix.vec(nb))
			evals++
			if len(s.res) < ef || d < s.res[0].d {
				s.cand = pushMin(s.cand, item{d, nb})
				if all || ix.accept(nb, f) {
					s.res = pushMax(s.res, item{d, nb})
					if len(s.res) > ef {
						s.res = popMax(s.res)
					}
				}
			}
		}
		if budget > 0 && evals > budget {
			return true
		}
	}
	return false
}

// accept reports whether node n may be returned by a search.
func (ix *Index) accept(n uint32, f *cfilter) bool {
	if ix.deleted[n] {
		return false
	}
	return f == nil || f.ok(ix, n)
}

// selectNeighbors applies the HNSW heuristic to cands (sorted by distance to
// the base node): a candidate is kept only if it is closer to the base than
// to every neighbour kept so far, which spreads links across directions
// and keeps clusters connected to each other.
func (ix *Index) selectNeighbors(cands []item, m int, out []item) []item {
	out = out[:0]
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		vc := ix.vec(c.n)
		good := true
		for _, o := range out {
			if -dot(vc, ix.vec(o.n)) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		}
	}
	return out
}

// insert appends a node for the normalised vector v and links it into the
// graph. The caller holds the write lock and has removed any live node with
// the same id.
func (ix *Index) insert(id string, v []float32, a Attrs) uint32 {
	n := uint32(len(ix.ids))
	lvl := ix.randomLevel()
	ix.ids = append(ix.ids, id)
	ix.prod = append(ix.prod, 0)
	ix.cat = append(ix.cat, 0)
	ix.avail = append(ix.avail, 0)
	ix.price = append(ix.price, 0)
	ix.vecs = append(ix.vecs, v...)
	ix.levels = append(ix.levels, uint8(lvl))
	ix.links0 = append(ix.links0, make([]uint32, ix.m0+1)...)
	var up []uint32
	if lvl > 0 {
		up = make([]uint32, lvl*(ix.m+1))
	}
	ix.upper = append(ix.upper, up)
	ix.deleted = append(ix.deleted, false)
	ix.setAttrs(n, a)
	ix.live(n)

	if ix.entry < 0 {
		ix.entry = int64(n)
		ix.topLevel = lvl
		return n
	}
	v = ix.vec(n)
	s := ix.wsearch
	ep := item{-dot(v, ix.vec(uint32(ix.entry))), uint32(ix.entry)}
	for l := ix.topLevel; l > lvl; l-- {
		ep = ix.greedy(v, ep, l)
	}
	s.eps = append(s.eps[:0], ep)
	for l := min(lvl, ix.topLevel); l >= 0; l-- {
		ix.searchLayer(s, v, s.eps, ix.cfg.EfConstruction, l, nil, true, 0)
		w := append(s.tmp[:0], s.res...)
		slices.SortFunc(w, cmpItem)
		s.tmp = w
		s.sel = ix.selectNeighbors(w, ix.m, s.sel)
		sl := ix.linkSlot(n, l)
		sl[0] = uint32(len(s.sel))
		for i, c := range s.sel {
			sl[1+i] = c.n
		}
		for _, c := range s.sel {
			ix.addLink(s, c.n, n, c.d, l)
		}
		s.eps = append(s.eps[:0], w...)
	}
	if lvl > ix.topLevel {
		ix.entry = int64(n)
		ix.topLevel = lvl
	}
	return n
}

// addLink adds the edge from -> to on layer l; d is their distance. A full
// neighbour list is re-selected with the heuristic over old and new links.
func (ix *Index) addLink(s *searcher, from, to uint32, d float32, l int) {
	sl := ix.linkSlot(from, l)
	cnt := int(sl[0])
	if cnt < len(sl)-1 {
		sl[1+cnt] = to
		sl[0]++
		return
	}
	vf := ix.vec(from)
	c := append(s.tmp2[:0], item{d, to})
	for _, x := range sl[1:] {
		c = append(c, item{-dot(vf, ix.vec(x)), x})
	}
	slices.SortFunc(c, cmpItem)
	s.tmp2 = c
	// s.sel is in use by insert, so select into a buffer of our own.
	keep := ix.selectNeighbors(c, len(sl)-1, s.sel2)
	s.sel2 = keep
	sl[0] = uint32(len(keep))
	for i, k := range keep {
		sl[1+i] = k.n
	}
}
