package gen

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// samplesDir finds the shared sample catalog and ffmpeg or skips the test.
func samplesDir(t *testing.T) string {
	t.Helper()
	dir := testenv.Samples(t, filepath.Join("catalog", "products.csv"))
	testenv.NeedFFmpeg(t)
	return dir
}

func smallConfig(samples string, seed uint64) Config {
	return Config{
		CatalogDir:  filepath.Join(samples, "catalog"),
		Backgrounds: SampleBackgrounds(samples),
		Seed:        seed, Width: 192, Height: 108, FPS: 12,
		Shots: 4, MinShotS: 1.5, MaxShotS: 2.5,
	}
}

func TestGenerateDeterministic(t *testing.T) {
	samples := samplesDir(t)
	ctx := context.Background()
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	a, err := Generate(ctx, smallConfig(samples, 42), dirA, "v")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(ctx, smallConfig(samples, 42), dirB, "v")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Generate(ctx, smallConfig(samples, 43), dirC, "v")
	if err != nil {
		t.Fatal(err)
	}
	gtA, _ := os.ReadFile(a.TruthPath)
	gtB, _ := os.ReadFile(b.TruthPath)
	gtC, _ := os.ReadFile(c.TruthPath)
	if !bytes.Equal(gtA, gtB) {
		t.Error("same seed gave different ground truth")
	}
	if a.FramesSHA256 != b.FramesSHA256 {
		t.Error("same seed gave different frames")
	}
	if bytes.Equal(gtA, gtC) || a.FramesSHA256 == c.FramesSHA256 {
		t.Error("different seeds gave the same video")
	}

	v, err := groundtruth.Load(a.TruthPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Shots) != 4 || v.Shots[0].TransitionIn != groundtruth.TransitionNone {
		t.Errorf("shots = %+v", v.Shots)
	}
	// The encoded video has exactly the frames the ground truth describes.
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", a.VideoPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "192,108," + strconv.Itoa(v.Frames)
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("ffprobe: %s, want %s", got, want)
	}
	for _, it := range v.Items {
		frames := int(math.Round((it.EndS - it.StartS) * v.FPS))
		if len(it.Boxes) != frames {
			t.Errorf("item %s: %d boxes for %d frames", it.ProductID, len(it.Boxes), frames)
		}
		// Entering and leaving products are partly outside the frame;
		// most boxes must still show a sizeable product.
		big := 0
		for _, bx := range it.Boxes {
			if bx.W >= 0.05 && bx.H >= 0.1 {
				big++
			}
		}
		if big < len(it.Boxes)/2 {
			t.Errorf("item %s: only %d of %d boxes are of plausible size", it.ProductID, big, len(it.Boxes))
		}
	}
}

func TestSetCovers(t *testing.T) {
	// Over a few seeds the generator must produce every transition type,
	// empty stretches and occlusions; planning alone decides this, so it is
	// checked without rendering.
	samples := samplesDir(t)
	cfg := smallConfig(samples, 0)
	cfg.Shots = 6
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	products, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		t.Fatal(err)
	}
	bgs, err := resolveWindows(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for seed := range uint64(5) {
		cfg.Seed = seed
		for _, sp := range plan(newRand(seed), cfg, products, bgs) {
			seen[sp.transition]++
			if len(sp.items) == 0 {
				seen["empty"]++
			}
			if sp.occluder != nil {
				seen["occluded"]++
			}
			for _, it := range sp.items {
				if it.slideIn > 0 || it.slideOut > 0 {
					seen["slide"]++
				}
				if it.l0 == 0 || it.l1 == sp.frames-1 {
					seen["anchored"]++
				}
			}
		}
	}
	for _, k := range []string{"cut", "fade", "dissolve", "empty", "occluded", "slide", "anchored"} {
		if seen[k] == 0 {
			t.Errorf("no %s in 5 seeds: %v", k, seen)
		}
	}
}

func TestWhiteMask(t *testing.T) {
	samples := samplesDir(t)
	products, err := LoadCatalog(filepath.Join(samples, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, p := range products[:20] {
		s, err := loadSprite(p.Image, look{Contrast: 1, Saturation: 1, Gain: [3]float64{1, 1, 1}})
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for i := 3; i < len(s.pix); i += 4 {
			sum += float64(s.pix[i])
		}
		frac := sum / float64(s.w*s.h)
		if frac < 0.98 {
			cut++
		}
		if frac < 0.03 {
			t.Errorf("%s: mask keeps only %.3f of the image", p.ID, frac)
		}
	}
	// Packshots on white: most must lose their background.
	if cut < 15 {
		t.Errorf("only %d of 20 packshots were cut out", cut)
	}
}

func TestQuadHomography(t *testing.T) {
	q := [4][2]float64{{10, 20}, {110, 25}, {100, 130}, {15, 120}}
	H, err := quadHomography(224, 224, q)
	if err != nil {
		t.Fatal(err)
	}
	src := [4][2]float64{{0, 0}, {224, 0}, {224, 224}, {0, 224}}
	inv := H.inverse()
	for i, p := range src {
		x, y := H.apply(p[0], p[1])
		if math.Abs(x-q[i][0]) > 1e-6 || math.Abs(y-q[i][1]) > 1e-6 {
			t.Errorf("corner %d -> (%v, %v), want %v", i, x, y, q[i])
		}
		u, v := inv.apply(x, y)
		if math.Abs(u-p[0]) > 1e-6 || math.Abs(v-p[1]) > 1e-6 {
			t.Errorf("inverse of corner %d -> (%v, %v), want %v", i, u, v, p)
		}
	}
	if _, err := quadHomography(224, 224, [4][2]float64{}); err == nil {
		t.Error("degenerate quad accepted")
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []Config{
		{},
		{CatalogDir: "x", Backgrounds: []Background{{Path: "y"}}, Width: 63},
		{CatalogDir: "x", Backgrounds: []Background{{Path: "y"}}, FPS: 1000},
		{CatalogDir: "x", Backgrounds: []Background{{Path: "y"}}, MinShotS: 5, MaxShotS: 2},
		{CatalogDir: t.TempDir(), Backgrounds: []Background{{Path: "y"}}},
	} {
		if _, err := Generate(context.Background(), c, t.TempDir(), "v"); err == nil {
			t.Errorf("Generate(%+v) accepted a bad config", c)
		}
	}
}

// BenchmarkComposite measures drawing one warped product into a 640x360 frame.
func BenchmarkComposite(b *testing.B) {
	s := &sprite{w: 224, h: 224, pix: make([]float32, 4*224*224)}
	for i := range s.pix {
		s.pix[i] = 0.8
	}
	frame := make([]byte, 3*640*360)
	q := [4][2]float64{{200, 60}, {380, 70}, {370, 300}, {210, 290}}
	for b.Loop() {
		if _, _, err := composite(frame, 640, 360, s, q); err != nil {
			b.Fatal(err)
		}
	}
}
