package catalog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// writeMerchantFeed writes a Merchant Center RSS feed of n items, groups
// of three variants (sizes) each, as a shop would export it.
func writeMerchantFeed(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>shop</title>`+"\n")
	for i := 0; i < n; i++ {
		g := i / 3
		fmt.Fprintf(bw, `<item><g:id>P%07d-%d</g:id><g:item_group_id>P%07d</g:item_group_id><g:title>Linen wrap dress %d</g:title>`+
			`<g:description>A relaxed wrap dress in washed linen with a tie waist and short sleeves, item %d.</g:description>`+
			`<g:link>https://shop.example/products/p%d</g:link><g:image_link>https://cdn.shop.example/p%d-front.jpg</g:image_link>`+
			`<g:additional_image_link>https://cdn.shop.example/p%d-back.jpg</g:additional_image_link><g:price>%d.00 EUR</g:price>`+
			`<g:availability>in stock</g:availability><g:brand>Atelier Nord</g:brand><g:product_type>Women &gt; Dresses</g:product_type>`+
			`<g:google_product_category>Apparel &amp; Accessories &gt; Clothing &gt; Dresses</g:google_product_category>`+
			`<g:color>Sand</g:color><g:size>%s</g:size></item>`+"\n", g, i%3, g, g, i, g, g, g, 20+g%200, []string{"S", "M", "L"}[i%3])
	}
	fmt.Fprint(bw, "</channel></rss>\n")
	return bw.Flush()
}

// parseGeneratedFeed parses a feed of n items streamed from the
// generator, sampling the heap every 500 products: the live heap when
// collect is set (a collection first), else the heap as it is, garbage not
// yet collected included. It returns the products, the feed's size and the
// peak heap above the start.
func parseGeneratedFeed(tb testing.TB, n int, collect bool) (rows int, feedBytes int64, peak uint64) {
	pr, pw := io.Pipe()
	cw := &countWriter{w: pw}
	go func() { pw.CloseWithError(writeMerchantFeed(cw, n)) }()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	p, err := NewParser(pr, MerchantXML)
	if err != nil {
		tb.Fatal(err)
	}
	for {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if r.Err != nil {
			tb.Fatalf("row %d: %v", r.Line, r.Err)
		}
		rows++
		if rows%500 == 0 {
			if collect {
				runtime.GC()
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc-min(ms.HeapAlloc, base))
		}
	}
	return rows, cw.n, peak
}

// TestMerchantXMLBoundedMemory parses a 10k-item feed streamed from a
// generator: the parser holds one item (one group) at a time, so the heap
// stays far below the feed's size. BenchmarkParseMerchantXML100k measures
// the 100k-item feed.
func TestMerchantXMLBoundedMemory(t *testing.T) {
	const n = 10_000
	start := time.Now()
	rows, size, peak := parseGeneratedFeed(t, n, true)
	if want := (n + 2) / 3; rows != want {
		t.Fatalf("%d products from %d items, want %d", rows, n, want)
	}
	t.Logf("%d items (%.1f MB of XML) -> %d products in %v; peak live heap %.1f MB above the start",
		n, float64(size)/(1<<20), rows, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20))
	if limit := uint64(size / 4); peak > limit {
		t.Errorf("peak heap %d bytes for %d bytes of feed: not streaming", peak, size)
	}
}

// BenchmarkParseMerchantXML100k parses a 100k-item Merchant Center feed
// (groups of three sizes) and reports the peak heap above the start and
// the items parsed per second.
func BenchmarkParseMerchantXML100k(b *testing.B) {
	const n = 100_000
	var peak uint64
	start := time.Now()
	for range b.N {
		_, _, p := parseGeneratedFeed(b, n, false)
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "items/s")
}
