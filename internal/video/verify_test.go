package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/verify"
	"github.com/vitrine-dev/vitrine/internal/vision"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// failingLocal is a LocalFeatures that fails the test when asked to
// extract: features must come from the store.
type failingLocal struct{ t *testing.T }

func (f failingLocal) Extract(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (*vision.LocalFeatures, error) {
	f.t.Errorf("extracted features of a %v region; they should have been stored by PrepareProducts", region.Size())
	return nil, errors.New("not stored")
}

func (f failingLocal) ExtractMirrored(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (plain, mirrored *vision.LocalFeatures, err error) {
	_, err = f.Extract(ctx, img, region, maxPoints)
	return nil, nil, err
}

// TestPrepareProducts checks the catalog's features stage: the local
// features of every product's main item are extracted once and stored, so
// verification later reads them instead of extracting.
func TestPrepareProducts(t *testing.T) {
	samples := testenv.Samples(t)
	dir := t.TempDir()
	ids := []string{"14976", "14977", "14978"}
	var rows strings.Builder
	rows.WriteString("id,name,category,image\n")
	for _, id := range ids {
		img, err := os.ReadFile(filepath.Join(samples, "catalog_virgio", "images", id+".jpg"))
		if err != nil {
			t.Skipf("sample image: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, id+".jpg"), img, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&rows, "%s,Dress %s,Dress,%s.jpg\n", id, id, id)
	}
	csvPath := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(csvPath, []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	local, err := vision.OpenLocalFeatures(testenv.Models(t), vision.LocalFeatureOptions{SessionOptions: vision.SessionOptions{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	e := newEnv(t, envOptions{models: true, catalog: csvPath, tweak: func(d *Deps) { d.Local = local }})
	ctx := context.Background()

	var done, total int64
	if err := e.svc.PrepareProducts(ctx, ids, func(d, n int64) { done, total = d, n }); err != nil {
		t.Fatal(err)
	}
	if done != 3 || total != 3 {
		t.Errorf("progress %d/%d, want 3/3", done, total)
	}
	var n int
	if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM product_local_features`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d stored feature sets, want 3", n)
	}
	// A fresh catalog source (another process) reads them.
	src := &CatalogSource{Index: e.catalog.Index, Store: e.catalog.Store, Model: e.catalog.Model, Blobs: e.catalog.Blobs}
	got, err := src.ProductLocalFeatures(ctx, failingLocal{t}, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if f := got[id]; f == nil || len(f.plain.Points) < 100 || len(f.mirrored.Points) < 100 {
			t.Errorf("product %s: stored features %v, want full sets of the picture and its mirror image", id, f)
		}
	}
	// A video showing the picture mirrored is confirmed by the mirrored
	// features, not by the picture's own.
	img, _, err := imageio.DecodeFile(filepath.Join(dir, ids[0]+".jpg"), imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	flip := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			flip.Set(b.Max.X-1-(x-b.Min.X), y, img.At(x, y))
		}
	}
	q, err := local.Extract(ctx, flip, b, verifyPoints)
	if err != nil {
		t.Fatal(err)
	}
	plain, mirrored := verify.Match(q, got[ids[0]].plain, verify.Options{}), verify.Match(q, got[ids[0]].mirrored, verify.Options{})
	if mirrored.Inliers < confirmInliers || mirrored.Inliers < 3*plain.Inliers {
		t.Errorf("mirrored picture: %d inliers with the mirrored features, %d with the plain ones; want >= %d and 3x", mirrored.Inliers, plain.Inliers, confirmInliers)
	}
}
