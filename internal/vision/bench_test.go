package vision

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// benchModels opens a model set per intra-op thread count.
func benchModels(b *testing.B, threads int) *Models {
	b.Helper()
	ms, err := Open(context.Background(), Options{ModelsDir: testenv.Models(b), Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ms.Close() })
	return ms
}

func benchCrops(b *testing.B, n int) []image.Image {
	b.Helper()
	dir := filepath.Join(testenv.Samples(b), "catalog", "images")
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var out []image.Image
	for _, e := range ents[:n] {
		out = append(out, loadImage(b, filepath.Join(dir, e.Name())))
	}
	return out
}

// BenchmarkDetector reports ms per image for a 630x630 video frame.
func BenchmarkDetector(b *testing.B) {
	frame := turntableFrame(b, "1")
	for _, threads := range []int{1, 2} {
		ms := benchModels(b, threads)
		for _, batch := range []int{1, 8} {
			imgs := make([]image.Image, batch)
			for i := range imgs {
				imgs[i] = frame
			}
			b.Run(fmt.Sprintf("threads=%d/batch=%d", threads, batch), func(b *testing.B) {
				ctx := context.Background()
				if _, err := ms.Detector.DetectBatch(ctx, imgs); err != nil { // warm-up
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := ms.Detector.DetectBatch(ctx, imgs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*batch), "ms/image")
			})
		}
	}
}

// BenchmarkDetectorTrim reports ms per frame of a 9:16 reel frame run
// trimmed to 416x256 (the shipped input.trim) and on the whole 416x416
// canvas, one thread.
func BenchmarkDetectorTrim(b *testing.B) {
	frame := videoFrame(b, testenv.SampleVideo(b, "flickd_virgio_reel_2025-05-27.mp4"), "3")
	ms := benchModels(b, 1)
	canvas := ms.Detector.Spec()
	canvas.Input.Trim = 0
	whole, err := OpenDetector(ms.Manifest, canvas, DetectorOptions{SessionOptions: SessionOptions{Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { whole.Close() })
	for _, c := range []struct {
		name string
		d    *Detector
	}{{"trimmed", ms.Detector}, {"whole-canvas", whole}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := c.d.Detect(ctx, frame); err != nil { // warm-up
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := c.d.Detect(ctx, frame); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
}

// BenchmarkDetectorConcurrent feeds the detector from two goroutines, as the
// video detect step does, and reports ms per image of throughput: intra-op
// threads against concurrent runs of a session.
func BenchmarkDetectorConcurrent(b *testing.B) {
	frame := turntableFrame(b, "1")
	for _, c := range []struct{ threads, runs int }{{2, 1}, {1, 2}, {2, 2}} {
		ms, err := Open(context.Background(), Options{ModelsDir: testenv.Models(b), Threads: c.threads, Runs: c.runs})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ms.Close() })
		b.Run(fmt.Sprintf("threads=%d/runs=%d", c.threads, c.runs), func(b *testing.B) {
			ctx := context.Background()
			if _, err := ms.Detector.Detect(ctx, frame); err != nil { // warm-up
				b.Fatal(err)
			}
			b.SetParallelism(1) // GOMAXPROCS goroutines: 2 on this machine
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ms.Detector.Detect(ctx, frame); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
		})
	}
}

// BenchmarkEmbedder reports ms per crop for the product embedder and the
// appearance model.
func BenchmarkEmbedder(b *testing.B) {
	crops := benchCrops(b, 8)
	for _, threads := range []int{1, 2} {
		ms := benchModels(b, threads)
		for _, model := range []struct {
			name string
			e    *ImageEmbedder
		}{{"mobilenetv2", ms.Embedder}, {"osnet", ms.Appearance}} {
			for _, batch := range []int{1, 8} {
				b.Run(fmt.Sprintf("%s/threads=%d/batch=%d", model.name, threads, batch), func(b *testing.B) {
					ctx := context.Background()
					if _, err := model.e.EmbedImages(ctx, crops[:batch]); err != nil { // warm-up
						b.Fatal(err)
					}
					for b.Loop() {
						if _, err := model.e.EmbedImages(ctx, crops[:batch]); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*batch), "ms/crop")
				})
			}
		}
	}
}

// TestConcurrentCallers shares one detector and embedder between goroutines;
// every caller must get the single-threaded answer.
func TestConcurrentCallers(t *testing.T) {
	ms := testModels(t)
	ctx := context.Background()
	frame := turntableFrame(t, "1")
	crops := []image.Image{loadImage(t, filepath.Join(testenv.Samples(t), "catalog", "images", "16331.jpg"))}
	wantDet, err := ms.Detector.Detect(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	wantEmb, err := ms.Embedder.EmbedImages(ctx, crops)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				d, err := ms.Detector.Detect(ctx, frame)
				if err != nil || len(d) != len(wantDet) || d[0] != wantDet[0] {
					errs <- fmt.Errorf("detect: %v %+v", err, d)
					return
				}
				e, err := ms.Embedder.EmbedImages(ctx, crops)
				if err != nil || Cosine(e[0], wantEmb[0]) < 0.9999 {
					errs <- fmt.Errorf("embed: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkPreprocess measures the Go side of detection and embedding:
// resizing and tensor layout of one 630x630 frame.
func BenchmarkPreprocess(b *testing.B) {
	frame := turntableFrame(b, "1")
	m := DefaultManifest()
	for _, role := range []Role{RoleDetector, RoleImageEmbedder} {
		s, _ := m.First(role)
		buf := make([]float32, 3*s.Input.Width*s.Input.Height)
		b.Run(s.Name, func(b *testing.B) {
			for b.Loop() {
				if _, err := preprocess(frame, s.Input, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPreprocessCrop measures the preprocessing of one garment-sized
// crop of a video frame for the embedder, the path every analysed region
// takes.
func BenchmarkPreprocessCrop(b *testing.B) {
	frame := turntableFrame(b, "1")
	rgba, ok := frame.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(frame.Bounds())
		draw.Draw(rgba, rgba.Bounds(), frame, frame.Bounds().Min, draw.Src)
	}
	crop := rgba.SubImage(image.Rect(200, 150, 380, 420))
	s, _ := DefaultManifest().First(RoleImageEmbedder)
	buf := make([]float32, 3*s.Input.Width*s.Input.Height)
	for b.Loop() {
		if _, err := preprocess(crop, s.Input, buf); err != nil {
			b.Fatal(err)
		}
	}
}
