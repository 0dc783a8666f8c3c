package vecindex

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/coder/hnsw"
)

// benchSizes are the index sizes of the ANN benchmarks; 1M needs
// VITRINE_BENCH_1M=1 because building it takes many minutes.
func benchSizes() []int {
	s := []int{10_000, 100_000}
	if os.Getenv("VITRINE_BENCH_1M") == "1" {
		s = append(s, 1_000_000)
	}
	return s
}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("n=%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("n=%dk", n/1000)
	}
	return fmt.Sprintf("n=%d", n)
}

const (
	benchDim     = 512
	benchQueries = 1000
	benchK       = 10
)

// BenchmarkSearch builds an index of clustered synthetic 512-d vectors once
// per size, then times Search per query at several ef. Metrics: build-s
// (single writer), p50-µs and p99-µs per query, recall@10 against Exact on
// the same queries, exact-µs (mean brute force) and speedup (exact mean /
// ANN mean) measured in the same run, so they are comparable even when the
// machine is shared.
func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(sizeName(n), func(b *testing.B) {
			// Progress lines only for the long 1M build.
			level := slog.LevelWarn
			if n >= 1_000_000 {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			gen, err := NewGenerator(Synthetic{Dim: benchDim, Seed: 1}, n)
			if err != nil {
				b.Fatal(err)
			}
			ix, build, err := buildSynthetic(context.Background(), gen, n, Config{ExactThreshold: -1, Seed: 1}, log)
			if err != nil {
				b.Fatal(err)
			}
			qs := benchQueriesFrom(gen)
			want := make([][]Hit, len(qs))
			exact := make([]time.Duration, len(qs))
			for j, q := range qs {
				t0 := time.Now()
				want[j], _ = ix.Exact(q, benchK, nil)
				exact[j] = time.Since(t0)
			}
			_, _, exactMean := percentiles(exact)
			for _, ef := range []int{32, 64, 128} {
				b.Run(fmt.Sprintf("ef=%d", ef), func(b *testing.B) {
					ix.SetEfSearch(ef)
					lat := make([]time.Duration, 0, 1<<16)
					i := 0
					for b.Loop() {
						q := qs[i%len(qs)]
						i++
						t0 := time.Now()
						if _, err := ix.Search(q, benchK, nil); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
					}
					b.StopTimer()
					p50, p99, mean := percentiles(lat)
					var hit int
					for j, q := range qs {
						got, _ := ix.Search(q, benchK, nil)
						hit += overlap(got, want[j])
					}
					b.ReportMetric(build.Seconds(), "build-s")
					b.ReportMetric(float64(ix.MemoryBytes())/(1<<20), "MiB")
					b.ReportMetric(us(p50), "p50-µs")
					b.ReportMetric(us(p99), "p99-µs")
					b.ReportMetric(float64(hit)/float64(benchK*len(qs)), "recall@10")
					b.ReportMetric(us(exactMean), "exact-µs")
					b.ReportMetric(float64(exactMean)/float64(mean), "speedup")
				})
			}
		})
	}
}

// BenchmarkCoderHNSW measures github.com/coder/hnsw on the same data and
// queries, the library this package was compared with before writing its
// own graph. Its construction uses EfSearch, so it builds with 200 (like
// our EfConstruction) and searches with the ef given in the name.
func BenchmarkCoderHNSW(b *testing.B) {
	for _, n := range benchSizes() {
		if n > 100_000 {
			continue // its map-based graph needs far too long at 1M
		}
		efs := []int{64, 200}
		if n > 10_000 {
			efs = efs[:1] // ef does not change its recall (see 10k) and a build takes minutes
		}
		for _, ef := range efs {
			b.Run(fmt.Sprintf("%s/ef=%d", sizeName(n), ef), func(b *testing.B) {
				gen, err := NewGenerator(Synthetic{Dim: benchDim, Seed: 1}, n)
				if err != nil {
					b.Fatal(err)
				}
				ref, _, err := buildSynthetic(context.Background(), gen, 0, Config{}, slog.New(slog.DiscardHandler))
				if err != nil {
					b.Fatal(err)
				}
				g := hnsw.NewGraph[int]()
				g.Rng = rand.New(rand.NewSource(1))
				g.EfSearch = 200
				var before runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				start := time.Now()
				for i := range n {
					v := make([]float32, benchDim)
					gen.Fill(v)
					g.Add(hnsw.MakeNode(i, v))
					if err := ref.Upsert(fmt.Sprint(i), v, Attrs{}); err != nil {
						b.Fatal(err)
					}
				}
				build := time.Since(start) // includes the brute-force reference inserts (cheap)
				var after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&after)
				g.EfSearch = ef
				qs := benchQueriesFrom(gen)
				lat := make([]time.Duration, 0, 1<<16)
				i := 0
				for b.Loop() {
					q := qs[i%len(qs)]
					i++
					t0 := time.Now()
					g.Search(q, benchK)
					lat = append(lat, time.Since(t0))
				}
				b.StopTimer()
				p50, p99, _ := percentiles(lat)
				var hit int
				for _, q := range qs {
					got := g.Search(q, benchK)
					want, _ := ref.Exact(q, benchK, nil)
					hs := make([]Hit, len(got))
					for j, nd := range got {
						hs[j] = Hit{ID: fmt.Sprint(nd.Key)}
					}
					hit += overlap(hs, want)
				}
				b.ReportMetric(build.Seconds(), "build-s")
				b.ReportMetric(float64(after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc))/(1<<20), "MiB")
				b.ReportMetric(us(p50), "p50-µs")
				b.ReportMetric(us(p99), "p99-µs")
				b.ReportMetric(float64(hit)/float64(benchK*len(qs)), "recall@10")
			})
		}
	}
}

// BenchmarkMeasure runs the exported Measure helper as `vitrine bench` does.
func BenchmarkMeasure(b *testing.B) {
	for b.Loop() {
		r, err := Measure(context.Background(), MeasureOptions{N: 10_000, Queries: 200})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.Recall, "recall@10")
		b.ReportMetric(us(r.P99), "p99-µs")
	}
}

func BenchmarkDot512(b *testing.B) {
	gen, err := NewGenerator(Synthetic{Dim: 512}, 2)
	if err != nil {
		b.Fatal(err)
	}
	x, y := make([]float32, 512), make([]float32, 512)
	gen.Fill(x)
	gen.Fill(y)
	var sink float32
	for name, f := range map[string]func(a, b []float32) float32{"simd": dot, "go-unrolled": dotGo} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				sink += f(x, y)
			}
		})
	}
	_ = sink
}

func BenchmarkUpsert(b *testing.B) {
	gen, err := NewGenerator(Synthetic{Dim: benchDim, Seed: 2}, 50_000)
	if err != nil {
		b.Fatal(err)
	}
	ix, err := New(Config{Dim: benchDim})
	if err != nil {
		b.Fatal(err)
	}
	v := make([]float32, benchDim)
	i := 0
	for b.Loop() {
		gen.Fill(v)
		if err := ix.Upsert(fmt.Sprint(i), v, Attrs{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchQueriesFrom(gen *Generator) [][]float32 {
	qs := make([][]float32, benchQueries)
	for i := range qs {
		qs[i] = make([]float32, benchDim)
		gen.Fill(qs[i])
	}
	return qs
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
