package vision

import (
	"context"
	"encoding/csv"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestGarmentDetectorIsKnownNotDefault(t *testing.T) {
	def := DefaultManifest()
	for _, s := range def.Models {
		if s.Role == RoleGarmentDetector || s.Name == DeepFashion2Detector {
			t.Errorf("default manifest lists garment detector %s", s.Name)
		}
	}
	s, err := def.GarmentDetectorSpec(DeepFashion2Detector)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.validate(); err != nil {
		t.Fatalf("known spec invalid: %v", err)
	}
	if s.URL != "" || !strings.Contains(s.License, "AGPL-3.0") || !strings.Contains(s.License, "non-commercial") {
		t.Errorf("known spec: url %q (want none), license %q", s.URL, s.License)
	}
	names, err := def.ClassNames(s)
	if err != nil || len(names) != 13 || names[0] != "short sleeve top" || names[12] != "sling dress" {
		t.Fatalf("classes %q, %v", names, err)
	}
	if _, err := def.GarmentDetectorSpec("yolox-nano-coco"); err == nil || !strings.Contains(err.Error(), "not a garment_detector") {
		t.Errorf("a COCO detector accepted as garment detector: %v", err)
	}
	if _, err := def.GarmentDetectorSpec("nope"); err == nil || !strings.Contains(err.Error(), DeepFashion2Detector) {
		t.Errorf("unknown name: %v, want the known names listed", err)
	}
	// Open with default options never loads it, even with the file present.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, s.File), []byte("not a model"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := DefaultManifest()
	m.SetDir(dir)
	if _, err := OpenGarmentDetector(m, DeepFashion2Detector, DetectorOptions{}); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("a file with the wrong digest: %v, want a sha256 error", err)
	}
	if err := os.Remove(filepath.Join(dir, s.File)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenGarmentDetector(m, DeepFashion2Detector, DetectorOptions{}); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("missing file: %v", err)
	}
}

// TestYOLOv5DecodeUndoesCentredLetterbox writes boxes known in original
// pixels into synthetic [N, 18] output tensors through the transform the
// preprocessing returns, and checks decoding, thresholding, NMS and the
// letterbox undo recover them inside the image.
func TestYOLOv5DecodeUndoesCentredLetterbox(t *testing.T) {
	spec := knownModels[0]
	in := spec.Input
	classes, err := DefaultManifest().ClassNames(spec)
	if err != nil {
		t.Fatal(err)
	}
	d := &Detector{spec: spec, opts: DetectorOptions{ScoreThreshold: 0.25}.withDefaults(), classes: classes}
	type box struct {
		cls      int
		obj, p   float32
		b        Box // original pixels (relative to bounds.Min)
		want     bool
		clampedB Box // expected box when it differs from b (clamped)
	}
	tests := []struct {
		name   string
		bounds image.Rectangle
		// padX, padY: expected letterbox offsets on the 416 canvas.
		padX, padY int
		boxes      []box
	}{
		{"landscape 640x360", image.Rect(0, 0, 640, 360), 0, 91, []box{
			{cls: 1, obj: 0.9, p: 0.8, b: Box{100, 50, 300, 200}, want: true},
			{cls: 7, obj: 0.7, p: 0.9, b: Box{320, 180, 420, 359}, want: true},
			{cls: 8, obj: 0.9, p: 0.2, b: Box{10, 10, 60, 60}, want: false}, // 0.18 < 0.25
		}},
		{"portrait 300x600", image.Rect(0, 0, 300, 600), 104, 0, []box{
			{cls: 9, obj: 0.95, p: 0.9, b: Box{40, 100, 260, 560}, want: true},
			// reaches into the left padding: clamped to the image
			{cls: 6, obj: 0.8, p: 0.8, b: Box{-30, 300, 120, 450}, want: true, clampedB: Box{0, 300, 120, 450}},
		}},
		{"square", image.Rect(0, 0, 416, 416), 0, 0, []box{
			{cls: 0, obj: 0.6, p: 0.6, b: Box{0, 0, 416, 416}, want: true},
		}},
		{"odd padding 417x201", image.Rect(0, 0, 417, 201), 0, 107, []box{
			{cls: 12, obj: 0.5, p: 0.9, b: Box{200, 20, 400, 190}, want: true},
		}},
		{"sub-image offset", image.Rect(500, 80, 1140, 440), 0, 91, []box{
			{cls: 3, obj: 0.9, p: 0.9, b: Box{10, 20, 110, 220}, want: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewRGBA(tc.bounds)
			draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{200, 10, 10, 255}), image.Point{}, draw.Src)
			buf := make([]float32, 3*in.Width*in.Height)
			tf, err := preprocess(img, in, buf)
			if err != nil {
				t.Fatal(err)
			}
			if int(tf.ox) != tc.padX || int(tf.oy) != tc.padY {
				t.Fatalf("letterbox offset %v,%v, want %d,%d (centred)", tf.ox, tf.oy, tc.padX, tc.padY)
			}
			// RGB x/255: the red image is channel 0 near 200/255; the
			// padding is grey 114.
			plane := in.Width * in.Height
			cx, cy := in.Width/2, in.Height/2
			if r, b := buf[cy*in.Width+cx], buf[2*plane+cy*in.Width+cx]; math.Abs(float64(r)-200.0/255) > 0.01 || math.Abs(float64(b)-10.0/255) > 0.01 {
				t.Errorf("centre pixel r=%v b=%v, want RGB order scaled by 1/255", r, b)
			}
			if tc.padX > 0 || tc.padY > 0 {
				if v := buf[0]; math.Abs(float64(v)-114.0/255) > 1e-3 {
					t.Errorf("corner (padding) %v, want 114/255", v)
				}
			}

			const rows, cols = 40, 18
			out := make([]float32, rows*cols)
			put := func(r int, bx box, b Box) {
				x0 := float32(float64(b.X0)*tf.sx + tf.ox)
				y0 := float32(float64(b.Y0)*tf.sy + tf.oy)
				x1 := float32(float64(b.X1)*tf.sx + tf.ox)
				y1 := float32(float64(b.Y1)*tf.sy + tf.oy)
				row := out[r*cols : (r+1)*cols]
				row[0], row[1], row[2], row[3] = (x0+x1)/2, (y0+y1)/2, x1-x0, y1-y0
				row[4] = bx.obj
				row[5+bx.cls] = bx.p
				row[5+(bx.cls+1)%13] = bx.p / 2 // a weaker second class
			}
			for i, bx := range tc.boxes {
				put(2*i, bx, bx.b)
				// A slightly shifted, weaker duplicate of the same class is
				// suppressed by NMS.
				dup := bx
				dup.obj *= 0.9
				put(2*i+1, dup, Box{bx.b.X0 + 2, bx.b.Y0 + 2, bx.b.X1 + 2, bx.b.Y1 + 2})
			}
			cands, err := decodeYOLOv5(out, rows, cols, d.opts.ScoreThreshold)
			if err != nil {
				t.Fatal(err)
			}
			got := d.finish(cands, tf, img.Bounds())
			assertInside(t, got, img.Bounds())
			var want []box
			for _, bx := range tc.boxes {
				if bx.want {
					want = append(want, bx)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("got %d detections %+v, want %d", len(got), got, len(want))
			}
			for _, bx := range want {
				wb := bx.b
				if bx.clampedB != (Box{}) {
					wb = bx.clampedB
				}
				off := tc.bounds.Min
				wb = Box{wb.X0 + float32(off.X), wb.Y0 + float32(off.Y), wb.X1 + float32(off.X), wb.Y1 + float32(off.Y)}
				i := slices.IndexFunc(got, func(g Detection) bool { return g.Class == bx.cls })
				if i < 0 {
					t.Fatalf("class %d (%s) missing from %+v", bx.cls, classes[bx.cls], got)
				}
				g := got[i]
				if g.Label != classes[bx.cls] || math.Abs(float64(g.Score-bx.obj*bx.p)) > 1e-5 {
					t.Errorf("class %d: label %q score %v, want %q %v", bx.cls, g.Label, g.Score, classes[bx.cls], bx.obj*bx.p)
				}
				for k, v := range [4][2]float32{{g.Box.X0, wb.X0}, {g.Box.Y0, wb.Y0}, {g.Box.X1, wb.X1}, {g.Box.Y1, wb.Y1}} {
					if math.Abs(float64(v[0]-v[1])) > 0.5 {
						t.Errorf("%s: coordinate %d = %.2f, want %.2f (box %+v, want %+v)", g.Label, k, v[0], v[1], g.Box, wb)
					}
				}
			}
		})
	}
	if _, err := decodeYOLOv5(make([]float32, 10), 2, 5, 0.25); err == nil {
		t.Error("a head without class columns decoded")
	}
}

// catalogGarmentClasses maps catalog categories to the DeepFashion2 classes
// that count as finding the product's garment.
var catalogGarmentClasses = map[string][]string{
	"Dress":   {"short sleeve dress", "long sleeve dress", "vest dress", "sling dress"},
	"Skirt":   {"skirt"},
	"Trouser": {"trousers"},
	"Jeans":   {"trousers"},
	"Shorts":  {"shorts"},
	"Top":     {"short sleeve top", "long sleeve top", "vest", "sling"},
	"Shirt":   {"short sleeve top", "long sleeve top", "short sleeve outwear", "long sleeve outwear"},
}

// TestGarmentDetectorOnCatalogPhotos runs the DeepFashion2 detector on
// catalog photos whose category is known: the product's garment class
// should be among the detections with a score above 0.3.
func TestGarmentDetectorOnCatalogPhotos(t *testing.T) {
	models := testenv.Models(t, knownModels[0].File)
	cat := filepath.Join(testenv.Samples(t, "catalog_virgio/products.csv"), "catalog_virgio")
	if err := InitRuntime(""); err != nil {
		t.Fatal(err)
	}
	m, err := LoadManifest(models)
	if err != nil {
		t.Fatal(err)
	}
	det, err := OpenGarmentDetector(m, DeepFashion2Detector, DetectorOptions{SessionOptions: SessionOptions{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()

	ctx := context.Background()
	// Reference detections measured with the exported graph in its own
	// pipeline (MODELS.md): the preprocessing here must reproduce them.
	for _, ref := range []struct {
		id     string
		labels []string
		scores []float32
	}{
		{"14976", []string{"short sleeve dress"}, []float32{0.90}},
		{"15021", []string{"skirt", "sling"}, []float32{0.90, 0.87}},
		{"14995", []string{"shorts", "long sleeve top"}, []float32{0.93, 0}},
	} {
		img := loadImage(t, filepath.Join(cat, "images", ref.id+".jpg"))
		dets, err := det.Detect(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %v: %+v", ref.id, img.Bounds(), dets)
		for i, l := range ref.labels {
			d, ok := bestOf(dets, l)
			if !ok || ref.scores[i] > 0 && math.Abs(float64(d.Score-ref.scores[i])) > 0.07 {
				t.Errorf("%s: %s %.2f (found %v), want %.2f", ref.id, l, d.Score, ok, ref.scores[i])
			}
		}
	}

	f, err := os.Open(filepath.Join(cat, "products.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	const perCategory = 8
	taken := map[string]int{}
	hits := map[string]int{}
	var order []string
	var total, found int
	var elapsed time.Duration
	for _, r := range recs[1:] {
		id, category, file := r[0], r[2], r[4]
		want, ok := catalogGarmentClasses[category]
		if !ok || taken[category] == perCategory {
			continue
		}
		if taken[category] == 0 {
			order = append(order, category)
		}
		taken[category]++
		img := loadImage(t, filepath.Join(cat, file))
		start := time.Now()
		dets, err := det.Detect(ctx, img)
		elapsed += time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		assertInside(t, dets, img.Bounds())
		hit := slices.ContainsFunc(dets, func(d Detection) bool { return d.Score > 0.3 && slices.Contains(want, d.Label) })
		total++
		if hit {
			hits[category]++
			found++
		} else {
			var got []string
			for _, d := range dets {
				got = append(got, d.Label)
			}
			t.Logf("%s (%s): not found; detections %q", id, category, got)
		}
	}
	for _, c := range order {
		t.Logf("%-8s %d/%d", c, hits[c], taken[c])
	}
	t.Logf("overall %d/%d = %.0f %%, %.1f ms per photo", found, total, 100*float64(found)/float64(total), float64(elapsed.Milliseconds())/float64(total))
	for _, c := range []string{"Dress", "Skirt", "Trouser"} {
		if taken[c] == 0 {
			t.Fatalf("no %s in the sample", c)
		}
		if rate := float64(hits[c]) / float64(taken[c]); rate < 0.6 {
			t.Errorf("%s: found in %d/%d photos, want most", c, hits[c], taken[c])
		}
	}
	if rate := float64(found) / float64(total); rate < 0.7 {
		t.Errorf("overall %d/%d, want >= 70 %% (83 %% measured on 220 photos)", found, total)
	}
}
