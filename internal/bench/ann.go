package bench

import (
	"context"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/vecindex"
)

// ANNOptions sizes the ann suite.
type ANNOptions struct {
	N       int // indexed vectors, default 20000
	Dim     int // default 1280 (the MobileNetV2 embedding)
	Queries int // default 500
}

func runANN(ctx context.Context, env *Env, s *Section) error {
	o := env.ANN
	if o.N <= 0 {
		o.N = 20000
	}
	if o.Dim <= 0 {
		o.Dim = 1280
	}
	if o.Queries <= 0 {
		o.Queries = 500
	}
	rep, err := vecindex.Measure(ctx, vecindex.MeasureOptions{
		N: o.N, Queries: o.Queries, K: 10,
		Config: vecindex.Config{Dim: o.Dim},
		Data:   vecindex.Synthetic{Dim: o.Dim, Seed: 1},
		Log:    env.log(),
	})
	if err != nil {
		return fmt.Errorf("measure index: %w", err)
	}
	s.Method = fmt.Sprintf("%d clustered synthetic unit vectors of %d dimensions (vecindex.Measure, seed 1) are inserted into the HNSW index; "+
		"%d held-out queries ask for the top %d, compared with an exact brute-force scan over the same vectors.", rep.N, rep.Dim, rep.Queries, rep.K)
	s.Add("vectors", float64(rep.N), "")
	s.Add("dimensions", float64(rep.Dim), "")
	s.Add("M", float64(rep.M), "")
	s.Add("efConstruction", float64(rep.EfConstruction), "")
	s.Add("efSearch", float64(rep.EfSearch), "")
	s.Headline("recall@10", rep.Recall, "")
	s.Headline("query latency p50", ms(rep.P50.Seconds()), "ms")
	s.Add("query latency p99", ms(rep.P99.Seconds()), "ms")
	s.Add("brute force p50", ms(rep.ExactP50.Seconds()), "ms")
	s.Add("brute force p99", ms(rep.ExactP99.Seconds()), "ms")
	s.Headline("speed-up over brute force", rep.Speedup, "x")
	s.Add("build", rep.Build.Seconds(), "s")
	s.Add("inserts", rep.InsertsPerSec, "vectors/s")
	s.Add("memory", float64(rep.MemoryBytes)/(1<<20), "MiB")
	return nil
}

func ms(seconds float64) float64 { return seconds * 1000 }
