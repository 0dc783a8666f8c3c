package vecindex

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMeasure(t *testing.T) {
	r, err := Measure(context.Background(), MeasureOptions{N: 3000, Queries: 100, Data: Synthetic{Dim: 64}})
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 3000 || r.Dim != 64 || r.K != 10 || r.Queries != 100 || r.M != DefaultM || r.EfSearch != DefaultEfSearch {
		t.Fatalf("report shape: %+v", r)
	}
	if r.Build <= 0 || r.InsertsPerSec <= 0 || r.MemoryBytes < 3000*64*4 {
		t.Fatalf("build numbers: %+v", r)
	}
	if r.P50 <= 0 || r.P50 > r.P99 || r.ExactP50 <= 0 || r.Speedup <= 0 {
		t.Fatalf("latencies: %+v", r)
	}
	if r.Recall < 0.95 || r.Recall > 1 {
		t.Fatalf("recall %.3f", r.Recall)
	}
	if s := r.String(); !strings.Contains(s, "recall@10") || !strings.Contains(s, "n=3000") {
		t.Fatalf("String() = %q", s)
	}
}

func TestMeasureRejectsBadOptions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		opt  MeasureOptions
		is   error
	}{
		{"no vectors", context.Background(), MeasureOptions{}, nil},
		{"bad dim", context.Background(), MeasureOptions{N: 10, Data: Synthetic{Dim: -4}}, nil},
		{"bad config", context.Background(), MeasureOptions{N: 10, Config: Config{M: 1}}, nil},
		{"cancelled", ctx, MeasureOptions{N: 10}, context.Canceled},
	} {
		_, err := Measure(tc.ctx, tc.opt)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.is)
		}
	}
}

func TestPercentiles(t *testing.T) {
	ds := make([]int, 100)
	for i := range ds {
		ds[i] = 100 - i
	}
	in := make([]time.Duration, len(ds))
	for i, d := range ds {
		in[i] = time.Duration(d)
	}
	p50, p99, mean := percentiles(in)
	if p50 != 50 || p99 != 99 || mean != 50 {
		t.Fatalf("p50 %d p99 %d mean %d", p50, p99, mean)
	}
}
