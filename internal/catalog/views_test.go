package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestGalleryViews imports on-model photos with gallery views on: each
// gets the views its category needs, indexed beside its other vectors,
// and a picture embedded before for a product of another category gets
// the views it lacks.
func TestGalleryViews(t *testing.T) {
	samples := testenv.Samples(t)
	e := newEnv(t, fetch.Config{})
	e.in.Views = catvision.Views{}
	dir := t.TempDir()
	for _, id := range []string{"14976", "14981"} { // a dress, a top
		b, err := os.ReadFile(filepath.Join(samples, "catalog_virgio", "images", id+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, id+".jpg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, rows string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("id,name,category,image\n"+rows), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	if _, err := e.in.ImportFile(ctx, write("a.csv", "dress,Dress,Dress,14976.jpg\ntop,Top,Top,14981.jpg\n"), nil); err != nil {
		t.Fatal(err)
	}
	kinds := func(id, kind string) int {
		return e.count(t, `SELECT COUNT(*) FROM product_vectors v JOIN products p ON p.seq = v.product_seq WHERE p.id = ? AND v.kind = ?`, id, kind)
	}
	for _, tc := range []struct {
		id           string
		upper, lower int
	}{{"dress", 1, 1}, {"top", 1, 0}} {
		if u, l := kinds(tc.id, catalog.KindViewUpper), kinds(tc.id, catalog.KindViewLower); u != tc.upper || l != tc.lower {
			t.Errorf("%s: %d upper and %d lower views, want %d and %d", tc.id, u, l, tc.upper, tc.lower)
		}
	}
	// crop, whole and scene of both, plus three views.
	if n := e.in.Index.Len(); n != 9 {
		t.Errorf("index holds %d vectors, want 9", n)
	}
	// The top's picture sold as trousers needs a lower view it never had.
	if _, err := e.in.ImportFile(ctx, write("b.csv", "pants,Trousers,Trouser,14981.jpg\n"), nil); err != nil {
		t.Fatal(err)
	}
	if u, l := kinds("pants", catalog.KindViewUpper), kinds("pants", catalog.KindViewLower); l != 1 {
		t.Errorf("pants: %d upper and %d lower views, want a lower one", u, l)
	}
	// The dress's picture sold as a skirt reuses the dress's vectors, but
	// only the kinds a skirt needs: the lower view, not the upper one.
	if _, err := e.in.ImportFile(ctx, write("c.csv", "skirt,Skirt,Skirt,14976.jpg\n"), nil); err != nil {
		t.Fatal(err)
	}
	if u, l := kinds("skirt", catalog.KindViewUpper), kinds("skirt", catalog.KindViewLower); u != 0 || l != 1 {
		t.Errorf("skirt: %d upper and %d lower views, want 0 and 1", u, l)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM product_vectors s JOIN products ps ON ps.seq = s.product_seq
		JOIN product_vectors d ON d.image_sha256 = s.image_sha256 AND d.kind = s.kind AND d.model = s.model AND d.vector = s.vector
		JOIN products pd ON pd.seq = d.product_seq WHERE ps.id = 'skirt' AND pd.id = 'dress'`); n != 5 {
		t.Errorf("skirt shares %d vectors with the dress, want 5 (whole, crop, scene, appearance, lower view)", n)
	}
}
