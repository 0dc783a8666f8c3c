package video

import (
	"context"
	"image"
	"image/draw"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// reelFrame is the frame at sec of a sample video, decoded at detect size
// (longer side 640) as the detect step sees it.
func reelFrame(t *testing.T, video, sec string) *image.RGBA {
	t.Helper()
	out := filepath.Join(t.TempDir(), "frame.png")
	testenv.FFmpeg(t, "-ss", sec, "-i", testenv.SampleVideo(t, video), "-frames:v", "1",
		"-vf", "scale=w=640:h=640:force_original_aspect_ratio=decrease", out)
	img, _, err := imageio.DecodeFile(out, imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	return rgba
}

// TestDetectedGarmentItems runs the detect step's frame analysis on fashion
// reel frames with and without the opt-in garment detector: with it, its
// boxes are added as garment items labelled with DeepFashion2 classes,
// each with a crop embedding and an appearance vector, and the rest is
// unchanged.
func TestDetectedGarmentItems(t *testing.T) {
	testenv.NeedFFmpeg(t)
	m := loadModels(t)
	dir := testenv.Models(t, "yolov5n_deepfashion2_416.onnx")
	man, err := vision.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := vision.OpenGarmentDetector(man, vision.DeepFashion2Detector, vision.DetectorOptions{SessionOptions: vision.SessionOptions{Threads: 1, Runs: DetectWorkers}})
	if err != nil {
		t.Fatal(err)
	}
	defer gd.Close()
	classes := gd.Classes()

	deps := Deps{Detector: m.vision.Detector, Embedder: m.vision.Embedder, Appearance: m.vision.Appearance, Garments: m.vision.Garments}
	without := &Service{cfg: Config{}.withDefaults(), deps: deps}
	deps.GarmentDetector = gd
	with := &Service{cfg: Config{}.withDefaults(), deps: deps}

	ctx := context.Background()
	frames := []struct {
		video, sec string
	}{
		{"flickd_virgio_reel_2025-05-27.mp4", "0.5"}, // sleeveless top, trousers
		{"flickd_virgio_reel_2025-05-31.mp4", "0.5"}, // one-shoulder top, skirt
		{"flickd_virgio_reel_2025-05-31.mp4", "5.5"},
		{"flickd_virgio_reel_2025-05-28.mp4", "5"}, // vest and midi skirt
	}
	var tWith, tWithout, tDetect time.Duration
	const reps = 2
	added := 0
	for _, f := range frames {
		img := reelFrame(t, f.video, f.sec)
		sf := sampledFrame{Frame: 1, T: 0.5}
		var r0, r1 []detRow
		for range reps {
			start := time.Now()
			if r0, err = without.detectFrame(ctx, img, sf); err != nil {
				t.Fatal(err)
			}
			tWithout += time.Since(start)
			start = time.Now()
			if r1, err = with.detectFrame(ctx, img, sf); err != nil {
				t.Fatal(err)
			}
			tWith += time.Since(start)
			start = time.Now()
			if _, err := gd.Detect(ctx, img); err != nil {
				t.Fatal(err)
			}
			tDetect += time.Since(start)
		}
		items, err := with.addDetectedGarments(ctx, img, nil)
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, it := range items {
			labels = append(labels, it.Label)
			if it.Source != SourceGarment || it.Person != -1 || len(it.Embedding) == 0 || !slices.Contains(classes, it.Label) {
				t.Errorf("%s@%s: item %+v", f.video, f.sec, it)
			}
			if want := detectedGarmentKind(it.Label); it.Kind != want {
				t.Errorf("%s: kind %s, want %s", it.Label, it.Kind, want)
			}
		}
		t.Logf("%s@%s %v: garment detector items %q", f.video, f.sec, img.Bounds(), labels)
		added += len(items)
		count := func(rows []detRow) (n int) {
			for _, r := range rows {
				if r.Source == SourceGarment {
					n++
				}
			}
			return n
		}
		if got := count(r1) - count(r0); got != len(items) {
			t.Errorf("%s@%s: %d garment rows with the detector, %d without; want %d more", f.video, f.sec, count(r1), count(r0), len(items))
		}
		for _, r := range r1 {
			if r.Source != SourceGarment || !slices.Contains(classes, r.Label) {
				continue
			}
			if len(r.Embedding) == 0 || len(r.Appearance) == 0 || r.Group != "garment:"+string(detectedGarmentKind(r.Label)) {
				t.Errorf("%s@%s: row %s group %s embedding %d appearance %d", f.video, f.sec, r.Label, r.Group, len(r.Embedding), len(r.Appearance))
			}
			for _, v := range r.Box {
				if v < 0 || v > 1 {
					t.Errorf("%s: box %v not normalised inside the frame", r.Label, r.Box)
				}
			}
		}
	}
	if added < len(frames) {
		t.Errorf("%d garment detector items on %d fashion frames, want at least one per frame", added, len(frames))
	}
	n := time.Duration(reps * len(frames))
	t.Logf("per frame (1 thread): detectFrame %v without, %v with the garment detector (+%v); the detector alone %v",
		(tWithout / n).Round(time.Millisecond), (tWith / n).Round(time.Millisecond), ((tWith - tWithout) / n).Round(time.Millisecond), (tDetect / n).Round(time.Millisecond))
}
