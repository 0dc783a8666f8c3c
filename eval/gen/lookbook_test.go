package gen

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// The test catalog testdata/lookbook holds three 120x180 photos on a plain
// grey (190) backdrop, each with one saturated rectangle as its foreground.
var testPhotos = map[string]struct {
	fg       image.Rectangle
	isColour func(r, g, b int) bool
}{
	"lb-red":   {image.Rect(34, 20, 86, 166), func(r, g, b int) bool { return r-max(g, b) > 80 }},
	"lb-green": {image.Rect(24, 38, 96, 150), func(r, g, b int) bool { return g-max(r, b) > 45 }},
	"lb-blue":  {image.Rect(42, 12, 78, 174), func(r, g, b int) bool { return b-max(r, g) > 60 }},
}

const testCatalog = "testdata/lookbook"

// virgioSamples finds the on-model sample catalog and ffmpeg or skips.
func virgioSamples(t *testing.T) string {
	t.Helper()
	dir := testenv.Samples(t, filepath.Join("catalog_virgio", "products.csv"))
	testenv.NeedFFmpeg(t)
	return dir
}

func shortLookbook(samples string, seed uint64) LookbookConfig {
	return LookbookConfig{
		CatalogDir:  filepath.Join(samples, "catalog_virgio"),
		Backgrounds: SampleBackgrounds(samples),
		Seed:        seed, Width: 270, Height: 480, FPS: 12,
		MinDurationS: 6, MaxDurationS: 8,
	}
}

// decodeVideo returns every frame of a video as raw RGB.
func decodeVideo(t *testing.T, path string, w, h int) [][]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	size := 3 * w * h
	if len(out)%size != 0 {
		t.Fatalf("decode %s: %d bytes is not a whole number of %dx%d frames", path, len(out), w, h)
	}
	frames := make([][]byte, len(out)/size)
	for i := range frames {
		frames[i] = out[i*size : (i+1)*size]
	}
	return frames
}

// renderTwice renders the short reel of seed 7 twice and that of seed 8
// once with render, checks that only the seed changes the reel and returns
// the two of seed 7.
func renderTwice(t *testing.T, render func(ctx context.Context, cfg LookbookConfig, outDir, name string) (*Result, error)) (a, b *Result) {
	t.Helper()
	samples := virgioSamples(t)
	ctx := context.Background()
	var rs [3]*Result
	var truths [3][]byte
	for i, seed := range []uint64{7, 7, 8} {
		r, err := render(ctx, shortLookbook(samples, seed), t.TempDir(), "v")
		if err != nil {
			t.Fatal(err)
		}
		rs[i] = r
		if truths[i], err = os.ReadFile(r.TruthPath); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(truths[0], truths[1]) {
		t.Error("same seed gave different ground truth")
	}
	if rs[0].FramesSHA256 != rs[1].FramesSHA256 {
		t.Error("same seed gave different frames")
	}
	if bytes.Equal(truths[0], truths[2]) || rs[0].FramesSHA256 == rs[2].FramesSHA256 {
		t.Error("different seeds gave the same reel")
	}
	return rs[0], rs[1]
}

func TestLookbookDeterministic(t *testing.T) {
	a, b := renderTwice(t, Lookbook)
	v, err := groundtruth.Load(a.TruthPath) // validates
	if err != nil {
		t.Fatal(err)
	}
	if v.Generator != LookbookVersion || v.Catalog != "catalog_virgio" || v.Seed != 7 {
		t.Errorf("generator %q catalog %q seed %d", v.Generator, v.Catalog, v.Seed)
	}
	if d := v.DurationS(); d < 6-1e-9 || d > 8+1e-9 {
		t.Errorf("duration %.2f s outside 6..8 s", d)
	}
	fa := decodeVideo(t, a.VideoPath, 270, 480)
	fb := decodeVideo(t, b.VideoPath, 270, 480)
	if len(fa) != v.Frames || len(fb) != v.Frames {
		t.Fatalf("decoded %d and %d frames, ground truth says %d", len(fa), len(fb), v.Frames)
	}
	for _, i := range []int{0, len(fa) / 3, 2 * len(fa) / 3, len(fa) - 1} {
		if !bytes.Equal(fa[i], fb[i]) {
			t.Errorf("frame %d differs between two renders of the same seed", i)
		}
	}
	for _, it := range v.Items {
		frames := int(math.Round((it.EndS - it.StartS) * v.FPS))
		if len(it.Boxes) != frames {
			t.Errorf("item %s: %d boxes for %d frames", it.ProductID, len(it.Boxes), frames)
		}
		if frames < 6 {
			t.Errorf("item %s on screen for %d frames, under half a second", it.ProductID, frames)
		}
	}
}

// boxTestConfig is a reel of the test catalog over synthetic grey
// footage it writes to dir.
func boxTestConfig(t *testing.T, dir string) LookbookConfig {
	t.Helper()
	testenv.NeedFFmpeg(t)
	footage := filepath.Join(dir, "life.mp4")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "life=s=160x120:mold=10:rate=12:ratio=0.1:death_color=#404040:life_color=#a0a0a0",
		"-t", "13", "-pix_fmt", "yuv420p", footage)
	return LookbookConfig{
		CatalogDir: testCatalog, Backgrounds: []Background{{Path: footage}},
		Width: 270, Height: 480, FPS: 12, MinDurationS: 10, MaxDurationS: 12, CRF: 18,
	}
}

// TestLookbookBoxes renders a reel of the test catalog over synthetic grey
// footage and checks each truth box against the pixels of the product's
// colour in decoded frames.
func TestLookbookBoxes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := boxTestConfig(t, dir)
	// The first seed whose plan has all four photo layouts.
	plans := cfg
	if err := plans.defaults(); err != nil {
		t.Fatal(err)
	}
	products, err := LoadCatalog(testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	bgs, err := resolveBackgrounds(ctx, plans.FFprobe, plans.Backgrounds, plans.MinShotS)
	if err != nil {
		t.Fatal(err)
	}
	var shots []*lbShot
	for seed := uint64(1); seed < 500 && cfg.Seed == 0; seed++ {
		shots = planLookbook(newRand(seed), plans, products, bgs, lookbookMix)
		has := map[string]bool{}
		for _, sp := range shots {
			has[sp.layout] = true
		}
		if has[layoutFull] && has[layoutSplit] && has[layoutPiP] && has[layoutOverlay] {
			cfg.Seed = seed
		}
	}
	if cfg.Seed == 0 {
		t.Fatal("no seed under 500 plans every photo layout")
	}
	set, err := LookbookSet(ctx, cfg, dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	v := set[0].Truth
	w, h := v.Width, v.Height
	frames := decodeVideo(t, set[0].VideoPath, w, h)
	checked := map[string]int{}
	for _, it := range v.Items {
		n, _ := checkBoxes(t, v, frames, it, 3)
		if n > 0 {
			checked[shots[it.Shot].layout] += n
		}
	}
	for _, l := range []string{layoutFull, layoutSplit, layoutPiP, layoutOverlay} {
		if checked[l] == 0 {
			t.Errorf("no box checked in a %s shot (checked %v)", l, checked)
		}
	}
	t.Logf("seed %d: %d items, frames checked per layout %v", cfg.Seed, len(v.Items), checked)

	// A second run keeps the files written for the same seed.
	st, _ := os.Stat(set[0].VideoPath)
	again, err := LookbookSet(ctx, cfg, dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(again[0].VideoPath)
	if again[0].FramesSHA256 != "" || !st2.ModTime().Equal(st.ModTime()) || len(again[0].Truth.Items) != len(v.Items) {
		t.Error("LookbookSet rendered a reel it had already written")
	}
	if filepath.Base(set[0].VideoPath) != "lookbook-"+strconv.FormatUint(cfg.Seed, 10)+".mp4" {
		t.Errorf("set video named %s", set[0].VideoPath)
	}
}

// checkBoxes checks an item's truth box in three frames away from
// transitions against the pixels of its test photo's colour: they must lie
// in the box (within tol pixels) and, unless the item is partly hidden, fill
// it. It returns the frames checked and those checked in full.
func checkBoxes(t *testing.T, v *groundtruth.Video, frames [][]byte, it groundtruth.Item, tol int) (checked, full int) {
	t.Helper()
	tp, ok := testPhotos[it.ProductID]
	if !ok {
		t.Fatalf("unknown product %s", it.ProductID)
	}
	w, h := v.Width, v.Height
	inTransition := func(f int) bool {
		for _, s := range v.Shots {
			if len(s.TransitionFrames) == 2 && f >= s.TransitionFrames[0]-1 && f <= s.TransitionFrames[1]+1 {
				return true
			}
		}
		return false
	}
	near := func(a, b int) bool { return a-b <= tol && b-a <= tol }
	for _, k := range []int{len(it.Boxes) / 4, len(it.Boxes) / 2, 3 * len(it.Boxes) / 4} {
		bx := it.Boxes[k]
		f := int(math.Round(bx.T * v.FPS))
		if inTransition(f) {
			continue
		}
		got := image.Rectangle{Min: image.Pt(w, h)}
		px := frames[f]
		for y := range h {
			for x := range w {
				o := 3 * (y*w + x)
				if tp.isColour(int(px[o]), int(px[o+1]), int(px[o+2])) {
					got = got.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		want := image.Rect(int(math.Round(bx.X*float64(w))), int(math.Round(bx.Y*float64(h))),
			int(math.Round((bx.X+bx.W)*float64(w))), int(math.Round((bx.Y+bx.H)*float64(h))))
		checked++
		switch {
		case got.Empty():
			t.Errorf("item %s shot %d frame %d: no pixel of its colour, truth box %v", it.ProductID, it.Shot, f, want)
		case !got.In(want.Inset(-tol)):
			t.Errorf("item %s shot %d frame %d: pixels %v outside truth box %v", it.ProductID, it.Shot, f, got, want)
		case it.Occluded > 0:
			// Partly hidden: its pixels need not reach the box's edges.
		case !near(got.Min.X, want.Min.X) || !near(got.Min.Y, want.Min.Y) || !near(got.Max.X, want.Max.X) || !near(got.Max.Y, want.Max.Y):
			t.Errorf("item %s shot %d frame %d: pixels %v, truth box %v", it.ProductID, it.Shot, f, got, want)
		default:
			full++
		}
	}
	return checked, full
}

// TestLookbookPlan checks the planned reels of the default configuration
// against the ranges eval/README.md states, over many seeds.
func TestLookbookPlan(t *testing.T) {
	samples := testenv.Samples(t, filepath.Join("catalog_virgio", "products.csv"))
	cfg := LookbookConfig{CatalogDir: filepath.Join(samples, "catalog_virgio"), Backgrounds: SampleBackgrounds(samples)}
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	products, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		t.Fatal(err)
	}
	bgs, err := resolveBackgrounds(context.Background(), cfg.FFprobe, cfg.Backgrounds, cfg.MinShotS)
	if err != nil {
		t.Fatal(err)
	}
	fps := float64(cfg.FPS)
	layouts, transitions := map[string]int{}, map[string]int{}
	nShots, repeats := 0, 0
	const seeds = 30
	for seed := range uint64(seeds) {
		shots := planLookbook(newRand(seed), cfg, products, bgs, lookbookMix)
		last := shots[len(shots)-1]
		if d := float64(last.outStart+last.frames) / fps; d < 25 || d > 40 {
			t.Errorf("seed %d: %.2f s", seed, d)
		}
		distinct := map[string]int{} // product: shot it was last seen in
		for i, sp := range shots {
			nShots++
			layouts[sp.layout]++
			if i > 0 {
				transitions[sp.transition]++
			}
			if s := float64(sp.frames) / fps; s < 1.5 || s > 4 {
				t.Errorf("seed %d shot %d: %.2f s", seed, i, s)
			}
			if sp.transition == groundtruth.TransitionDissolve && (!photoLayout(sp.layout) || !photoLayout(shots[i-1].layout)) {
				t.Errorf("seed %d shot %d: dissolve from %s to %s", seed, i, shots[i-1].layout, sp.layout)
			}
			if n := max(sp.fadeIn, sp.dissolveIn); n > 0 && (n < 2 || float64(n)/fps > 0.5) {
				t.Errorf("seed %d shot %d: transition over %d frames", seed, i, n)
			}
			want := map[string]int{layoutFull: 1, layoutSplit: 2, layoutPiP: 2, layoutOverlay: 1}[sp.layout]
			if len(sp.panels) != want {
				t.Errorf("seed %d shot %d (%s): %d photos", seed, i, sp.layout, len(sp.panels))
			}
			for _, p := range sp.panels {
				id := p.product.ID
				if s, ok := distinct[id]; ok {
					if s == i {
						t.Errorf("seed %d shot %d: product %s twice", seed, i, id)
					}
					if s == i-1 {
						t.Errorf("seed %d shot %d: product %s again right after shot %d", seed, i, id, s)
					}
					repeats++
				}
				distinct[id] = i
				switch {
				case p.cover && (sp.layout == layoutFull || sp.layout == layoutPiP):
					if dz := math.Abs(p.z1 - p.z0); dz < 0.02-1e-9 || dz > 0.08+1e-9 {
						t.Errorf("seed %d shot %d: Ken Burns zoom %.3f", seed, i, dz)
					}
				case sp.layout == layoutPiP:
					if p.w0 < 1.0/3 || p.w0 > 2.0/5 || p.border < 1 || p.slide == 0 {
						t.Errorf("seed %d shot %d: inset width %.3f border %d slide %d", seed, i, p.w0, p.border, p.slide)
					}
				case sp.layout == layoutOverlay:
					if p.w0 < 0.25 || p.w1 > 0.4*1.05 {
						t.Errorf("seed %d shot %d: overlay width %.3f..%.3f", seed, i, p.w0, p.w1)
					}
				}
			}
			if (sp.layout == layoutOverlay || sp.layout == layoutFootage) && sp.bg.Path == "" {
				t.Errorf("seed %d shot %d: %s shot without footage", seed, i, sp.layout)
			}
		}
		if n := len(distinct); n < 8 || n > 16 {
			t.Errorf("seed %d: %d distinct products", seed, n)
		}
	}
	share := func(n int) float64 { return float64(n) / float64(nShots) }
	if s := share(layouts[layoutFootage] + layouts[layoutCard]); s < 0.05 || s > 0.2 {
		t.Errorf("%.2f of shots show no product, want about 1/8 (%v)", s, layouts)
	}
	for _, l := range []string{layoutFull, layoutSplit, layoutPiP, layoutOverlay, layoutFootage, layoutCard} {
		if layouts[l] == 0 {
			t.Errorf("no %s shot in %d seeds", l, seeds)
		}
	}
	cuts := float64(transitions[groundtruth.TransitionCut]) / float64(nShots-seeds)
	if cuts < 0.4 || cuts > 0.6 || transitions[groundtruth.TransitionFade] == 0 || transitions[groundtruth.TransitionDissolve] == 0 {
		t.Errorf("transitions %v: %.2f cuts", transitions, cuts)
	}
	if repeats == 0 {
		t.Error("no product came back in a later shot")
	}
	t.Logf("%d seeds: %d shots, layouts %v, transitions %v, %d repeated appearances", seeds, nShots, layouts, transitions, repeats)

	// Truth boxes (this loads the photos): every kept appearance is on
	// screen for half a second with a box of at least 2 % of the frame,
	// inside the frame and, for a framed photo, inside the photo.
	for seed := range uint64(3) {
		shots := planLookbook(newRand(seed), cfg, products, bgs, lookbookMix)
		if err := resolvePanels(cfg, shots); err != nil {
			t.Fatal(err)
		}
		items, dropped := 0, 0
		for i, sp := range shots {
			for _, p := range sp.panels {
				if p.drop {
					dropped++
					continue
				}
				items++
				best := 0.0
				for _, b := range p.boxes {
					best = math.Max(best, b.W*b.H)
					if b.X < 0 || b.Y < 0 || b.X+b.W > 1+1e-6 || b.Y+b.H > 1+1e-6 {
						t.Errorf("seed %d shot %d: box %+v outside the frame", seed, i, b)
					}
				}
				if len(p.boxes) < 13 || best < 0.02 {
					t.Errorf("seed %d shot %d: kept an item with %d boxes, largest %.3f of the frame", seed, i, len(p.boxes), best)
				}
			}
		}
		t.Logf("seed %d: %d shots, %d items, %d photos dropped", seed, len(shots), items, dropped)
	}
}

func TestForeground(t *testing.T) {
	const w, h = 120, 180
	backdrop := func(top, bottom color.RGBA) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			k := float64(y) / (h - 1)
			c := color.RGBA{
				uint8(lerp(float64(top.R), float64(bottom.R), k)), uint8(lerp(float64(top.G), float64(bottom.G), k)),
				uint8(lerp(float64(top.B), float64(bottom.B), k)), 255,
			}
			for x := range w {
				img.SetRGBA(x, y, c)
			}
		}
		return img
	}
	fill := func(img *image.RGBA, r image.Rectangle, c color.RGBA) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	boxOf := func(b fgBox) image.Rectangle {
		return image.Rect(int(math.Round(b.X0*w)), int(math.Round(b.Y0*h)), int(math.Round(b.X1*w)), int(math.Round(b.Y1*h)))
	}
	fallback := image.Rect(18, 0, 102, 180)

	// A model in front of a studio wall that darkens towards the floor.
	studio := backdrop(color.RGBA{236, 230, 220, 255}, color.RGBA{196, 188, 176, 255})
	fill(studio, image.Rect(40, 15, 80, 170), color.RGBA{120, 40, 60, 255})
	fill(studio, image.Rect(10, 90, 12, 92), color.RGBA{0, 0, 0, 255}) // a speck, removed by the opening
	// Dark trousers cut off by the bottom edge are not backdrop.
	cropped := backdrop(color.RGBA{240, 240, 240, 255}, color.RGBA{230, 230, 230, 255})
	fill(cropped, image.Rect(35, 20, 85, 100), color.RGBA{250, 120, 150, 255})
	fill(cropped, image.Rect(38, 100, 82, 180), color.RGBA{20, 20, 24, 255})
	// A busy scene: the box would cover nearly everything.
	busy := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range busy.Pix {
		busy.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			busy.Pix[i] = 255
		}
	}
	// A tiny subject: under 15 % of the photo.
	tiny := backdrop(color.RGBA{200, 200, 200, 255}, color.RGBA{200, 200, 200, 255})
	fill(tiny, image.Rect(50, 70, 70, 110), color.RGBA{10, 10, 200, 255})

	for _, tc := range []struct {
		name     string
		img      *image.RGBA
		want     image.Rectangle
		measured bool
	}{
		{"studio", studio, image.Rect(40, 15, 80, 170), true},
		{"cropped", cropped, image.Rect(35, 20, 85, 180), true},
		{"busy", busy, fallback, false},
		{"tiny", tiny, fallback, false},
	} {
		b := foreground(tc.img)
		if got := boxOf(b); got != tc.want || b.Measured != tc.measured {
			t.Errorf("%s: box %v measured %v, want %v measured %v", tc.name, got, b.Measured, tc.want, tc.measured)
		}
	}

	products, err := LoadCatalog(testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		info, err := photoInfoOf(p.Image)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := boxOf(info.FG), testPhotos[p.ID].fg; got != want || !info.FG.Measured || info.W != w || info.H != h {
			t.Errorf("%s: box %v (measured %v, %dx%d), want %v", p.ID, got, info.FG.Measured, info.W, info.H, want)
		}
	}
}

func TestLookbookBadConfig(t *testing.T) {
	bg := []Background{{Path: "y"}}
	for _, c := range []LookbookConfig{
		{},
		{CatalogDir: "x", Backgrounds: bg, Width: 63},
		{CatalogDir: "x", Backgrounds: bg, FPS: 1000},
		{CatalogDir: "x", Backgrounds: bg, MinDurationS: 30, MaxDurationS: 20},
		{CatalogDir: "x", Backgrounds: bg, MinShotS: 3, MaxShotS: 2},
		{CatalogDir: "x"},
		{CatalogDir: t.TempDir(), Backgrounds: bg},
	} {
		if _, err := Lookbook(context.Background(), c, t.TempDir(), "v"); err == nil {
			t.Errorf("Lookbook(%+v) accepted a bad config", c)
		}
	}
	if _, err := LookbookSet(context.Background(), LookbookConfig{}, t.TempDir(), 1); err == nil || !strings.Contains(err.Error(), "catalog") {
		t.Errorf("LookbookSet with no catalog: %v", err)
	}
}

// BenchmarkDrawScaled measures drawing a photo over a whole 540x960 frame.
func BenchmarkDrawScaled(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 512, 768))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	frame := make([]byte, 3*540*960)
	for b.Loop() {
		drawScaled(frame, 540, img, [4]float64{-50.5, -10, 610, 980}, image.Rect(0, 0, 540, 960))
	}
}
