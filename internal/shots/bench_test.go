package shots

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// BenchmarkDecodeAndDetect measures the low-resolution decode (ffmpeg over a
// pipe) plus shot detection on sample videos and reports the speed as a
// multiple of real time ("x_realtime") next to ns/op.
//
//	go test ./internal/shots -run '^$' -bench DecodeAndDetect -benchtime 3x
func BenchmarkDecodeAndDetect(b *testing.B) {
	dir := testenv.Samples(b, "videos")
	videos := []string{
		"pyscenedetect_testvideo_fades.mp4",      // 1280x720, 24 s
		"flickd_virgio_reel_2025-05-28.mp4",      // 720x1280, 19.5 s
		"pyscenedetect_bbc_multishot_people.mp4", // 704x576, 25 s
		"pets_pedestrians_vtest.mp4",             // 480x360, 79.5 s
	}
	variants := []struct {
		name string
		opts media.FrameOptions
	}{
		{"160px-area", media.FrameOptions{MaxWidth: 160, MaxHeight: 160}},
		{"160px-area-no-loop-filter", media.FrameOptions{MaxWidth: 160, MaxHeight: 160, SkipLoopFilter: true}},
		{"160px-fast_bilinear", media.FrameOptions{MaxWidth: 160, MaxHeight: 160, Scaler: "fast_bilinear"}},
		{"96px-area", media.FrameOptions{MaxWidth: 96, MaxHeight: 96}},
	}
	for _, v := range videos {
		path := filepath.Join(dir, "videos", v)
		if _, err := os.Stat(path); err != nil {
			b.Skipf("sample missing: %s", path)
		}
		info, err := media.Probe(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		for _, vr := range variants {
			b.Run(v+"/"+vr.name, func(b *testing.B) {
				opts := vr.opts
				opts.Info = &info
				for b.Loop() {
					d := NewDetector(Config{FPS: info.FPS})
					err := media.Frames(context.Background(), path, opts, func(f media.Frame) error { return d.Add(Frame(f)) })
					if err != nil {
						b.Fatal(err)
					}
					_ = d.Result()
				}
				b.ReportMetric(info.Duration*float64(b.N)/b.Elapsed().Seconds(), "x_realtime")
			})
		}
	}
}

// BenchmarkDetectorAdd measures the detector alone on 160x90 frames.
func BenchmarkDetectorAdd(b *testing.B) {
	tex := newTexture(3, 160, 90)
	frames := [][]byte{tex.render(0), tex.render(2), tex.render(4), newTexture(4, 160, 90).render(0)}
	d := NewDetector(Config{FPS: 25})
	i := 0
	for b.Loop() {
		if err := d.Add(Frame{Index: i, PTS: float64(i) / 25, Width: 160, Height: 90, Pix: frames[i%len(frames)]}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
