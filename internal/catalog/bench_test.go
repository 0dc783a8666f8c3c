package catalog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/fetch"
)

// BenchmarkIngest imports a shared sample catalog into a fresh database per
// iteration and reports images per second (decode, detect, embed crop and
// whole image, store, index, snapshot).
func BenchmarkIngest(b *testing.B) {
	samples := sharedDir(b, "VITRINE_SAMPLES", "data")
	for _, bc := range []struct {
		name, file string
	}{
		{"packshots", "catalog/products.csv"},
		{"on-model", "catalog_virgio/products.csv"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(samples, bc.file)
			var images int
			var took time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := newEnv(b, fetch.Config{})
				b.StartTimer()
				start := time.Now()
				s, err := e.in.ImportFile(context.Background(), path, nil)
				if err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
				if s.Failed != 0 {
					b.Fatalf("summary %+v", s)
				}
				images += s.Added
			}
			b.ReportMetric(float64(images)/took.Seconds(), "images/s")
		})
	}
}
