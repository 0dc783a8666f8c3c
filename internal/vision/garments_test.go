package vision

import (
	"context"
	"image"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestPersonRegions(t *testing.T) {
	bounds := image.Rect(0, 0, 200, 400)
	for _, tc := range []struct {
		name   string
		person Box
		kinds  []RegionKind
	}{
		{"standing", Box{50, 20, 150, 380}, RegionKinds},
		{"feet below the frame", Box{50, 100, 150, 500}, []RegionKind{RegionUpper, RegionLower, RegionOutfit}},
		{"legs below the frame", Box{50, 0, 150, 1000}, []RegionKind{RegionUpper, RegionOutfit}},
		{"tiny", Box{10, 10, 14, 20}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := PersonRegions(tc.person, bounds)
			var kinds []RegionKind
			for _, r := range rs {
				kinds = append(kinds, r.Kind)
				b := r.Box
				if b.X0 < 0 || b.Y0 < 0 || b.X1 > 200 || b.Y1 > 400 || b.W() < minRegionSide || b.H() < minRegionSide {
					t.Errorf("%s box %+v outside the image or too small", r.Kind, b)
				}
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Fatalf("kinds %v, want %v", kinds, tc.kinds)
			}
			if len(rs) == 4 {
				up, low, feet := rs[0].Box, rs[1].Box, rs[2].Box
				if !(up.Y0 < low.Y0 && low.Y0 < feet.Y0 && up.Y1 < low.Y1) {
					t.Errorf("regions out of body order: %+v", rs)
				}
			}
		})
	}
}

func TestGarmentItemsOnPersonFrame(t *testing.T) {
	ms := testModels(t)
	ctx := context.Background()
	// A man in a red T-shirt and blue jeans (DATA.md).
	img := turntableFrame(t, "1")
	dets, err := ms.Detector.Detect(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	items, err := ms.Garments.Items(ctx, img, dets)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[RegionKind]Item{}
	for _, it := range items {
		t.Logf("%s %s %q %.2f %+v", it.Source, it.Kind, it.Label, it.Score, it.Box)
		if it.Source != "garment" || it.Person != 0 || len(it.Embedding) != 1280 {
			t.Errorf("unexpected item %+v", it)
		}
		if it.Score < ms.Manifest.Garments.MinScore {
			t.Errorf("item %q below the minimum score: %.3f", it.Label, it.Score)
		}
		byKind[it.Kind] = it
	}
	if up, ok := byKind[RegionUpper]; !ok || !slices.Contains([]string{"t-shirt", "sweatshirt", "top"}, up.Label) {
		t.Errorf("upper body: got %+v, want a t-shirt-like label", up)
	}
	if low, ok := byKind[RegionLower]; !ok || low.Label != "jeans" {
		t.Errorf("lower body: got %+v, want jeans", low)
	}
}

func TestGarmentItemsShoppableDetectionsAndNoise(t *testing.T) {
	ms := testModels(t)
	ctx := context.Background()
	img := loadImage(t, filepath.Join(testenv.Samples(t), "catalog", "images", "20488.jpg")) // a handbag
	b := img.Bounds()
	dets := []Detection{
		{Class: 26, Label: "handbag", Score: 0.8, Box: Box{0, 0, float32(b.Dx()), float32(b.Dy())}},
		{Class: 2, Label: "car", Score: 0.9, Box: Box{0, 0, 50, 50}}, // not shoppable
	}
	items, err := ms.Garments.Items(ctx, img, dets)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Source != "detector" || items[0].Label != "handbag" || items[0].Detection != 0 || items[0].Person != -1 || len(items[0].Embedding) != 1280 {
		t.Fatalf("items %+v, want the handbag detection only", items)
	}
	// A "person" box over a plain wall has no garment worth keeping.
	wall := image.NewRGBA(image.Rect(0, 0, 200, 400))
	for i := range wall.Pix {
		wall.Pix[i] = 200
	}
	items, err = ms.Garments.Items(ctx, wall, []Detection{{Label: "person", Score: 0.9, Box: Box{20, 20, 180, 390}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		t.Logf("wall: %s %q %.3f", it.Kind, it.Label, it.Score)
	}
	if len(items) > 1 {
		t.Errorf("plain wall: %d garment items, want at most 1", len(items))
	}
}
