package vecindex_test

import (
	"bytes"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/vecindex"
)

// Two vectors per product (crop and whole image) grouped by product key;
// search returns distinct products, filtered by category.
func Example() {
	ix, err := vecindex.New(vecindex.Config{Dim: 3})
	if err != nil {
		panic(err)
	}
	add := func(id, product, cat string, v ...float32) {
		if err := ix.Upsert(id, v, vecindex.Attrs{Product: product, Category: cat, Availability: "in_stock", Price: 20}); err != nil {
			panic(err)
		}
	}
	add("red-dress#crop", "red-dress", "dress", 1, 0, 0)
	add("red-dress#full", "red-dress", "dress", 0.9, 0.1, 0)
	add("pink-dress#crop", "pink-dress", "dress", 0.8, 0.3, 0)
	add("red-shoe#crop", "red-shoe", "shoes", 0.95, 0, 0.1)

	hits, err := ix.Search([]float32{1, 0, 0}, 2, &vecindex.Filter{Categories: []string{"dress"}})
	if err != nil {
		panic(err)
	}
	for _, h := range hits {
		fmt.Printf("%s via %s %.3f\n", h.Product, h.ID, h.Score)
	}

	// Snapshots carry the caller's stamp (the catalog version).
	ix.SetStamp(7)
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		panic(err)
	}
	loaded, err := vecindex.Load(&buf)
	if err != nil {
		panic(err)
	}
	fmt.Println(loaded.Len(), loaded.Stamp())
	// Output:
	// red-dress via red-dress#crop 1.000
	// pink-dress via pink-dress#crop 0.936
	// 4 7
}
