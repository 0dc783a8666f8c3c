package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestEmbedSharedPhotos imports products that share a few photos, on one
// and on several embed workers (a negative count is one): each photo goes
// through the models once, every product gets the same vectors as the
// first one on its photo, and an unreadable image fails only its product.
func TestEmbedSharedPhotos(t *testing.T) {
	photos := []string{"10000", "10092", "10099"}
	dir := samplePhotos(t, photos...)
	if err := os.WriteFile(filepath.Join(dir, "bad.jpg"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("id,name,category,image\n")
	const n = 12
	for i := range n {
		fmt.Fprintf(&csv, "p%02d,Product %d,Bags,%s.jpg\n", i, i, photos[i%len(photos)])
	}
	csv.WriteString("broken,Broken,Bags,bad.jpg\n")
	path := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(path, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{-1, 1, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			e := newEnv(t, fetch.Config{})
			emb := &countingEmbedder{Embedder: e.in.Embedder}
			e.in.Embedder, e.in.EmbedWorkers = emb, workers
			s, err := e.in.ImportFile(context.Background(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Added != n || s.Failed != 1 {
				t.Errorf("summary %+v, want %d added and 1 failed", s, n)
			}
			// Whole image, crop and scene view of each distinct photo.
			if got, want := emb.images.Load(), int64(3*len(photos)); got != want {
				t.Errorf("models ran on %d images, want %d", got, want)
			}
			if got := e.count(t, `SELECT COUNT(*) FROM products WHERE status = 'ready'`); got != n {
				t.Errorf("%d products ready, want %d", got, n)
			}
			// Each product's vectors equal those of p00..p02 on its photo.
			if got, want := e.count(t, `SELECT COUNT(*) FROM product_vectors v JOIN products p ON p.seq = v.product_seq
				JOIN product_vectors f ON f.image_sha256 = v.image_sha256 AND f.kind = v.kind AND f.model = v.model AND f.vector = v.vector
				JOIN products pf ON pf.seq = f.product_seq WHERE pf.id IN ('p00', 'p01', 'p02')`), e.count(t, `SELECT COUNT(*) FROM product_vectors`); got != want || want == 0 {
				t.Errorf("%d of %d vectors equal the first product's on the same photo", got, want)
			}
		})
	}
}

// samplePhotos writes the sample catalog's images of ids, as <id>.jpg,
// into a new temporary directory.
func samplePhotos(t *testing.T, ids ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, id := range ids {
		if err := os.WriteFile(filepath.Join(dir, id+".jpg"), testenv.SampleImage(t, id), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
