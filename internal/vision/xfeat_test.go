package vision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

var sharedXFeat struct {
	once sync.Once
	x    *LocalFeatureExtractor
	err  error
}

// testXFeat opens the XFeat model once for the test binary.
func testXFeat(t testing.TB) *LocalFeatureExtractor {
	t.Helper()
	dir := testenv.Models(t, XFeatFile)
	lib := testenv.ORTLib(t)
	sharedXFeat.once.Do(func() {
		sharedXFeat.x, sharedXFeat.err = OpenLocalFeatures(dir, LocalFeatureOptions{SessionOptions: SessionOptions{Threads: 2}, RuntimeLib: lib, Verify: true})
	})
	if sharedXFeat.err != nil {
		t.Fatal(sharedXFeat.err)
	}
	return sharedXFeat.x
}

// virgioPhoto is an on-model catalog photo (512x768).
func virgioPhoto(t testing.TB, id string) image.Image {
	t.Helper()
	return loadImage(t, filepath.Join(testenv.Samples(t), "catalog_virgio", "images", id+".jpg"))
}

func sampleFeatures(n int) *LocalFeatures {
	f := &LocalFeatures{W: 512, H: 768, Region: image.Rect(10, 20, 500, 700)}
	for i := 0; i < n; i++ {
		f.Points = append(f.Points, [2]float32{10 + float32(i%490), 20 + float32(i*7%680)})
		f.Scores = append(f.Scores, 1/float32(i+1))
		for k := 0; k < DescriptorDim; k++ {
			f.Desc = append(f.Desc, int8((i*31+k*17)%255-127))
		}
	}
	return f
}

func TestLocalFeaturesBlobRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *LocalFeatures
	}{
		{"empty", &LocalFeatures{W: 1, H: 1, Region: image.Rect(0, 0, 1, 1)}},
		{"one point", sampleFeatures(1)},
		{"1024 points", sampleFeatures(1024)},
		{"largest image", &LocalFeatures{W: 65535, H: 65535, Region: image.Rect(0, 0, 65535, 65535), Points: [][2]float32{{65534.5, 0}}, Scores: []float32{0.5}, Desc: make([]int8, DescriptorDim)}},
		{"tiles", func() *LocalFeatures { f := sampleFeatures(5); f.Tiles = 4; return f }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.f.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if want := 20 + 70*tc.f.Len(); len(b) != want {
				t.Errorf("%d bytes, want %d", len(b), want)
			}
			var g LocalFeatures
			if err := g.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if g.W != tc.f.W || g.H != tc.f.H || g.Region != tc.f.Region || !slices.Equal(g.Desc, tc.f.Desc) || g.Len() != tc.f.Len() || g.Tiles != max(tc.f.Tiles, 1) {
				t.Fatalf("round trip changed the features: %+v", g)
			}
			for i := range g.Points {
				for k := 0; k < 2; k++ {
					side := float32([]int{g.W, g.H}[k])
					if d := math.Abs(float64(g.Points[i][k] - tc.f.Points[i][k])); d > float64(side)/65535 {
						t.Fatalf("point %d moved by %g", i, d)
					}
				}
				if d := math.Abs(float64(g.Scores[i] - tc.f.Scores[i])); d > 1.0/65535 {
					t.Fatalf("score %d moved by %g", i, d)
				}
			}
		})
	}
}

// TestLocalFeaturesBlobVersion1 checks that blobs stored before tiles
// existed still decode, as features of the whole model input.
func TestLocalFeaturesBlobVersion1(t *testing.T) {
	f := sampleFeatures(3)
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v1 := append([]byte{'V', 'L', 'F', 1, DescriptorDim}, b[6:]...)
	var g LocalFeatures
	if err := g.UnmarshalBinary(v1); err != nil {
		t.Fatal(err)
	}
	if g.Tiles != 1 || g.Region != f.Region || !slices.Equal(g.Desc, f.Desc) {
		t.Fatalf("version 1 blob decoded as %+v", g)
	}
}

func TestLocalFeaturesBlobRejects(t *testing.T) {
	good, err := sampleFeatures(3).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"short header", good[:10]},
		{"magic", edit(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"version", edit(func(b []byte) []byte { b[3] = 3; return b })},
		{"descriptor length", edit(func(b []byte) []byte { b[4] = 32; return b })},
		{"tiles", edit(func(b []byte) []byte { b[5] = 3; return b })},
		{"zero width", edit(func(b []byte) []byte { b[6], b[7] = 0, 0; return b })},
		{"region outside", edit(func(b []byte) []byte { b[14], b[15] = 0xff, 0xff; return b })},
		{"empty region", edit(func(b []byte) []byte { b[14], b[15] = b[10], b[11]; return b })},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(slices.Clone(good), 0)},
		{"count too large", edit(func(b []byte) []byte { b[18] = 200; return b })},
		{"version 1 truncated", edit(func(b []byte) []byte { b[3] = 1; return b })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f LocalFeatures
			if err := f.UnmarshalBinary(tc.b); !errors.Is(err, ErrBadBlob) {
				t.Fatalf("got %v, want ErrBadBlob", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		f    *LocalFeatures
	}{
		{"no size", &LocalFeatures{}},
		{"too wide", &LocalFeatures{W: 70000, H: 10, Region: image.Rect(0, 0, 1, 1)}},
		{"missing scores", &LocalFeatures{W: 10, H: 10, Region: image.Rect(0, 0, 10, 10), Points: make([][2]float32, 1), Desc: make([]int8, DescriptorDim)}},
		{"region outside", &LocalFeatures{W: 10, H: 10, Region: image.Rect(0, 0, 11, 10)}},
	} {
		t.Run("marshal "+tc.name, func(t *testing.T) {
			if _, err := tc.f.MarshalBinary(); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func FuzzLocalFeaturesUnmarshal(f *testing.F) {
	for _, n := range []int{0, 1, 5} {
		b, err := sampleFeatures(n).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var lf LocalFeatures
		if lf.UnmarshalBinary(b) != nil {
			return
		}
		// What decodes re-encodes to a blob that decodes the same.
		b2, err := lf.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded features do not encode: %v", err)
		}
		var lf2 LocalFeatures
		if err := lf2.UnmarshalBinary(b2); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(lf.Desc, lf2.Desc) || !slices.Equal(lf.Scores, lf2.Scores) || !slices.Equal(lf.Points, lf2.Points) {
			t.Fatal("re-encoding changed the features")
		}
		for _, p := range lf.Points {
			if p[0] < 0 || p[0] > float32(lf.W) || p[1] < 0 || p[1] > float32(lf.H) {
				t.Fatalf("point %v outside the %dx%d image", p, lf.W, lf.H)
			}
		}
	})
}

func TestLocalFeaturesSubset(t *testing.T) {
	f := sampleFeatures(200)
	r := image.Rect(100, 100, 300, 400)
	s := f.Subset(r)
	if s.Region != f.Region.Intersect(r) || len(s.Desc) != DescriptorDim*s.Len() || len(s.Scores) != s.Len() {
		t.Fatalf("inconsistent subset: region %v, %d points, %d scores, %d descriptor values", s.Region, s.Len(), len(s.Scores), len(s.Desc))
	}
	n := 0
	for i, p := range f.Points {
		if image.Pt(int(p[0]), int(p[1])).In(r) {
			if !slices.Equal(s.Descriptor(n), f.Descriptor(i)) || s.Points[n] != p {
				t.Fatalf("subset point %d is not point %d", n, i)
			}
			n++
		}
	}
	if n != s.Len() || n == 0 {
		t.Fatalf("subset has %d points, want %d", s.Len(), n)
	}
}

func TestXFeatExtract(t *testing.T) {
	x := testXFeat(t)
	ctx := context.Background()
	img := virgioPhoto(t, "15108")
	b := img.Bounds()
	for _, tc := range []struct {
		name      string
		region    image.Rectangle
		maxPoints int
		min, max  int
	}{
		{"whole photo", image.Rectangle{}, 1024, 1024, 1024},
		{"default count", image.Rectangle{}, 0, 1024, 1024},
		{"garment region", image.Rect(102, 154, 410, 653), 512, 512, 512},
		// 60x80 pixels: at most one point per 64 pixels.
		{"small crop", image.Rect(200, 300, 260, 380), 1024, 20, 75},
		{"region beyond the image", image.Rect(400, 600, 900, 900), 1024, 100, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := x.Extract(ctx, img, tc.region, tc.maxPoints)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.region.Intersect(b)
			if tc.region.Empty() {
				want = b
			}
			if f.W != b.Dx() || f.H != b.Dy() || f.Region != want {
				t.Errorf("size %dx%d region %v, want %dx%d %v", f.W, f.H, f.Region, b.Dx(), b.Dy(), want)
			}
			if f.Len() < tc.min || f.Len() > tc.max {
				t.Errorf("%d points, want %d..%d", f.Len(), tc.min, tc.max)
			}
			checkFeatures(t, f)
		})
	}
	if _, err := x.Extract(ctx, img, image.Rect(600, 0, 700, 10), 10); !errors.Is(err, ErrEmptyImage) {
		t.Errorf("region outside the image: %v, want ErrEmptyImage", err)
	}
	if _, err := x.Extract(ctx, nil, image.Rectangle{}, 10); !errors.Is(err, ErrEmptyImage) {
		t.Errorf("nil image: %v, want ErrEmptyImage", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := x.Extract(cctx, img, image.Rectangle{}, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// checkFeatures checks the invariants of extracted features.
func checkFeatures(t *testing.T, f *LocalFeatures) {
	t.Helper()
	if len(f.Scores) != f.Len() || len(f.Desc) != f.Len()*DescriptorDim {
		t.Fatalf("%d points, %d scores, %d descriptor values", f.Len(), len(f.Scores), len(f.Desc))
	}
	for i, p := range f.Points {
		if p[0] < float32(f.Region.Min.X) || p[0] >= float32(f.Region.Max.X) || p[1] < float32(f.Region.Min.Y) || p[1] >= float32(f.Region.Max.Y) {
			t.Fatalf("point %d %v outside the region %v", i, p, f.Region)
		}
		if i > 0 && f.Scores[i] > f.Scores[i-1] {
			t.Fatalf("scores not decreasing at %d", i)
		}
		var n int
		for _, v := range f.Descriptor(i) {
			n += int(v) * int(v)
		}
		if math.Abs(math.Sqrt(float64(n))-DescriptorScale) > 2 {
			t.Fatalf("descriptor %d has norm %.1f, want %d", i, math.Sqrt(float64(n)), DescriptorScale)
		}
	}
}

// TestXFeatRepeatable checks that concurrent extractions give the same
// features, and that the letterbox mode keeps points off the padding.
func TestXFeatRepeatable(t *testing.T) {
	x := testXFeat(t)
	img := virgioPhoto(t, "15071")
	var wg sync.WaitGroup
	res := make([]*LocalFeatures, 3)
	errs := make([]error, 3)
	for i := range res {
		wg.Go(func() { res[i], errs[i] = x.Extract(context.Background(), img, image.Rectangle{}, 256) })
	}
	wg.Wait()
	for i := range res {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		a, _ := res[0].MarshalBinary()
		b, _ := res[i].MarshalBinary()
		if !bytes.Equal(a, b) {
			t.Fatalf("run %d differs from run 0", i)
		}
	}
	lb, err := OpenLocalFeatures(testenv.Models(t), LocalFeatureOptions{SessionOptions: SessionOptions{Threads: 2}, Resize: ResizeLetterboxCenter})
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	// A wide strip: most of the letterboxed input is padding.
	f, err := lb.Extract(context.Background(), img, image.Rect(0, 300, 512, 460), 512)
	if err != nil {
		t.Fatal(err)
	}
	checkFeatures(t, f)
	if f.Len() < 100 {
		t.Errorf("letterboxed strip: %d points", f.Len())
	}
}

// TestXFeatMirrored checks that the mirrored features are those of the
// flipped image: most keypoints reappear at W - x (within 3 pixels: the
// network is not exactly mirror-symmetric, about a third reappear within
// half a pixel, and the strongest 300 differ a little).
func TestXFeatMirrored(t *testing.T) {
	x := testXFeat(t)
	img := virgioPhoto(t, "15108")
	region := image.Rect(102, 154, 410, 653)
	plain, mirrored, err := x.ExtractMirrored(context.Background(), img, region, 300)
	if err != nil {
		t.Fatal(err)
	}
	checkFeatures(t, plain)
	checkFeatures(t, mirrored)
	W := img.Bounds().Dx()
	if want := image.Rect(W-region.Max.X, region.Min.Y, W-region.Min.X, region.Max.Y); mirrored.Region != want {
		t.Fatalf("mirrored region %v, want %v", mirrored.Region, want)
	}
	again := 0
	for _, p := range plain.Points {
		for _, q := range mirrored.Points {
			if math.Hypot(float64(float32(W)-q[0]-p[0]), float64(q[1]-p[1])) <= 3 {
				again++
				break
			}
		}
	}
	t.Logf("%d of %d keypoints reappear mirrored", again, plain.Len())
	if again < plain.Len()/2 {
		t.Errorf("%d of %d keypoints reappear in the mirror image, want half", again, plain.Len())
	}
}

// TestXFeatMirrorPaths checks that the mirrored features do not depend on
// the path: ExtractMirrored (one resize for both runs), ExtractMany with a
// mirrored region and Extract of the image flipped beforehand describe the
// same picture, so they give the same points and descriptors (the last up
// to float rounding: the flipped image is resampled in the other order).
func TestXFeatMirrorPaths(t *testing.T) {
	x := testXFeat(t)
	ctx := context.Background()
	img := virgioPhoto(t, "15071")
	b := img.Bounds()
	flipped := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for xx := b.Min.X; xx < b.Max.X; xx++ {
			flipped.Set(b.Max.X-1-(xx-b.Min.X), y, img.At(xx, y))
		}
	}
	for _, region := range []image.Rectangle{image.Rect(102, 154, 410, 653), image.Rect(200, 300, 330, 480)} {
		_, mirrored, err := x.ExtractMirrored(ctx, img, region, 400)
		if err != nil {
			t.Fatal(err)
		}
		many, err := x.ExtractMany(ctx, []LocalRegion{{Image: img, Region: region, Mirror: true}}, 400)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := mirrored.MarshalBinary()
		m, _ := many[0].MarshalBinary()
		if !bytes.Equal(a, m) {
			t.Errorf("region %v: ExtractMirrored and ExtractMany give other mirrored features", region)
		}
		W := b.Dx()
		fr := image.Rect(W-region.Max.X, region.Min.Y, W-region.Min.X, region.Max.Y)
		direct, err := x.Extract(ctx, flipped, fr, 400)
		if err != nil {
			t.Fatal(err)
		}
		if mirrored.Region != fr {
			t.Errorf("mirrored region %v, want %v", mirrored.Region, fr)
		}
		same := 0
		for i, p := range mirrored.Points {
			for j, q := range direct.Points {
				if math.Abs(float64(p[0]-q[0])) < 0.01 && math.Abs(float64(p[1]-q[1])) < 0.01 {
					if bytes.Equal(i8bytes(mirrored.Descriptor(i)), i8bytes(direct.Descriptor(j))) {
						same++
					}
					break
				}
			}
		}
		t.Logf("region %v: %d of %d mirrored points and descriptors as in the flipped image", region, same, mirrored.Len())
		if mirrored.Len() < 100 || direct.Len() != mirrored.Len() || same < mirrored.Len()*95/100 {
			t.Errorf("region %v: %d of %d mirrored points (flipped image: %d) as in the flipped image, want 95%%", region, same, mirrored.Len(), direct.Len())
		}
	}
}

func i8bytes(d []int8) []byte {
	out := make([]byte, len(d))
	for i, v := range d {
		out[i] = byte(v)
	}
	return out
}

// TestXFeatParallelRuns checks that an extractor running several model
// runs at once (one thread each) returns, in order, the same features as
// one that runs them one after the other, whole inputs and mosaics,
// mirrored regions included.
func TestXFeatParallelRuns(t *testing.T) {
	dir := testenv.Models(t, XFeatFile)
	lib := testenv.ORTLib(t)
	var rs []LocalRegion
	for i, id := range []string{"15108", "15071", "15053", "15130", "15108"} {
		rs = append(rs, LocalRegion{Image: virgioPhoto(t, id), Region: image.Rect(102+10*i, 154, 410, 653-20*i), Mirror: i%2 == 1})
	}
	ctx := context.Background()
	for _, tiles := range []int{1, 2} {
		t.Run(fmt.Sprint(tiles), func(t *testing.T) {
			var got [2][]*LocalFeatures
			for k, so := range []SessionOptions{{Threads: 1}, {Threads: 1, Runs: 2}} {
				x, err := OpenLocalFeatures(dir, LocalFeatureOptions{SessionOptions: so, RuntimeLib: lib, Tiles: tiles})
				if err != nil {
					t.Fatal(err)
				}
				got[k], err = x.ExtractMany(ctx, rs, 512)
				x.Close()
				if err != nil {
					t.Fatal(err)
				}
				if len(got[k]) != len(rs) {
					t.Fatalf("runs %d: %d results for %d regions", so.Runs, len(got[k]), len(rs))
				}
			}
			for i := range rs {
				checkFeatures(t, got[1][i])
				a, _ := got[0][i].MarshalBinary()
				b, _ := got[1][i].MarshalBinary()
				if !bytes.Equal(a, b) {
					t.Errorf("region %d: parallel runs give other features than serial ones", i)
				}
			}
		})
	}
}

// TestXFeatTiles checks the mosaics: every region's features come back in
// order inside its region, and a region's keypoints do not depend much on
// what the other tiles show.
func TestXFeatTiles(t *testing.T) {
	dir := testenv.Models(t, XFeatFile)
	lib := testenv.ORTLib(t)
	if _, err := OpenLocalFeatures(dir, LocalFeatureOptions{RuntimeLib: lib, Tiles: 3}); err == nil {
		t.Error("3 tiles: no error")
	}
	garment := image.Rect(102, 154, 410, 653)
	var rs []LocalRegion
	for _, id := range []string{"15108", "15071", "15053", "15130", "15108"} {
		rs = append(rs, LocalRegion{Image: virgioPhoto(t, id), Region: garment})
	}
	rs[4].Region = image.Rect(150, 200, 300, 400) // a run with one tile used
	for _, tiles := range []int{2, 4} {
		t.Run(fmt.Sprint(tiles), func(t *testing.T) {
			x, err := OpenLocalFeatures(dir, LocalFeatureOptions{SessionOptions: SessionOptions{Threads: 2}, RuntimeLib: lib, Tiles: tiles})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			ctx := context.Background()
			fs, err := x.ExtractMany(ctx, rs, 512)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != len(rs) {
				t.Fatalf("%d results for %d regions", len(fs), len(rs))
			}
			for i, f := range fs {
				checkFeatures(t, f)
				if f.Region != rs[i].Region || f.Len() < 100 || f.Tiles != tiles {
					t.Errorf("region %d: %v with %d points, %d tiles, want %v with >= 100, %d tiles", i, f.Region, f.Len(), f.Tiles, rs[i].Region, tiles)
				}
			}
			alone, err := x.Extract(ctx, rs[1].Image, rs[1].Region, 512)
			if err != nil {
				t.Fatal(err)
			}
			again := 0
			for _, p := range alone.Points {
				for _, q := range fs[1].Points {
					if math.Hypot(float64(p[0]-q[0]), float64(p[1]-q[1])) <= 2 {
						again++
						break
					}
				}
			}
			t.Logf("%d of %d keypoints of a region alone reappear in a mosaic", again, alone.Len())
			if again < alone.Len()*2/3 {
				t.Errorf("%d of %d keypoints reappear in the mosaic, want two thirds", again, alone.Len())
			}
			plain, mirrored, err := x.ExtractMirrored(ctx, rs[0].Image, garment, 300)
			if err != nil {
				t.Fatal(err)
			}
			checkFeatures(t, plain)
			checkFeatures(t, mirrored)
		})
	}
}

// BenchmarkXFeatExtract reports ms per extraction of a 512x768 photo
// (model input 640x640) with 1024 points, and with a small crop.
func BenchmarkXFeatExtract(b *testing.B) {
	x := testXFeat(b)
	img := virgioPhoto(b, "15108")
	for _, tc := range []struct {
		name   string
		region image.Rectangle
	}{
		{"photo", image.Rectangle{}},
		{"crop=150x250", image.Rect(180, 250, 330, 500)},
	} {
		b.Run(fmt.Sprintf("%s/threads=2", tc.name), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := x.Extract(ctx, img, tc.region, 1024); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// TestXFeatResizeMatchesBiLinear compares the extractor's resampling with
// the shared preprocessing (x/image/draw BiLinear), enlarging and
// shrinking, stretched and letterboxed.
func TestXFeatResizeMatchesBiLinear(t *testing.T) {
	photo := virgioPhoto(t, "15108")
	big := image.NewRGBA(image.Rect(0, 0, 1440, 2160))
	xdraw.CatmullRom.Scale(big, big.Bounds(), photo, photo.Bounds(), xdraw.Src, nil)
	for _, tc := range []struct {
		name   string
		img    image.Image
		region image.Rectangle
		mode   string
	}{
		{"enlarge crop", photo, image.Rect(200, 300, 330, 480), ResizeStretch},
		{"photo", photo, photo.Bounds(), ResizeStretch},
		{"shrink", big, big.Bounds(), ResizeStretch},
		{"letterbox", photo, image.Rect(0, 300, 512, 460), ResizeLetterboxCenter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crop := Crop(tc.img, tc.region)
			bufs := &xfeatBuffers{input: make([]float32, 3*xfeatSide*xfeatSide)}
			got, _, err := resizeToTensor(crop, tc.mode, bufs, image.Rect(0, 0, xfeatSide, xfeatSide))
			if err != nil {
				t.Fatal(err)
			}
			in := InputSpec{Width: xfeatSide, Height: xfeatSide, Scale: 1.0 / 255, Resize: tc.mode}
			if tc.mode == ResizeLetterboxCenter {
				c := image.NewRGBA(image.Rect(0, 0, tc.region.Dx(), tc.region.Dy()))
				xdraw.Draw(c, c.Bounds(), crop, tc.region.Min, xdraw.Src)
				in.Pad = meanGrey(c)
			}
			want := make([]float32, len(bufs.input))
			wt, err := preprocess(crop, in, want)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.sx-wt.sx) > 1e-9 || math.Abs(got.sy-wt.sy) > 1e-9 || got.ox != wt.ox || got.oy != wt.oy {
				t.Errorf("transform %+v, preprocess %+v", got, wt)
			}
			var sum float64
			for i, v := range bufs.input {
				sum += math.Abs(float64(v - want[i]))
			}
			if mean := sum / float64(len(want)); mean > 0.01 {
				t.Errorf("mean difference %.4f from BiLinear, want <= 0.01", mean)
			}
		})
	}
}

func TestLighterGlue(t *testing.T) {
	x := testXFeat(t)
	g, err := OpenLighterGlue(testenv.Models(t, LighterGlueFile), LocalFeatureOptions{SessionOptions: SessionOptions{Threads: 2}, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	img := virgioPhoto(t, "15108")
	whole, err := x.Extract(ctx, img, image.Rectangle{}, 512)
	if err != nil {
		t.Fatal(err)
	}
	// The garment part of the photo, described on its own (another scale).
	part, err := x.Extract(ctx, img, image.Rect(80, 150, 430, 650), 512)
	if err != nil {
		t.Fatal(err)
	}
	other, err := x.Extract(ctx, virgioPhoto(t, "14976"), image.Rectangle{}, 512)
	if err != nil {
		t.Fatal(err)
	}
	same, err := g.Match(ctx, part, whole, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	near := 0
	for i, m := range same {
		if i > 0 && m.Score > same[i-1].Score {
			t.Fatal("matches not sorted by score")
		}
		p, q := part.Points[m.A], whole.Points[m.B]
		if math.Hypot(float64(p[0]-q[0]), float64(p[1]-q[1])) < 4 {
			near++
		}
	}
	diff, err := g.Match(ctx, part, other, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("same photo: %d matches (%d within 4 px of each other); other product: %d", len(same), near, len(diff))
	if near < 100 || near < len(same)*9/10 || len(diff) > 10 {
		t.Errorf("same photo %d matches, %d in place; other product %d", len(same), near, len(diff))
	}
	if ms, err := g.Match(ctx, part, &LocalFeatures{W: 1, H: 1}, 0.5); err != nil || ms != nil {
		t.Errorf("no points: %v, %v", ms, err)
	}
	if top := whole.Top(100); top.Len() != 100 || len(top.Desc) != 100*DescriptorDim || whole.Top(0) != whole {
		t.Errorf("Top(100) has %d points", top.Len())
	}
}

// BenchmarkLighterGlue reports ms per matched pair of 512 and 1024 points.
func BenchmarkLighterGlue(b *testing.B) {
	x := testXFeat(b)
	g, err := OpenLighterGlue(testenv.Models(b, LighterGlueFile), LocalFeatureOptions{SessionOptions: SessionOptions{Threads: 2}})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	f0, err := x.Extract(ctx, virgioPhoto(b, "15108"), image.Rectangle{}, 1024)
	if err != nil {
		b.Fatal(err)
	}
	f1, err := x.Extract(ctx, virgioPhoto(b, "15071"), image.Rectangle{}, 1024)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []int{512, 1024} {
		b.Run(fmt.Sprintf("points=%d", k), func(b *testing.B) {
			for b.Loop() {
				if _, err := g.Match(ctx, f0.Top(k), f1.Top(k), 0.5); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// TestDetectKeypointsSkipsOnlyEmptyCells checks that skipping cells where
// the dustbin wins by more than the threshold allows gives exactly the
// keypoints of the softmax over every cell, on logits with cells at, just
// over and far from the threshold.
func TestDetectKeypointsSkipsOnlyEmptyCells(t *testing.T) {
	const plane = xfeatCells * xfeatCells
	rng := rand.New(rand.NewPCG(7, 8))
	logits := make([]float32, 65*plane)
	rel := make([]float32, plane)
	for cell := range plane {
		rel[cell] = rng.Float32()
		for c := range 64 {
			logits[c*plane+cell] = rng.Float32() * 0.5
		}
		// One pixel of the cell stands out, by how much depends on the
		// kind of cell.
		var bin, peak float32
		switch cell % 4 {
		case 0: // flat: the dustbin wins by far
			bin, peak = 8, 1
		case 1: // at the skip test's boundary for thr 0.05 (ln 0.05 = -3.0)
			bin = 3
			peak = bin - 3.0 + rng.Float32()*0.02 - 0.01
		case 2: // a keypoint
			bin, peak = -2, 4
		default:
			bin, peak = rng.Float32()*6, rng.Float32()*6
		}
		logits[rng.IntN(64)*plane+cell] = peak
		logits[64*plane+cell] = bin
	}
	for _, thr := range []float32{0.05, 0.01, 0} {
		got := detectKeypoints(logits, rel, make([]float32, xfeatSide*xfeatSide), thr)
		want := detectKeypointsEveryCell(logits, rel, thr)
		if len(want) == 0 {
			t.Fatalf("thr %v: no keypoints in the reference: the test data are wrong", thr)
		}
		if !slices.Equal(got, want) {
			t.Errorf("thr %v: %d keypoints, want %d (the softmax of every cell)", thr, len(got), len(want))
		}
	}
}

// detectKeypointsEveryCell is detectKeypoints with the softmax of every
// cell, as upstream computes it.
func detectKeypointsEveryCell(logits, rel []float32, thr float32) []keypoint {
	heat := make([]float32, xfeatSide*xfeatSide)
	keypointHeat(logits, heat, 0)
	return pickKeypoints(heat, rel, thr)
}
