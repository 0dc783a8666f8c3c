package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// TestDecodedHook checks what the embed stage hands to Ingester.Decoded:
// each product's first image, once per image content, at full resolution,
// with the main item's box as stored; and that a failing hook fails the
// import with the product named.
func TestDecodedHook(t *testing.T) {
	dir := samplePhotos(t, "10000", "10092", "10099")
	// a has two images; c shares a's first photo, embedded once, so
	// handed over once.
	csv := "id,name,category,image\n" +
		"a,A,Bags,10000.jpg|10092.jpg\n" +
		"b,B,Bags,10099.jpg\n" +
		"c,C,Bags,10000.jpg\n"
	path := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("handed over", func(t *testing.T) {
		e := newEnv(t, fetch.Config{})
		var mu sync.Mutex
		got := map[string]catalog.DecodedImage{}
		e.in.Decoded = func(ctx context.Context, d catalog.DecodedImage) error {
			mu.Lock()
			defer mu.Unlock()
			if _, dup := got[d.SHA256]; dup {
				t.Errorf("image %s of %s handed over twice", d.SHA256, d.ProductID)
			}
			got[d.SHA256] = d
			return nil
		}
		if _, err := e.in.ImportFile(ctx, path, nil); err != nil {
			t.Fatal(err)
		}
		// a's and b's first images: a's second is not a first image, and
		// c's photo is a's, whose vectors it reuses.
		if len(got) != 2 {
			t.Fatalf("%d images handed over, want 2", len(got))
		}
		rows, err := e.db.Read.QueryContext(ctx, `SELECT p.id, i.sha256, i.item_box, i.source FROM products p
			JOIN product_images i ON i.product_seq = p.seq WHERE i.position = 0 AND p.id IN ('a', 'b')`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, sha, box, source string
			if err := rows.Scan(&id, &sha, &box, &source); err != nil {
				t.Fatal(err)
			}
			d, ok := got[sha]
			if !ok {
				t.Errorf("product %s: its first image was not handed over", id)
				continue
			}
			if d.ProductID != id {
				t.Errorf("image of %s handed over as %s's", id, d.ProductID)
			}
			if s := fmt.Sprintf("%d,%d,%d,%d", d.Item.Box.Min.X, d.Item.Box.Min.Y, d.Item.Box.Max.X, d.Item.Box.Max.Y); s != box {
				t.Errorf("product %s: box %s handed over, %s stored", id, s, box)
			}
			file, _, err := imageio.DecodeFile(filepath.Join(dir, filepath.Base(source)), imageio.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Image.Bounds() != file.Bounds() || !samePixels(d.Image, file) {
				t.Errorf("product %s: image handed over is not the file as decoded (%v, file %v)", id, d.Image.Bounds(), file.Bounds())
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("failing", func(t *testing.T) {
		e := newEnv(t, fetch.Config{})
		boom := errors.New("extractor gone")
		e.in.Decoded = func(ctx context.Context, d catalog.DecodedImage) error { return boom }
		_, err := e.in.ImportFile(ctx, path, nil)
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "decoded image of") {
			t.Fatalf("import with a failing hook: %v, want the hook's error with the product named", err)
		}
	})
}

// samePixels compares two images at a sample of points.
func samePixels(a, b image.Image) bool {
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 5 {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				return false
			}
		}
	}
	return true
}
