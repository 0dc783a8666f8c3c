package shoptest

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
)

// WriteCatalog writes dir/products.csv with the sample packshots of the
// given categories (all when categories is nil) plus the shop fields the
// samples lack (price in INR, stock, rating, link), and copies their images
// to dir/images, so the file imports with `vitrine catalog import` and feeds
// eval/gen. Products in outOfStock are sold out. It returns the CSV path.
func WriteCatalog(samplesDir, dir string, categories, outOfStock map[string]bool) (string, error) {
	f, err := os.Open(filepath.Join(samplesDir, "catalog", "products.csv"))
	if err != nil {
		return "", fmt.Errorf("shoptest: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		return "", fmt.Errorf("shoptest: read sample catalog: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o750); err != nil {
		return "", fmt.Errorf("shoptest: %w", err)
	}
	path := filepath.Join(dir, "products.csv")
	out, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("shoptest: %w", err)
	}
	defer out.Close()
	w := csv.NewWriter(out)
	w.Write([]string{"id", "name", "category", "colour", "image", "price", "currency", "availability", "rating", "rating_count", "url"})
	for i, r := range recs[1:] {
		if categories != nil && !categories[r[col["category"]]] {
			continue
		}
		id, img := r[col["id"]], r[col["image"]]
		b, err := os.ReadFile(filepath.Join(samplesDir, "catalog", img))
		if err != nil {
			return "", fmt.Errorf("shoptest: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, img), b, 0o640); err != nil {
			return "", fmt.Errorf("shoptest: %w", err)
		}
		avail := "in_stock"
		if outOfStock[id] {
			avail = "out_of_stock"
		}
		w.Write([]string{id, r[col["name"]], r[col["category"]], r[col["colour"]], img, fmt.Sprintf("%d.00", 399+(i*37)%2000), "INR", avail,
			fmt.Sprintf("%.1f", 3+float64(i%21)/10), fmt.Sprint(5 + i%300), "https://shop.example/p/" + id})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return "", fmt.Errorf("shoptest: write catalog: %w", err)
	}
	return path, out.Close()
}
