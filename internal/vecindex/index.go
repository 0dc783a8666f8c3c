// Package vecindex is an in-memory approximate nearest-neighbour index over
// float32 vectors with cosine similarity: a hierarchical navigable small
// world graph (HNSW), filtered search on product attributes, and binary
// snapshots.
//
// Vectors are normalised on insert and queries on search, so the score of a
// hit is the cosine similarity in [-1, 1] (the dot product of unit vectors).
//
// Grouping: every vector has its own ID, chosen by the caller (for example
// "p123#crop" and "p123#full" for the crop and the whole image of product
// p123), and an optional product key in Attrs.Product. Search and Exact
// return at most one hit per product key, the best-scoring vector of that
// product, so k hits are k distinct products. A vector with an empty product
// key is a product of its own (its ID is the key).
//
// An Index is safe for concurrent use: searches run in parallel under a read
// lock, Upsert and Delete take the write lock.
package vecindex

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultM              = 16
	DefaultEfConstruction = 200
	DefaultEfSearch       = 64
	DefaultExactThreshold = 2048
)

// maxLevel caps the random layer count; with M >= 2 a level above 15 has
// probability below 2^-15 per node and would only waste memory.
const maxLevelCap = 15

// ErrDim is returned (wrapped) when a vector's length differs from the index
// dimension.
var ErrDim = errors.New("vecindex: dimension mismatch")

// Config sets the shape of the graph. Only Dim is required.
type Config struct {
	// Dim is the vector dimension (for example 512).
	Dim int
	// M is the number of neighbours kept per node on the upper layers; the
	// base layer keeps 2*M. Default 16.
	M int
	// EfConstruction is the candidate list size while inserting. Default 200.
	EfConstruction int
	// EfSearch is the candidate list size while searching; it is raised to k
	// when k is larger. Default 64.
	EfSearch int
	// ExactThreshold: a search whose filter is expected to match at most this
	// many vectors, or an index holding at most this many, scans exactly
	// instead of walking the graph. Default 2048; negative means never.
	ExactThreshold int
	// Capacity is an optional hint of the final vector count, to allocate
	// storage once.
	Capacity int
	// Seed seeds the layer assignment, making builds reproducible.
	Seed uint64
}

func (c Config) withDefaults() (Config, error) {
	if c.Dim <= 0 || c.Dim > 1<<16 {
		return c, fmt.Errorf("vecindex: config: dim %d out of range 1..65536", c.Dim)
	}
	if c.M == 0 {
		c.M = DefaultM
	}
	if c.M < 2 || c.M > 256 {
		return c, fmt.Errorf("vecindex: config: M %d out of range 2..256", c.M)
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = DefaultEfConstruction
	}
	if c.EfSearch == 0 {
		c.EfSearch = DefaultEfSearch
	}
	if c.EfConstruction < 1 || c.EfSearch < 1 {
		return c, fmt.Errorf("vecindex: config: ef must be positive (construction %d, search %d)", c.EfConstruction, c.EfSearch)
	}
	if c.ExactThreshold == 0 {
		c.ExactThreshold = DefaultExactThreshold
	}
	if c.ExactThreshold < 0 {
		c.ExactThreshold = -1
	}
	c.ExactThreshold = min(c.ExactThreshold, math.MaxInt32)
	if c.Capacity < 0 {
		c.Capacity = 0
	}
	return c, nil
}

// Attrs are the filterable attributes of a vector.
type Attrs struct {
	// Product groups vectors of one product; empty means the vector ID.
	Product string
	// Category and Availability are matched exactly by Filter.
	Category     string
	Availability string
	// Price is compared with Filter.MinPrice and Filter.MaxPrice.
	Price float64
}

// Filter restricts a search. The zero Filter (or a nil *Filter) matches
// everything; set fields are combined with AND.
type Filter struct {
	// Categories, when not empty, is the set of accepted categories.
	Categories []string
	// Availability, when not empty, is the set of accepted availabilities.
	Availability []string
	// MinPrice and MaxPrice bound the price inclusively; 0 means unbounded.
	MinPrice, MaxPrice float64
	// Match, when set, is called for every candidate that passes the other
	// conditions; it must be fast and must not call back into the index.
	Match func(id string, a Attrs) bool
}

// Hit is one search result.
type Hit struct {
	// ID is the vector that matched best for this product.
	ID string
	// Product is the product key (the ID when the vector has none).
	Product string
	// Score is the cosine similarity.
	Score float32
}

// Index is an HNSW graph over unit vectors. Create one with New or Load.
type Index struct {
	mu    sync.RWMutex
	cfg   Config
	m, m0 int
	ml    float64
	rng   *rand.Rand
	stamp uint64

	// Per-node columns, indexed by internal node number. Nodes are never
	// moved; Delete leaves a tombstone that still routes searches until the
	// next compaction.
	ids     []string
	prod    []uint32 // code in prods
	cat     []uint32 // code in cats
	avail   []uint32 // code in avails
	price   []float64
	vecs    []float32 // node i at [i*dim, (i+1)*dim)
	levels  []uint8
	links0  []uint32   // node i at [i*(m0+1)]: count, then m0 slots
	upper   [][]uint32 // node i: level*(m+1) slots, layer l at (l-1)*(m+1)
	deleted []bool

	byID      map[string]uint32
	byProduct map[uint32][]uint32 // live nodes per product code
	prods     strtab
	cats      strtab
	avails    strtab
	catLive   []int // live nodes per category code
	availLive []int
	nDeleted  int

	entry    int64 // -1 when empty
	topLevel int

	efSearch int
	pool     sync.Pool // *searcher for readers
	wsearch  *searcher // used under the write lock
}

// New returns an empty index.
func New(cfg Config) (*Index, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ix := &Index{cfg: cfg}
	ix.init()
	if c := cfg.Capacity; c > 0 {
		ix.ids = make([]string, 0, c)
		ix.prod = make([]uint32, 0, c)
		ix.cat = make([]uint32, 0, c)
		ix.avail = make([]uint32, 0, c)
		ix.price = make([]float64, 0, c)
		ix.vecs = make([]float32, 0, c*cfg.Dim)
		ix.levels = make([]uint8, 0, c)
		ix.links0 = make([]uint32, 0, c*(ix.m0+1))
		ix.upper = make([][]uint32, 0, c)
		ix.deleted = make([]bool, 0, c)
	}
	return ix, nil
}

// init sets derived fields and empty tables; shared by New, Load and compact.
func (ix *Index) init() {
	ix.m = ix.cfg.M
	ix.m0 = 2 * ix.cfg.M
	ix.ml = 1 / math.Log(float64(ix.cfg.M))
	ix.rng = rand.New(rand.NewPCG(ix.cfg.Seed, 0x9e3779b97f4a7c15))
	ix.byID = make(map[string]uint32)
	ix.byProduct = make(map[uint32][]uint32)
	ix.prods = newStrtab()
	ix.cats = newStrtab()
	ix.avails = newStrtab()
	ix.catLive = []int{0}
	ix.availLive = []int{0}
	ix.entry = -1
	ix.efSearch = ix.cfg.EfSearch
	ix.wsearch = &searcher{}
}

// Config returns the configuration with defaults applied.
func (ix *Index) Config() Config {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c := ix.cfg
	c.EfSearch = ix.efSearch
	return c
}

// Dim returns the vector dimension.
func (ix *Index) Dim() int { return ix.cfg.Dim }

// Len returns the number of live vectors.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.ids) - ix.nDeleted
}

// Stamp returns the caller-provided stamp (for example the catalog version
// the index reflects); it is stored in snapshots.
func (ix *Index) Stamp() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.stamp
}

// SetStamp records the caller-provided stamp.
func (ix *Index) SetStamp(s uint64) {
	ix.mu.Lock()
	ix.stamp = s
	ix.mu.Unlock()
}

// SetEfSearch changes the search candidate list size (recall/latency
// trade-off) for later searches.
func (ix *Index) SetEfSearch(ef int) {
	if ef < 1 {
		ef = 1
	}
	ix.mu.Lock()
	ix.efSearch = ef
	ix.mu.Unlock()
}

// Has reports whether a live vector with this ID exists.
func (ix *Index) Has(id string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.byID[id]
	return ok
}

// Get returns a copy of the (normalised) vector stored under id and its
// attributes, for example to search for products similar to a product.
func (ix *Index) Get(id string) ([]float32, Attrs, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok {
		return nil, Attrs{}, false
	}
	return slices.Clone(ix.vec(n)), ix.attrs(n), true
}

// Upsert inserts the vector under id, or replaces the vector and attributes
// stored under id. The vector is copied and normalised.
func (ix *Index) Upsert(id string, vec []float32, a Attrs) error {
	if id == "" {
		return errors.New("vecindex: upsert: empty id")
	}
	if len(vec) != ix.cfg.Dim {
		return fmt.Errorf("vecindex: upsert %q: %w: got %d, want %d", id, ErrDim, len(vec), ix.cfg.Dim)
	}
	if math.IsNaN(a.Price) || math.IsInf(a.Price, 0) {
		return fmt.Errorf("vecindex: upsert %q: price is not a finite number", id)
	}
	v, ok := normalize(vec)
	if !ok {
		return fmt.Errorf("vecindex: upsert %q: vector has zero norm or non-finite components", id)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if n, ok := ix.byID[id]; ok {
		if slices.Equal(ix.vec(n), v) {
			// Same vector: update attributes in place, the graph is unchanged.
			ix.unlive(n)
			ix.setAttrs(n, a)
			ix.live(n)
			return nil
		}
		ix.tombstone(n)
	}
	ix.insert(id, v, a)
	ix.maybeCompact()
	return nil
}

// Delete removes the vector with this ID and reports whether it existed.
func (ix *Index) Delete(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n, ok := ix.byID[id]
	if !ok {
		return false
	}
	ix.tombstone(n)
	ix.maybeCompact()
	return true
}

// DeleteProduct removes every vector whose product key is product (or whose
// ID is product when it has no key) and returns how many were removed.
func (ix *Index) DeleteProduct(product string) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	code, ok := ix.prods.lookup(product)
	if !ok {
		return 0
	}
	nodes := slices.Clone(ix.byProduct[code])
	for _, n := range nodes {
		ix.tombstone(n)
	}
	ix.maybeCompact()
	return len(nodes)
}

// Compact rebuilds the graph without deleted vectors. Upsert and Delete call
// it on their own once tombstones outnumber live vectors.
func (ix *Index) Compact() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.compact()
}

func (ix *Index) maybeCompact() {
	if ix.nDeleted >= 64 && 2*ix.nDeleted > len(ix.ids) {
		ix.compact()
	}
}

func (ix *Index) compact() {
	if ix.nDeleted == 0 {
		return
	}
	// Keep the old columns; ix is rebuilt in place from the live nodes.
	oldIDs, oldDeleted, oldVecs := ix.ids, ix.deleted, ix.vecs
	oldProd, oldCat, oldAvail, oldPrice := ix.prod, ix.cat, ix.avail, ix.price
	oldProds, oldCats, oldAvails := ix.prods, ix.cats, ix.avails
	live := len(oldIDs) - ix.nDeleted
	ef, stamp := ix.efSearch, ix.stamp
	ix.init()
	ix.efSearch, ix.stamp = ef, stamp
	ix.ids = make([]string, 0, live)
	ix.prod = make([]uint32, 0, live)
	ix.cat = make([]uint32, 0, live)
	ix.avail = make([]uint32, 0, live)
	ix.price = make([]float64, 0, live)
	ix.vecs = make([]float32, 0, live*ix.cfg.Dim)
	ix.levels = make([]uint8, 0, live)
	ix.links0 = make([]uint32, 0, live*(ix.m0+1))
	ix.upper = make([][]uint32, 0, live)
	ix.deleted = make([]bool, 0, live)
	ix.nDeleted = 0
	d := ix.cfg.Dim
	for n, id := range oldIDs {
		if oldDeleted[n] {
			continue
		}
		p := oldProds.name(oldProd[n])
		if p == id {
			p = ""
		}
		a := Attrs{Product: p, Category: oldCats.name(oldCat[n]), Availability: oldAvails.name(oldAvail[n]), Price: oldPrice[n]}
		ix.insert(id, oldVecs[n*d:(n+1)*d:(n+1)*d], a)
	}
}

// vec returns the stored vector of node n (not a copy).
func (ix *Index) vec(n uint32) []float32 {
	d := ix.cfg.Dim
	i := int(n) * d
	return ix.vecs[i : i+d : i+d]
}

func (ix *Index) attrs(n uint32) Attrs {
	p := ix.prods.name(ix.prod[n])
	if p == ix.ids[n] {
		p = ""
	}
	return Attrs{
		Product:      p,
		Category:     ix.cats.name(ix.cat[n]),
		Availability: ix.avails.name(ix.avail[n]),
		Price:        ix.price[n],
	}
}

func (ix *Index) productName(n uint32) string { return ix.prods.name(ix.prod[n]) }

// setAttrs stores a's codes for node n (n must already have its slots).
func (ix *Index) setAttrs(n uint32, a Attrs) {
	p := a.Product
	if p == "" {
		p = ix.ids[n]
	}
	ix.prod[n] = ix.prods.code(p)
	ix.cat[n] = ix.cats.code(a.Category)
	ix.avail[n] = ix.avails.code(a.Availability)
	ix.price[n] = a.Price
	for len(ix.catLive) < ix.cats.len() {
		ix.catLive = append(ix.catLive, 0)
	}
	for len(ix.availLive) < ix.avails.len() {
		ix.availLive = append(ix.availLive, 0)
	}
}

// live and unlive maintain the per-attribute counters of live nodes.
func (ix *Index) live(n uint32) {
	ix.byID[ix.ids[n]] = n
	ix.byProduct[ix.prod[n]] = append(ix.byProduct[ix.prod[n]], n)
	ix.catLive[ix.cat[n]]++
	ix.availLive[ix.avail[n]]++
}

func (ix *Index) unlive(n uint32) {
	delete(ix.byID, ix.ids[n])
	p := ix.prod[n]
	nodes := ix.byProduct[p]
	if i := slices.Index(nodes, n); i >= 0 {
		nodes = slices.Delete(nodes, i, i+1)
	}
	if len(nodes) == 0 {
		delete(ix.byProduct, p)
	} else {
		ix.byProduct[p] = nodes
	}
	ix.catLive[ix.cat[n]]--
	ix.availLive[ix.avail[n]]--
}

func (ix *Index) tombstone(n uint32) {
	ix.unlive(n)
	ix.deleted[n] = true
	ix.nDeleted++
}

// strtab interns strings to dense codes; code 0 is the empty string.
type strtab struct {
	names []string
	codes map[string]uint32
}

func newStrtab() strtab {
	return strtab{names: []string{""}, codes: map[string]uint32{"": 0}}
}

func (t *strtab) code(s string) uint32 {
	if c, ok := t.codes[s]; ok {
		return c
	}
	c := uint32(len(t.names))
	t.names = append(t.names, s)
	t.codes[s] = c
	return c
}

func (t *strtab) lookup(s string) (uint32, bool) {
	c, ok := t.codes[s]
	return c, ok
}

func (t *strtab) name(c uint32) string { return t.names[c] }
func (t *strtab) len() int             { return len(t.names) }
