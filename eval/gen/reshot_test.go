package gen

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// redPhoto loads the red test photo and its garment region.
func redPhoto(t *testing.T) (*image.RGBA, image.Rectangle) {
	t.Helper()
	path := filepath.Join(testCatalog, "images", "lb-red.png")
	img, err := loadPhoto(path)
	if err != nil {
		t.Fatal(err)
	}
	return img, testPhotos["lb-red"].fg
}

// meanAbsDiff is the mean absolute difference of two RGBA images' colour
// channels, in levels.
func meanAbsDiff(a, b *image.RGBA) float64 {
	var sum float64
	for i := 0; i < len(a.Pix); i += 4 {
		for k := range 3 {
			sum += math.Abs(float64(a.Pix[i+k]) - float64(b.Pix[i+k]))
		}
	}
	return sum / float64(3*len(a.Pix)/4)
}

// TestReshotTransforms re-shoots a photo with no transformation, which
// must give the padded garment region unchanged, and with each one alone
// at full strength, which must change it (and its box only where the
// transformation moves pixels).
func TestReshotTransforms(t *testing.T) {
	photo, fg := redPhoto(t)
	base := planReshot(rand.New(rand.NewPCG(3, 4)))
	base.warp, base.tilt, base.relight, base.occlusion, base.blur, base.jpeg, base.mirror = 0, 0, 0, 0, 0, 0, false

	plain, box, occ, err := base.apply(photo, fg)
	if err != nil {
		t.Fatal(err)
	}
	// The garment padded by 4 % of its size, clipped to the photo.
	canvas := image.Rect(34-2, 20-5, 86+2, 166+5)
	if plain.Rect != image.Rect(0, 0, canvas.Dx(), canvas.Dy()) || box != fg.Sub(canvas.Min) || occ != 0 {
		t.Fatalf("strength 0: photo %v box %v occluded %v, want %v, %v, 0", plain.Rect, box, occ, canvas.Size(), fg.Sub(canvas.Min))
	}
	for y := range canvas.Dy() {
		for x := range canvas.Dx() {
			if got, want := plain.RGBAAt(x, y), photo.RGBAAt(canvas.Min.X+x, canvas.Min.Y+y); got != want {
				t.Fatalf("strength 0: pixel (%d,%d) is %v, the photo's is %v", x, y, got, want)
			}
		}
	}

	tests := []struct {
		name      string
		set       func(p *reshotPlan)
		moves     bool    // the garment box changes
		minChange float64 // mean absolute difference from the plain crop, levels
	}{
		{ReshotWarp, func(p *reshotPlan) { p.warp = 1 }, true, 2},
		{ReshotTilt, func(p *reshotPlan) { p.tilt = 1 }, true, 2},
		{ReshotRelight, func(p *reshotPlan) { p.relight = 1 }, false, 5},
		{ReshotOcclusion, func(p *reshotPlan) { p.occlusion = 1 }, false, 2},
		{ReshotBlur, func(p *reshotPlan) { p.blur = 1 }, false, 0.5},
		{ReshotJPEG, func(p *reshotPlan) { p.jpeg = 1 }, false, 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			tc.set(&p)
			img, got, occ, err := p.apply(photo, fg)
			if err != nil {
				t.Fatal(err)
			}
			if img.Rect != plain.Rect {
				t.Fatalf("size %v, want %v", img.Rect, plain.Rect)
			}
			if d := meanAbsDiff(img, plain); d < tc.minChange {
				t.Errorf("mean change %.2f levels, want at least %.2f", d, tc.minChange)
			}
			if moved := got != box; moved != tc.moves {
				t.Errorf("box %v (plain %v): moved %v, want %v", got, box, moved, tc.moves)
			}
			if a, b := got.Dx()*got.Dy(), box.Dx()*box.Dy(); a < b/2 || a > 2*b {
				t.Errorf("box %v implausible beside the plain %v", got, box)
			}
			if (occ > 0) != (tc.name == ReshotOcclusion) {
				t.Errorf("occluded %v", occ)
			}
			if p2 := p.strengths(); p2[tc.name] != 1 {
				t.Errorf("strengths %v: %s not 1", p2, tc.name)
			}
		})
	}

	// Mirroring alone flips the crop exactly (the test photo is symmetric
	// about its garment, so the table above cannot see it).
	m := base
	m.mirror = true
	img, got, _, err := m.apply(photo, fg)
	if err != nil {
		t.Fatal(err)
	}
	w := img.Rect.Dx()
	for y := range img.Rect.Dy() {
		for x := range w {
			if img.RGBAAt(x, y) != plain.RGBAAt(w-1-x, y) {
				t.Fatalf("mirrored pixel (%d,%d) is not the plain one at (%d,%d)", x, y, w-1-x, y)
			}
		}
	}
	if want := image.Rect(w-box.Max.X, box.Min.Y, w-box.Min.X, box.Max.Y); got != want {
		t.Errorf("mirrored box %v, want %v", got, want)
	}

	// The occluded share is what the blobs changed inside the box.
	o := base
	o.occlusion = 1
	img, got, occ, err = o.apply(photo, fg)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for y := got.Min.Y; y < got.Max.Y; y++ {
		for x := got.Min.X; x < got.Max.X; x++ {
			if img.RGBAAt(x, y) != plain.RGBAAt(x, y) {
				changed++
			}
		}
	}
	share := float64(changed) / float64(got.Dx()*got.Dy())
	if math.Abs(share-occ) > 0.05 || occ < 0.15 || occ > 0.4 {
		t.Errorf("occluded %.3f, pixels changed in the box %.3f (strength 1 covers about %.2f)", occ, share, reshotCover)
	}
}

func TestPlanReshotCovers(t *testing.T) {
	r := newRand(5)
	const n = 600
	var mirrored int
	bins := map[string]*[3]int{}
	for range n {
		p := planReshot(r)
		s := p.strengths()
		for k, v := range s {
			if v < 0 || v > 1 {
				t.Fatalf("strength %s = %v outside 0..1", k, v)
			}
			if bins[k] == nil {
				bins[k] = &[3]int{}
			}
			bins[k][min(2, int(v*3))]++
		}
		if p.mirror {
			mirrored++
		}
		if len(p.blobs) < 1 || len(p.blobs) > 2 {
			t.Fatalf("%d blobs", len(p.blobs))
		}
	}
	if mirrored < n*4/10 || mirrored > n*6/10 {
		t.Errorf("%d of %d mirrored, want about half", mirrored, n)
	}
	for _, k := range []string{ReshotWarp, ReshotTilt, ReshotRelight, ReshotOcclusion, ReshotBlur, ReshotJPEG} {
		for i, c := range bins[k] {
			if c < n/5 {
				t.Errorf("%s: %d of %d plans in strength third %d", k, c, n, i)
			}
		}
	}
}

// TestReshotDeterministic renders short re-shot reels of the sample
// on-model catalog.
func TestReshotDeterministic(t *testing.T) {
	a, _ := renderTwice(t, Reshot)
	v, err := groundtruth.Load(a.TruthPath)
	if err != nil {
		t.Fatal(err)
	}
	if v.Generator != ReshotVersion || v.Catalog != "catalog_virgio" || len(v.Items) == 0 {
		t.Fatalf("generator %q catalog %q, %d items", v.Generator, v.Catalog, len(v.Items))
	}
	for _, it := range v.Items {
		if len(it.Strengths) != len(ReshotTransforms) {
			t.Errorf("item %s strengths %v, want %d", it.ProductID, it.Strengths, len(ReshotTransforms))
		}
		for k, s := range it.Strengths {
			if s < 0 || s > 1 {
				t.Errorf("item %s: %s strength %v", it.ProductID, k, s)
			}
		}
	}
}

// TestReshotBoxes renders a re-shot reel of the test catalog over grey
// footage, with the photometric transformations off (they are checked
// above), and checks each truth box against the pixels of the garment's
// colour in decoded frames: warped, tilted, mirrored and occluded.
func TestReshotBoxes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := boxTestConfig(t, dir)
	cfg.Seed = 3
	// Every other photo has no blob, so its whole box shows.
	variant := reshotVariant
	n := 0
	variant.prepare = func(r *rand.Rand, shots []*lbShot) error {
		return reshootPanels(r, shots, func(p *reshotPlan) {
			p.relight, p.blur, p.jpeg = 0, 0, 0
			if n++; n%2 == 0 {
				p.occlusion = 0
			}
		})
	}
	res, err := writeReel(ctx, cfg, dir, "boxes", variant)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Truth
	frames := decodeVideo(t, res.VideoPath, v.Width, v.Height)
	var checked, exact, mirrored, warped int
	for _, it := range v.Items {
		if it.Strengths[ReshotMirror] == 1 {
			mirrored++
		}
		if it.Strengths[ReshotWarp] > 0.5 {
			warped++
		}
		// Blobs may hide the garment's edges; the bilinear edges of the
		// warp and tilt blur them by a pixel more than the lookbook's.
		c, e := checkBoxes(t, v, frames, it, 4)
		checked, exact = checked+c, exact+e
	}
	if checked < 10 || exact == 0 || mirrored == 0 || warped == 0 {
		t.Errorf("checked %d frames (%d unoccluded), %d mirrored and %d strongly warped items: too few", checked, exact, mirrored, warped)
	}
	t.Logf("%d items, %d frames checked, %d exactly", len(v.Items), checked, exact)
}
