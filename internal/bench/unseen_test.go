package bench

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestFamily(t *testing.T) {
	for _, tc := range []struct{ name, id, want string }{
		{"Ayla Shorts|Pink Pull-On Shorts", "1", "ayla"},
		{"Ayla Hoodie|Cropped Boxy Pink Hoodie", "2", "ayla"},
		{"Renata|Blue Strappy Midi Dress", "3", "renata"},
		{"  Zoe  ", "4", "zoe"},
		{"", "5", "id:5"},
		{"|", "6", "id:6"},
	} {
		if got := family(tc.name, tc.id); got != tc.want {
			t.Errorf("family(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// writeTestCatalog writes n products in families of two (f0 a, f0 b, f1 a,
// …) with one-byte images, and returns the catalog directory.
func writeTestCatalog(t *testing.T, n int, withNames bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "onmodel")
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "products.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	head := []string{"id", "image", "price"}
	if withNames {
		head = []string{"id", "name", "image", "price"}
	}
	w.Write(head)
	for i := range n {
		id := fmt.Sprint(100 + i)
		img := "images/" + id + ".jpg"
		if err := os.WriteFile(filepath.Join(dir, img), []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
		if withNames {
			w.Write([]string{id, fmt.Sprintf("F%d %c|A garment, with a comma", i/2, 'a'+i%2), img, "10"})
		} else {
			w.Write([]string{id, img, "10"})
		}
	}
	w.Flush()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readRows(t *testing.T, dir string) (head []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "products.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return all[0], all[1:]
}

func TestSplitCatalog(t *testing.T) {
	dir := writeTestCatalog(t, 200, true)
	_, all := readRows(t, dir)
	unseenBySeed := map[uint64][]string{}
	for _, seed := range []uint64{1, 1001} {
		out := t.TempDir()
		split, err := splitCatalog(dir, out, seed)
		if err != nil {
			t.Fatal(err)
		}
		if split.seen != filepath.Join(out, "seen", "onmodel") || split.unseen != filepath.Join(out, "unseen", "onmodel") {
			t.Fatalf("split into %+v, want seen/onmodel and unseen/onmodel under %s", split, out)
		}
		fams := map[string]string{} // family -> part
		var ids []string
		for _, part := range []string{split.seen, split.unseen} {
			head, rows := readRows(t, part)
			if !slices.Equal(head, []string{"id", "name", "image", "price"}) {
				t.Fatalf("%s: header %v", part, head)
			}
			for _, r := range rows {
				ids = append(ids, r[0])
				fam := family(r[1], r[0])
				if p, ok := fams[fam]; ok && p != part {
					t.Errorf("seed %d: family %s is on both sides", seed, fam)
				}
				fams[fam] = part
				b, err := os.ReadFile(filepath.Join(part, r[2]))
				if err != nil || len(b) != 1 {
					t.Errorf("seed %d: %s: image %s not beside its catalog: %v", seed, part, r[2], err)
				}
				if part == split.unseen {
					unseenBySeed[seed] = append(unseenBySeed[seed], r[0])
				}
			}
		}
		slices.Sort(ids)
		if len(ids) != len(all) || len(slices.Compact(ids)) != len(all) {
			t.Fatalf("seed %d: the parts hold %d products, the catalog %d", seed, len(ids), len(all))
		}
		// One family in eight, give or take: 100 families here.
		if n := len(unseenBySeed[seed]); n < 10 || n > 50 {
			t.Errorf("seed %d: %d of 200 products held out, want about 25", seed, n)
		}
	}
	if slices.Equal(unseenBySeed[1], unseenBySeed[1001]) {
		t.Error("seeds 1 and 1001 hold out the same products")
	}
	// The same seed holds out the same products again.
	again, err := splitCatalog(dir, t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	_, rows := readRows(t, again.unseen)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r[0])
	}
	if !slices.Equal(ids, unseenBySeed[1]) {
		t.Errorf("seed 1 split twice: %v then %v", unseenBySeed[1], ids)
	}
}

func TestSplitCatalogWhole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		names bool
	}{
		{"too small to split", 12, true},
		{"no names", 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTestCatalog(t, tc.n, tc.names)
			split, err := splitCatalog(dir, t.TempDir(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if split.seen != dir || split.unseen != "" {
				t.Errorf("split = %+v, want the whole catalog as seen", split)
			}
		})
	}
	if _, err := splitCatalog(t.TempDir(), t.TempDir(), 1); err == nil {
		t.Error("a directory without products.csv split without an error")
	}
}

// TestSplitSampleCatalog checks the split of the on-model sample catalog
// the bench and the calibration use: a share near one in eight held out,
// and enough products either side for the reels.
func TestSplitSampleCatalog(t *testing.T) {
	dir := testenv.Samples(t, filepath.Join("catalog_virgio", "products.csv"))
	_, all := readRows(t, filepath.Join(dir, "catalog_virgio"))
	for _, seed := range []uint64{1, 1001} {
		split, err := splitCatalog(filepath.Join(dir, "catalog_virgio"), t.TempDir(), seed)
		if err != nil {
			t.Fatal(err)
		}
		_, unseen := readRows(t, split.unseen)
		if share := float64(len(unseen)) / float64(len(all)); share < 0.06 || share > 0.25 {
			t.Errorf("seed %d: %d of %d products held out (%.2f)", seed, len(unseen), len(all), share)
		}
	}
}
