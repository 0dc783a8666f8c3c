package vecindex

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Synthetic describes clustered synthetic unit vectors: each vector is a
// cluster centre plus a displacement in a low-dimensional subspace of that
// cluster plus isotropic noise, which resembles image embeddings (many
// tight groups of similar items, low intrinsic dimension) better than
// uniform random vectors.
type Synthetic struct {
	Dim      int
	Clusters int     // default max(10, n/500)
	Latent   int     // subspace dimension per cluster; default 16
	Spread   float64 // norm of the in-subspace displacement; default 0.6
	Noise    float64 // norm of the isotropic noise; default 0.5
	Seed     uint64
}

func (s Synthetic) withDefaults(n int) Synthetic {
	if s.Clusters <= 0 {
		s.Clusters = max(10, n/500)
	}
	if s.Latent <= 0 {
		s.Latent = 16
	}
	if s.Spread == 0 {
		s.Spread = 0.6
	}
	if s.Noise == 0 {
		s.Noise = 0.5
	}
	return s
}

// Generator produces vectors from a Synthetic distribution.
type Generator struct {
	s     Synthetic
	rng   *rand.Rand
	cent  []float32 // Clusters x Dim
	basis []float32 // Clusters x Latent x Dim
}

// NewGenerator prepares cluster centres and subspaces for a data set of
// about n vectors.
func NewGenerator(s Synthetic, n int) (*Generator, error) {
	if s.Dim <= 0 || s.Dim > 1<<16 {
		return nil, fmt.Errorf("vecindex: synthetic: dim %d out of range", s.Dim)
	}
	s = s.withDefaults(n)
	g := &Generator{s: s, rng: rand.New(rand.NewPCG(s.Seed, 0x5eed))}
	g.cent = make([]float32, s.Clusters*s.Dim)
	for c := range s.Clusters {
		g.gauss(g.cent[c*s.Dim:(c+1)*s.Dim], 1)
	}
	g.basis = make([]float32, s.Clusters*s.Latent*s.Dim)
	for i := range s.Clusters * s.Latent {
		g.gauss(g.basis[i*s.Dim:(i+1)*s.Dim], 1)
	}
	return g, nil
}

// gauss fills v with a random direction of the given norm.
func (g *Generator) gauss(v []float32, norm float64) {
	var ss float64
	for i := range v {
		x := g.rng.NormFloat64()
		v[i] = float32(x)
		ss += x * x
	}
	f := float32(norm / math.Sqrt(ss))
	for i := range v {
		v[i] *= f
	}
}

// Fill writes one unit vector into v (len Dim).
func (g *Generator) Fill(v []float32) {
	d, L := g.s.Dim, g.s.Latent
	c := g.rng.IntN(g.s.Clusters)
	copy(v, g.cent[c*d:(c+1)*d])
	// Displacement of norm Spread, spread over the cluster's subspace.
	w := float32(g.s.Spread / math.Sqrt(float64(L)))
	for j := range L {
		z := float32(g.rng.NormFloat64()) * w
		b := g.basis[(c*L+j)*d : (c*L+j+1)*d]
		for i := range v {
			v[i] += z * b[i]
		}
	}
	sigma := float32(g.s.Noise / math.Sqrt(float64(d)))
	var ss float64
	for i := range v {
		v[i] += float32(g.rng.NormFloat64()) * sigma
		ss += float64(v[i]) * float64(v[i])
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
}

// MeasureOptions configures Measure.
type MeasureOptions struct {
	N       int // indexed vectors
	Queries int // default 1000
	K       int // default 10
	// Config is the index configuration; Dim is taken from Data.Dim.
	Config Config
	// Data is the synthetic distribution; Dim defaults to 512.
	Data Synthetic
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Report holds the numbers of one Measure run.
type Report struct {
	N, Dim, Queries, K int
	M, EfConstruction  int
	EfSearch           int
	Clusters           int
	Build              time.Duration // inserting N vectors, single writer
	InsertsPerSec      float64
	MemoryBytes        int64 // vectors + graph, approximate
	P50, P99, Mean     time.Duration
	ExactP50, ExactP99 time.Duration
	ExactMean          time.Duration
	Recall             float64 // mean recall@K against Exact
	Speedup            float64 // ExactMean / Mean
}

// String formats r on one line for logs and bench reports.
func (r Report) String() string {
	return fmt.Sprintf("n=%d dim=%d M=%d efC=%d ef=%d: build %s (%.0f/s) mem %.0f MiB; query p50 %s p99 %s; recall@%d %.4f; exact p50 %s (%.0fx slower)",
		r.N, r.Dim, r.M, r.EfConstruction, r.EfSearch, r.Build.Round(time.Millisecond), r.InsertsPerSec,
		float64(r.MemoryBytes)/(1<<20), r.P50, r.P99, r.K, r.Recall, r.ExactP50, r.Speedup)
}

// Measure builds an index of opt.N synthetic vectors, then runs
// opt.Queries fresh queries through Search and Exact and reports build
// time, latency percentiles and recall. It is what `vitrine bench` and the
// package benchmarks run.
func Measure(ctx context.Context, opt MeasureOptions) (Report, error) {
	if opt.N <= 0 {
		return Report{}, fmt.Errorf("vecindex: measure: n must be positive, got %d", opt.N)
	}
	if opt.Queries <= 0 {
		opt.Queries = 1000
	}
	if opt.K <= 0 {
		opt.K = 10
	}
	if opt.Data.Dim == 0 {
		opt.Data.Dim = 512
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gen, err := NewGenerator(opt.Data, opt.N)
	if err != nil {
		return Report{}, fmt.Errorf("vecindex: measure: %w", err)
	}
	cfg := opt.Config
	cfg.ExactThreshold = -1 // measure the graph, never the fallback
	ix, build, err := buildSynthetic(ctx, gen, opt.N, cfg, log)
	if err != nil {
		return Report{}, fmt.Errorf("vecindex: measure: %w", err)
	}
	r := Report{
		N: opt.N, Dim: opt.Data.Dim, Queries: opt.Queries, K: opt.K,
		M: ix.cfg.M, EfConstruction: ix.cfg.EfConstruction, EfSearch: ix.efSearch,
		Clusters:      gen.s.Clusters,
		Build:         build,
		InsertsPerSec: float64(opt.N) / build.Seconds(),
		MemoryBytes:   ix.MemoryBytes(),
	}
	qs := make([][]float32, opt.Queries)
	for i := range qs {
		qs[i] = make([]float32, opt.Data.Dim)
		gen.Fill(qs[i])
	}
	ann := make([]time.Duration, len(qs))
	exact := make([]time.Duration, len(qs))
	var hitSum int
	for i, q := range qs {
		if err := ctx.Err(); err != nil {
			return Report{}, fmt.Errorf("vecindex: measure: query: %w", err)
		}
		t0 := time.Now()
		got, err := ix.Search(q, opt.K, nil)
		ann[i] = time.Since(t0)
		if err != nil {
			return Report{}, fmt.Errorf("vecindex: measure: search: %w", err)
		}
		t0 = time.Now()
		want, err := ix.Exact(q, opt.K, nil)
		exact[i] = time.Since(t0)
		if err != nil {
			return Report{}, fmt.Errorf("vecindex: measure: exact: %w", err)
		}
		hitSum += overlap(got, want)
	}
	r.Recall = float64(hitSum) / float64(opt.K*len(qs))
	r.P50, r.P99, r.Mean = percentiles(ann)
	r.ExactP50, r.ExactP99, r.ExactMean = percentiles(exact)
	if r.Mean > 0 {
		r.Speedup = float64(r.ExactMean) / float64(r.Mean)
	}
	log.Info("vecindex: measure", "report", r.String())
	return r, nil
}

// buildSynthetic inserts n vectors from gen with ids "0".."n-1".
func buildSynthetic(ctx context.Context, gen *Generator, n int, cfg Config, log *slog.Logger) (*Index, time.Duration, error) {
	cfg.Dim = gen.s.Dim
	cfg.Capacity = n
	ix, err := New(cfg)
	if err != nil {
		return nil, 0, err
	}
	v := make([]float32, cfg.Dim)
	start := time.Now()
	for i := range n {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, fmt.Errorf("build: %w", err)
			}
			if i > 0 && i%(1<<17) == 0 {
				log.Info("vecindex: building synthetic index", "done", i, "of", n, "elapsed", time.Since(start).Round(time.Second))
			}
		}
		gen.Fill(v)
		if err := ix.Upsert(strconv.Itoa(i), v, Attrs{}); err != nil {
			return nil, 0, fmt.Errorf("build: %w", err)
		}
	}
	return ix, time.Since(start), nil
}

// overlap counts the IDs of want also present in got.
func overlap(got, want []Hit) int {
	c := 0
	for _, w := range want {
		if slices.ContainsFunc(got, func(h Hit) bool { return h.ID == w.ID }) {
			c++
		}
	}
	return c
}

// percentiles returns p50, p99 and the mean of ds (which it sorts).
func percentiles(ds []time.Duration) (p50, p99, mean time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	at := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return at(0.50), at(0.99), sum / time.Duration(len(ds))
}

// MemoryBytes approximates the heap held by vectors, links and attributes.
func (ix *Index) MemoryBytes() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	b := int64(len(ix.vecs))*4 + int64(len(ix.links0))*4
	for _, u := range ix.upper {
		b += int64(len(u))*4 + 24
	}
	b += int64(len(ix.ids)) * (16 + 4*3 + 8 + 1 + 1) // ids header, codes, price, level, deleted
	for _, id := range ix.ids {
		b += int64(len(id))
	}
	return b
}
