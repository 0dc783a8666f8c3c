package catalog_test

import (
	"fmt"
	"os"

	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/testenv"

	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// BenchmarkIngest imports a shared sample catalog into a fresh database per
// iteration and reports images per second (decode, detect, embed crop and
// whole image, store, index, snapshot).
func BenchmarkIngest(b *testing.B) {
	samples := testenv.Samples(b)
	for _, bc := range []struct {
		name, file string
	}{
		{"packshots", "catalog/products.csv"},
		{"on-model", "catalog_virgio/products.csv"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(samples, bc.file)
			var images int
			var took, cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := newEnv(b, fetch.Config{})
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				s, err := e.in.ImportFile(context.Background(), path, nil)
				if err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
				cpu += cpuTime() - cpu0
				if s.Failed != 0 {
					b.Fatalf("summary %+v", s)
				}
				images += s.Added
			}
			b.ReportMetric(float64(images)/took.Seconds(), "images/s")
			// CPU time per image does not depend on what else the machine
			// runs; on a shared box it tells more than wall time.
			b.ReportMetric(float64(cpu.Milliseconds())/float64(images), "cpu-ms/image")
		})
	}
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSelfRetrieval imports a sample catalog, then queries with every
// catalog image and reports how often the product itself ranks first
// (through the whole-image entry and through any detected item) and the
// query latency (decode, detect, embed, k-NN, product load).
func BenchmarkSelfRetrieval(b *testing.B) {
	samples := testenv.Samples(b)
	for _, bc := range []struct {
		name, dir string
	}{
		{"packshots", "catalog"},
		{"on-model", "catalog_virgio"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			e := newEnv(b, fetch.Config{})
			if _, err := e.in.ImportFile(ctx, filepath.Join(samples, bc.dir, "products.csv"), nil); err != nil {
				b.Fatal(err)
			}
			rows, err := e.db.Read.Query(`SELECT p.id, i.source FROM products p JOIN product_images i ON i.product_seq = p.seq ORDER BY p.id`)
			if err != nil {
				b.Fatal(err)
			}
			type q struct{ id, src string }
			var qs []q
			for rows.Next() {
				var x q
				rows.Scan(&x.id, &x.src)
				qs = append(qs, x)
			}
			rows.Close()
			b.ResetTimer()
			var whole, anyItem, n int
			var took time.Duration
			for i := 0; i < b.N; i++ {
				for _, x := range qs {
					data, err := os.ReadFile(filepath.Join(samples, bc.dir, x.src))
					if err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					items, err := e.search.SearchImage(ctx, data, 1, catalog.Filter{})
					took += time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					n++
					hit := false
					for j, it := range items {
						ok := len(it.Results) > 0 && it.Results[0].Product.ID == x.id
						hit = hit || ok
						if ok && j == len(items)-1 {
							whole++
						}
					}
					if hit {
						anyItem++
					}
				}
			}
			b.ReportMetric(float64(whole)/float64(n), "whole@1")
			b.ReportMetric(float64(anyItem)/float64(n), "anyitem@1")
			b.ReportMetric(float64(took.Milliseconds())/float64(n), "ms/query")
		})
	}
}

// BenchmarkImportRows imports a generated CSV of products without images
// (parse, upsert, batch bookkeeping, full-text index) and reports rows/s.
func BenchmarkImportRows(b *testing.B) {
	const n = 20_000
	dir := b.TempDir()
	path := filepath.Join(dir, "rows.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintln(f, "id,name,category,colour,price,currency,description")
	for i := 0; i < n; i++ {
		fmt.Fprintf(f, "r%06d,Product %d,Category %d,Colour %d,%d.50,EUR,a generated product used to measure row throughput\n", i, i, i%40, i%12, i%300)
	}
	f.Close()
	var took time.Duration
	rows := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := store.Open(context.Background(), storetest.SQLite().DSN(b))
		if err != nil {
			b.Fatal(err)
		}
		in := &catalog.Ingester{Store: catalog.NewStore(st)}
		b.StartTimer()
		start := time.Now()
		s, err := in.ImportFile(context.Background(), path, nil)
		took += time.Since(start)
		if err != nil || s.Added != n {
			b.Fatalf("summary %+v: %v", s, err)
		}
		rows += n
		st.Close()
	}
	b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
}
