package gen

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Product is a catalog row the generator can composite.
type Product struct {
	ID    string
	Image string // path of the product image
}

// LoadCatalog reads dir/products.csv (columns id and image, image relative
// to dir) and returns the products whose image exists, in file order.
func LoadCatalog(dir string) ([]Product, error) {
	f, err := os.Open(filepath.Join(dir, "products.csv"))
	if err != nil {
		return nil, fmt.Errorf("gen: load catalog: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("gen: load catalog: read header: %w", err)
	}
	idCol, imgCol := -1, -1
	for i, h := range head {
		switch strings.TrimSpace(strings.ToLower(h)) {
		case "id":
			idCol = i
		case "image":
			imgCol = i
		}
	}
	if idCol < 0 || imgCol < 0 {
		return nil, errors.New("gen: load catalog: products.csv needs columns id and image")
	}
	var out []Product
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("gen: load catalog: line %d: %w", line, err)
		}
		if len(rec) <= max(idCol, imgCol) || rec[idCol] == "" || rec[imgCol] == "" {
			continue
		}
		img := rec[imgCol]
		if !filepath.IsAbs(img) {
			img = filepath.Join(dir, img)
		}
		if _, err := os.Stat(img); err != nil {
			continue
		}
		out = append(out, Product{ID: rec[idCol], Image: img})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("gen: load catalog: no product with an existing image in %s", dir)
	}
	return out, nil
}
