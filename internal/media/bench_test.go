package media

import (
	"context"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// BenchmarkFrames measures the analysis stream and the second, selective
// pass at detector resolution on the 720p sample, as multiples of real time.
//
//	go test ./internal/media -run '^$' -bench . -benchtime 3x
func BenchmarkFrames(b *testing.B) {
	path := testenv.SampleVideo(b, "pyscenedetect_testvideo_fades.mp4")
	ctx := context.Background()
	info, err := Probe(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	// Two frames a second, as the sampler picks by default.
	var idx []int
	for i := 0; i < info.FrameCount; i += 15 {
		idx = append(idx, i)
	}
	cases := []struct {
		name string
		run  func() error
	}{
		{"stream-160px", func() error {
			return Frames(ctx, path, FrameOptions{MaxWidth: 160, MaxHeight: 160, Info: &info}, func(Frame) error { return nil })
		}},
		{"stream-640px", func() error {
			return Frames(ctx, path, FrameOptions{MaxWidth: 640, MaxHeight: 640, Info: &info}, func(Frame) error { return nil })
		}},
		{"extract-2fps-640px", func() error {
			return ExtractFrames(ctx, path, idx, FrameOptions{MaxWidth: 640, MaxHeight: 640, Info: &info}, func(Frame) error { return nil })
		}},
		{"thumbnail-320px", func() error {
			_, err := Thumbnail(ctx, path, 12.5, FrameOptions{MaxWidth: 320, MaxHeight: 320, Info: &info})
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(info.Duration*float64(b.N)/b.Elapsed().Seconds(), "x_realtime")
		})
	}
}
