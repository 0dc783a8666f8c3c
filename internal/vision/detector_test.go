package vision

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"math"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func assertInside(t *testing.T, dets []Detection, b image.Rectangle) {
	t.Helper()
	for _, d := range dets {
		bx := d.Box
		if bx.X0 < float32(b.Min.X) || bx.Y0 < float32(b.Min.Y) || bx.X1 > float32(b.Max.X) || bx.Y1 > float32(b.Max.Y) || bx.W() <= 0 || bx.H() <= 0 {
			t.Errorf("%s %.2f box %+v not inside %v", d.Label, d.Score, bx, b)
		}
		if d.Score <= 0 || d.Score > 1 {
			t.Errorf("%s score %v outside (0,1]", d.Label, d.Score)
		}
	}
}

func bestOf(dets []Detection, label string) (Detection, bool) {
	for _, d := range dets { // sorted best first
		if d.Label == label {
			return d, true
		}
	}
	return Detection{}, false
}

func TestDetectPersonInVideoFrame(t *testing.T) {
	ms := testModels(t)
	img := turntableFrame(t, "1")
	dets, err := ms.Detector.Detect(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	assertInside(t, dets, img.Bounds())
	t.Logf("frame %v: %+v", img.Bounds(), dets)
	p, ok := bestOf(dets, "person")
	if !ok || p.Score < 0.7 {
		t.Fatalf("want a person with score >= 0.7, got %+v", dets)
	}
	// The man stands in the middle of a square frame and fills most of its height.
	b := img.Bounds()
	if cx := (p.Box.X0 + p.Box.X1) / 2; math.Abs(float64(cx)-float64(b.Dx())/2) > float64(b.Dx())/4 {
		t.Errorf("person centre x %.0f far from the frame centre %d", cx, b.Dx()/2)
	}
	if p.Box.H() < float32(b.Dy())/2 {
		t.Errorf("person box %+v shorter than half the frame", p.Box)
	}
}

func TestDetectPersonInCatalogPhotos(t *testing.T) {
	ms := testModels(t)
	dir := filepath.Join(testenv.Samples(t), "catalog_virgio", "images")
	for _, id := range []string{"14976", "14977", "15130"} {
		t.Run(id, func(t *testing.T) {
			img := loadImage(t, filepath.Join(dir, id+".jpg"))
			dets, err := ms.Detector.Detect(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			assertInside(t, dets, img.Bounds())
			t.Logf("%s %v: %+v", id, img.Bounds(), dets)
			if p, ok := bestOf(dets, "person"); !ok || p.Score < 0.6 {
				t.Fatalf("on-model photo %s: want a person >= 0.6, got %+v", id, dets)
			}
		})
	}
}

func TestDetectBlankImagesFindNothing(t *testing.T) {
	ms := testModels(t)
	for _, tc := range []struct {
		name string
		c    color.Color
		w, h int
	}{
		{"white", color.White, 640, 480},
		{"black", color.Black, 416, 416},
		{"grey-portrait", color.Gray{128}, 300, 900},
		{"tiny", color.White, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewRGBA(image.Rect(0, 0, tc.w, tc.h))
			draw.Draw(img, img.Bounds(), image.NewUniform(tc.c), image.Point{}, draw.Src)
			dets, err := ms.Detector.Detect(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			if len(dets) != 0 {
				t.Fatalf("blank image: want no detections, got %+v", dets)
			}
		})
	}
}

func TestDetectBatchMatchesSingleAndSubImage(t *testing.T) {
	ms := testModels(t)
	frame := turntableFrame(t, "2")
	blank := image.NewRGBA(image.Rect(0, 0, 200, 100))
	ctx := context.Background()
	batch, err := ms.Detector.DetectBatch(ctx, []image.Image{frame, blank, frame})
	if err != nil {
		t.Fatal(err)
	}
	single, err := ms.Detector.Detect(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 3 || len(batch[1]) != 0 || len(batch[0]) != len(single) || len(batch[2]) != len(single) {
		t.Fatalf("batch %v vs single %v", batch, single)
	}
	for i := range single {
		if batch[0][i] != single[i] || batch[2][i] != single[i] {
			t.Errorf("detection %d: batch %+v single %+v", i, batch[0][i], single[i])
		}
	}

	// A sub-image keeps its parent's coordinates: detecting on the right
	// part of a wider canvas must give boxes offset by the canvas origin.
	wide := image.NewRGBA(image.Rect(0, 0, frame.Bounds().Dx()+300, frame.Bounds().Dy()))
	draw.Draw(wide, frame.Bounds().Add(image.Pt(300, 0)), frame, frame.Bounds().Min, draw.Src)
	sub := wide.SubImage(image.Rect(300, 0, wide.Bounds().Dx(), wide.Bounds().Dy()))
	got, err := ms.Detector.Detect(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	assertInside(t, got, sub.Bounds())
	if len(got) != len(single) {
		t.Fatalf("sub-image: %d detections, want %d", len(got), len(single))
	}
	for i := range got {
		if d := math.Abs(float64(got[i].Box.X0 - single[i].Box.X0 - 300)); d > 0.01 {
			t.Errorf("sub-image box %+v, want %+v shifted by 300", got[i].Box, single[i].Box)
		}
	}
}

func TestDetectCancelledContext(t *testing.T) {
	ms := testModels(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ms.Detector.Detect(ctx, image.NewRGBA(image.Rect(0, 0, 64, 64))); err == nil {
		t.Fatal("cancelled context: want an error")
	}
}

func TestDetectBadInput(t *testing.T) {
	ms := testModels(t)
	for _, img := range []image.Image{nil, image.NewRGBA(image.Rect(0, 0, 0, 10))} {
		if _, err := ms.Detector.Detect(context.Background(), img); err == nil {
			t.Errorf("image %v: want an error", img)
		}
	}
}

func TestDecodeYOLOX(t *testing.T) {
	// 32x32 input with strides 8,16,32 -> 16+4+1 = 21 anchors, 2 classes.
	const cols = 7
	rows := 21
	o := make([]float32, rows*cols)
	// Anchor at stride 16, cell (1,0) -> row 16 + 0*2 + 1 = 17.
	r := o[17*cols:]
	r[0], r[1] = 0.5, 0.25                 // centre (1.5*16, 0.25*16) = (24, 4)
	r[2], r[3] = float32(math.Log(0.5)), 0 // w = 8, h = 16
	r[4], r[5], r[6] = 0.9, 0.2, 0.8
	// A weak anchor below threshold.
	o[0*cols+4], o[0*cols+5] = 0.3, 0.5
	got, err := decodeYOLOX(o, rows, cols, 32, 32, []int{8, 16, 32}, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d detections, want 1: %+v", len(got), got)
	}
	d := got[0]
	want := Box{20, -4, 28, 12}
	if d.Class != 1 || math.Abs(float64(d.Score-0.72)) > 1e-6 || d.Box != want {
		t.Fatalf("got %+v, want class 1 score 0.72 box %+v", d, want)
	}
	if _, err := decodeYOLOX(o, 20, cols, 32, 32, []int{8, 16, 32}, 0.25); err == nil {
		t.Error("wrong row count: want an error")
	}
}

func TestDecodeYOLOv8(t *testing.T) {
	// [4+3 classes, 4 anchors], channels first.
	const n, chans = 4, 7
	o := make([]float32, n*chans)
	set := func(i int, cx, cy, w, h float32, scores ...float32) {
		o[i], o[n+i], o[2*n+i], o[3*n+i] = cx, cy, w, h
		for c, s := range scores {
			o[(4+c)*n+i] = s
		}
	}
	set(0, 100, 100, 50, 20, 0.1, 0.9, 0.2) // class 1
	set(1, 102, 101, 50, 20, 0.1, 0.6, 0.2) // duplicate of 0, suppressed by NMS
	set(2, 102, 101, 50, 20, 0.7, 0.1, 0.1) // same place, other class: kept
	set(3, 10, 10, 4, 4, 0.1, 0.1, 0.2)     // below threshold
	got, err := decodeYOLOv8(o, chans, n, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("decoded %d candidates, want 3: %+v", len(got), got)
	}
	if got[0].Box != (Box{75, 90, 125, 110}) || got[0].Class != 1 || got[0].Score != 0.9 {
		t.Errorf("first candidate %+v", got[0])
	}
	kept := NMS(got, 0.45, 0)
	if len(kept) != 2 || kept[0].Class != 1 || kept[1].Class != 0 {
		t.Fatalf("class-aware NMS kept %+v, want class 1 (0.9) then class 0 (0.7)", kept)
	}
	if _, err := decodeYOLOv8(o, 4, n, 0.3); err == nil {
		t.Error("no class channels: want an error")
	}
}

func TestNMS(t *testing.T) {
	a := Detection{Class: 0, Score: 0.9, Box: Box{0, 0, 10, 10}}
	b := Detection{Class: 0, Score: 0.8, Box: Box{1, 1, 11, 11}}   // IoU ~0.68 with a
	c := Detection{Class: 0, Score: 0.7, Box: Box{20, 20, 30, 30}} // disjoint
	d := Detection{Class: 1, Score: 0.6, Box: Box{0, 0, 10, 10}}   // other class
	for _, tc := range []struct {
		name string
		in   []Detection
		iou  float32
		maxN int
		want []Detection
	}{
		{"suppress overlap", []Detection{b, a, c}, 0.45, 0, []Detection{a, c}},
		{"loose threshold keeps", []Detection{a, b}, 0.9, 0, []Detection{a, b}},
		{"class aware", []Detection{d, a}, 0.45, 0, []Detection{a, d}},
		{"max", []Detection{a, c, d}, 0.45, 2, []Detection{a, c}},
		{"empty", nil, 0.45, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NMS(tc.in, tc.iou, tc.maxN)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

// TestDetectTrimmed checks the trimmed input (InputSpec.Trim): the sizes
// a frame runs at, and that a portrait reel frame and a landscape one give
// the detections of the whole 416x416 canvas: the same confident objects
// in the same places.
func TestDetectTrimmed(t *testing.T) {
	ms := testModels(t)
	d := ms.Detector
	if d.Spec().Input.Trim != 32 {
		t.Fatalf("shipped detector trim %d, want 32", d.Spec().Input.Trim)
	}
	for _, c := range []struct {
		w, h, inW, inH int
	}{
		{360, 640, 256, 416}, // 9:16 reel at the detect size: 234 columns filled
		{640, 360, 416, 256},
		{768, 576, 416, 320}, // 4:3: 312 rows filled
		{500, 500, 416, 416},
		{40, 2000, 32, 416}, // never narrower than one stride
	} {
		in := d.inputFor(image.Rect(0, 0, c.w, c.h))
		if in.Width != c.inW || in.Height != c.inH {
			t.Errorf("%dx%d runs at %dx%d, want %dx%d", c.w, c.h, in.Width, in.Height, c.inW, c.inH)
		}
	}
	spec := d.Spec()
	spec.Input.Trim = 0
	full, err := OpenDetector(ms.Manifest, spec, DetectorOptions{SessionOptions: SessionOptions{Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	ctx := context.Background()
	for _, f := range []struct{ video, sec string }{
		{"flickd_virgio_reel_2025-05-27.mp4", "3"},
		{"flickd_virgio_reel_2025-05-31.mp4", "8"},
		{"pets_pedestrians_vtest.mp4", "2"},
	} {
		img := videoFrame(t, testenv.SampleVideo(t, f.video), f.sec)
		trimmed, err := d.Detect(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := full.Detect(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		assertInside(t, trimmed, img.Bounds())
		matched := 0
		for _, w := range whole {
			if w.Score < 0.5 {
				continue
			}
			found := false
			for _, tr := range trimmed {
				if tr.Label == w.Label && tr.Box.IoU(w.Box) >= 0.8 && math.Abs(float64(tr.Score-w.Score)) < 0.15 {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s at %s s: %s %.2f %+v of the whole canvas not found trimmed: %+v", f.video, f.sec, w.Label, w.Score, w.Box, trimmed)
			}
			matched++
		}
		if matched == 0 {
			t.Errorf("%s at %s s: no confident detection to compare: %+v", f.video, f.sec, whole)
		}
	}
}
