package media

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestLiveFrames decodes live inputs at 2 frames per second: a file read
// in real time (it takes about its duration), an MPEG-TS stream from a
// reader, and bytes that are no stream at all.
func TestLiveFrames(t *testing.T) {
	testenv.NeedFFmpeg(t)
	dir := t.TempDir()
	mp4 := filepath.Join(dir, "clip.mp4")
	ts := filepath.Join(dir, "clip.ts")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2", "-pix_fmt", "yuv420p", mp4)
	testenv.FFmpeg(t, "-i", mp4, "-c", "copy", "-f", "mpegts", ts)
	tsBytes, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		in         func() LiveInput
		wantFrames [2]int // inclusive range
		minElapsed time.Duration
		wantErr    bool
		wantKind   error // when set, the error wraps it
	}{
		{name: "file read in real time", in: func() LiveInput { return LiveInput{File: mp4} }, wantFrames: [2]int{4, 5}, minElapsed: 1500 * time.Millisecond},
		{name: "mpeg-ts from a reader", in: func() LiveInput { return LiveInput{Reader: bytes.NewReader(tsBytes)} }, wantFrames: [2]int{4, 5}},
		{name: "not a stream", in: func() LiveInput { return LiveInput{Reader: bytes.NewReader(bytes.Repeat([]byte("junk"), 4096))} }, wantErr: true, wantKind: ErrInvalidMedia},
		{name: "no input", in: func() LiveInput { return LiveInput{} }, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var pts []float64
			start := time.Now()
			err := Default.LiveFrames(ctx, tc.in(), FrameOptions{MaxWidth: 160, MaxHeight: 160, FPS: 2}, func(f Frame) error {
				if f.Width != 160 || f.Height != 90 || len(f.Pix) != 160*90*3 {
					t.Fatalf("frame %d is %dx%d with %d bytes, want 160x90", f.Index, f.Width, f.Height, len(f.Pix))
				}
				pts = append(pts, f.PTS)
				return nil
			})
			elapsed := time.Since(start)
			if tc.wantErr {
				if err == nil || tc.wantKind != nil && !errors.Is(err, tc.wantKind) {
					t.Fatalf("err = %v, want an error (%v)", err, tc.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) < tc.wantFrames[0] || len(pts) > tc.wantFrames[1] {
				t.Fatalf("%d frames (pts %v), want %v", len(pts), pts, tc.wantFrames)
			}
			for i := 1; i < len(pts); i++ {
				if d := pts[i] - pts[i-1]; d < 0.4 || d > 0.6 {
					t.Errorf("frames %d and %d are %.3f s apart, want 0.5", i-1, i, d)
				}
			}
			if elapsed < tc.minElapsed {
				t.Errorf("took %v, want at least %v (real time)", elapsed, tc.minElapsed)
			}
		})
	}
}
