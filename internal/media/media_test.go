package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"image/jpeg"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestProbeSamples(t *testing.T) {
	testenv.NeedFFmpeg(t)
	tests := []struct {
		file           string
		w, h, dw, dh   int
		fps            float64
		frames         int
		audio, vfr     bool
		minDur, maxDur float64
		videoCodec     string
	}{
		{"pyscenedetect_testvideo_fades.mp4", 1280, 720, 1280, 720, 29.97, 720, false, false, 23.9, 24.1, "h264"},
		{"pyscenedetect_goldeneye_cuts.mp4", 1280, 544, 1280, 544, 23.976, 160, false, true, 9.9, 10.0, "h264"},
		{"pyscenedetect_bbc_multishot_people.mp4", 704, 576, 1024, 576, 25, 628, true, false, 25.0, 25.2, "h264"},
		{"flickd_virgio_reel_2025-05-27.mp4", 720, 1280, 720, 1280, 30, 450, true, false, 15.0, 15.2, "h264"},
		{"pyscenedetect_synthetic_fades.mp4", 480, 320, 480, 320, 25, 250, false, false, 9.9, 10.1, "mpeg4"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			info, err := Probe(context.Background(), testenv.SampleVideo(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if info.Width != tc.w || info.Height != tc.h || info.DisplayW != tc.dw || info.DisplayH != tc.dh {
				t.Errorf("size %dx%d display %dx%d, want %dx%d display %dx%d", info.Width, info.Height, info.DisplayW, info.DisplayH, tc.w, tc.h, tc.dw, tc.dh)
			}
			if math.Abs(info.FPS-tc.fps) > 0.01 {
				t.Errorf("fps %v, want %v", info.FPS, tc.fps)
			}
			if info.FrameCount != tc.frames || !info.FrameExact {
				t.Errorf("frames %d (exact %v), want %d", info.FrameCount, info.FrameExact, tc.frames)
			}
			if info.HasAudio != tc.audio || !info.HasVideo || info.VFR != tc.vfr {
				t.Errorf("audio %v video %v vfr %v, want audio %v vfr %v", info.HasAudio, info.HasVideo, info.VFR, tc.audio, tc.vfr)
			}
			if info.Duration < tc.minDur || info.Duration > tc.maxDur {
				t.Errorf("duration %v not in [%v,%v]", info.Duration, tc.minDur, tc.maxDur)
			}
			if info.VideoCodec != tc.videoCodec || info.Rotation != 0 || info.BitRate <= 0 || info.Size <= 0 {
				t.Errorf("codec %q rotation %d bitrate %d size %d", info.VideoCodec, info.Rotation, info.BitRate, info.Size)
			}
		})
	}
}

func TestParseProbeRatios(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"30000/1001", 29.97002997},
		{"16:11", 16.0 / 11},
		{"25", 25},
		{"0/0", 0},
		{"N/A", 0},
		{"", 0},
	}
	for _, tc := range tests {
		if got := parseRatio(tc.in); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("parseRatio(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "{", `{"streams":[]}`, `[1,2]`} {
		if _, err := parseProbe([]byte(bad)); err == nil {
			t.Errorf("parseProbe(%q) succeeded", bad)
		}
	}
}

// TestRotation encodes red|blue halves, tags the file as rotated and checks
// that probe and frames agree with how ffmpeg displays it.
func TestRotation(t *testing.T) {
	testenv.NeedFFmpeg(t)
	dir := t.TempDir()
	src, rot := filepath.Join(dir, "lr.mp4"), filepath.Join(dir, "lr_rot.mp4")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "color=c=red:size=160x120:rate=10:duration=1[a];color=c=blue:size=160x120:rate=10:duration=1[b];[a][b]hstack",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", src)
	testenv.FFmpeg(t, "-i", src, "-c", "copy", "-metadata:s:v:0", "rotate=90", rot)
	ctx := context.Background()
	info, err := Probe(ctx, rot)
	if err != nil {
		t.Fatal(err)
	}
	if info.Rotation != 270 || info.DisplayW != 120 || info.DisplayH != 320 {
		t.Fatalf("rotation %d display %dx%d, want 270 and 120x320", info.Rotation, info.DisplayW, info.DisplayH)
	}
	n := 0
	err = Frames(ctx, rot, FrameOptions{MaxWidth: 60, MaxHeight: 160, Info: &info}, func(f Frame) error {
		n++
		if f.Width != 60 || f.Height != 160 {
			t.Fatalf("frame %dx%d, want 60x160", f.Width, f.Height)
		}
		top := f.Pix[(5*f.Width+30)*3:]
		bottom := f.Pix[(155*f.Width+30)*3:]
		if !(top[2] > 200 && top[0] < 50) || !(bottom[0] > 200 && bottom[2] < 50) {
			t.Fatalf("frame %d: top %v bottom %v, want blue above red", f.Index, top[:3], bottom[:3])
		}
		return nil
	})
	if err != nil || n != 10 {
		t.Fatalf("frames: n=%d err=%v", n, err)
	}
}

func TestFramesTimestamps(t *testing.T) {
	testenv.NeedFFmpeg(t)
	tests := []struct {
		file   string
		frames int
		fps    float64 // 0: variable, check monotonic only
		last   float64
	}{
		{"pyscenedetect_testvideo_fades.mp4", 720, 30000.0 / 1001, 23.99},
		{"pyscenedetect_goldeneye_cuts.mp4", 160, 0, 9.93},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := testenv.SampleVideo(t, tc.file)
			var pts []float64
			err := Frames(context.Background(), path, FrameOptions{MaxWidth: 64}, func(f Frame) error {
				if f.Index != len(pts) || f.Width != 64 || len(f.Pix) != f.Width*f.Height*3 {
					t.Fatalf("frame %d: index %d size %dx%d pix %d", len(pts), f.Index, f.Width, f.Height, len(f.Pix))
				}
				pts = append(pts, f.PTS)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) != tc.frames {
				t.Fatalf("%d frames, want %d", len(pts), tc.frames)
			}
			for i := 1; i < len(pts); i++ {
				if pts[i] <= pts[i-1] {
					t.Fatalf("pts not increasing at %d: %v <= %v", i, pts[i], pts[i-1])
				}
				if tc.fps > 0 && math.Abs(pts[i]-float64(i)/tc.fps) > 0.002 {
					t.Fatalf("pts[%d] = %v, want %v", i, pts[i], float64(i)/tc.fps)
				}
			}
			if math.Abs(pts[len(pts)-1]-tc.last) > 0.05 {
				t.Errorf("last pts %v, want about %v", pts[len(pts)-1], tc.last)
			}
		})
	}
}

func TestFramesResampled(t *testing.T) {
	testenv.NeedFFmpeg(t)
	path := testenv.SampleVideo(t, "pyscenedetect_testvideo_fades.mp4")
	n := 0
	err := Frames(context.Background(), path, FrameOptions{MaxWidth: 32, FPS: 2}, func(f Frame) error {
		if math.Abs(f.PTS-float64(f.Index)/2) > 0.01 {
			t.Fatalf("frame %d pts %v, want %v", f.Index, f.PTS, float64(f.Index)/2)
		}
		n++
		return nil
	})
	if err != nil || n < 47 || n > 49 {
		t.Fatalf("n=%d err=%v, want 48 frames", n, err)
	}
}

// TestExtractMatchesStream checks that selected frames at a larger size are
// the same pictures as the frames of the full stream with those indices.
func TestExtractMatchesStream(t *testing.T) {
	testenv.NeedFFmpeg(t)
	path := testenv.SampleVideo(t, "pyscenedetect_goldeneye_cuts.mp4")
	ctx := context.Background()
	opts := FrameOptions{MaxWidth: 320}
	want := map[int]Frame{}
	idx := []int{150, 3, 90, 91, 92, 3, 159}
	sel := map[int]bool{}
	for _, i := range idx {
		sel[i] = true
	}
	if err := Frames(ctx, path, opts, func(f Frame) error {
		if sel[f.Index] {
			want[f.Index] = f.Clone()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []int
	err := ExtractFrames(ctx, path, idx, opts, func(f Frame) error {
		w, ok := want[f.Index]
		if !ok {
			t.Fatalf("unexpected frame %d", f.Index)
		}
		if !bytes.Equal(w.Pix, f.Pix) || math.Abs(w.PTS-f.PTS) > 1e-4 {
			t.Errorf("frame %d differs from the stream (pts %v vs %v)", f.Index, f.PTS, w.PTS)
		}
		got = append(got, f.Index)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || got[0] != 3 || got[5] != 159 {
		t.Fatalf("got frames %v, want [3 90 91 92 150 159]", got)
	}
	if err := ExtractFrames(ctx, path, []int{-1}, opts, func(Frame) error { return nil }); err == nil {
		t.Error("negative index accepted")
	}
}

// TestExtractManyFrames asks for more frames than fit a select expression,
// which takes the decode-everything path, and for frames past the end.
func TestExtractManyFrames(t *testing.T) {
	testenv.NeedFFmpeg(t)
	path := testenv.SampleVideo(t, "pyscenedetect_testvideo_fades.mp4")
	idx := make([]int, max(maxSelectTerms+1, 400))
	for i := range idx {
		idx[i] = 2 * i // every other frame, far past the 720 frames of the file
	}
	var got []int
	err := ExtractFrames(context.Background(), path, idx, FrameOptions{MaxWidth: 32}, func(f Frame) error {
		got = append(got, f.Index)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 360 || got[0] != 0 || got[359] != 718 {
		t.Fatalf("got %d frames (%v…), want 360 even frames", len(got), got[:min(5, len(got))])
	}
}

// TestExtractManySelected selects hundreds of scattered frames through one
// select expression (a flat sum of that size makes ffmpeg's parser fail).
func TestExtractManySelected(t *testing.T) {
	testenv.NeedFFmpeg(t)
	path := testenv.SampleVideo(t, "pyscenedetect_testvideo_fades.mp4")
	var idx []int
	for i := 0; i < 720; i += 3 {
		idx = append(idx, i)
	}
	if len(idx) > maxSelectTerms {
		t.Fatalf("%d indices would not use select", len(idx))
	}
	n := 0
	err := ExtractFrames(context.Background(), path, idx, FrameOptions{MaxWidth: 32}, func(f Frame) error {
		if f.Index != idx[n] || math.Abs(f.PTS-float64(f.Index)*1001/30000) > 0.002 {
			t.Fatalf("frame %d: index %d pts %v, want index %d", n, f.Index, f.PTS, idx[n])
		}
		n++
		return nil
	})
	if err != nil || n != len(idx) {
		t.Fatalf("n=%d of %d, err=%v", n, len(idx), err)
	}
}

func TestSelectExpr(t *testing.T) {
	got := selectExpr([]int{1, 2, 3, 7, 9, 10})
	want := `(between(n\,1\,3)+(eq(n\,7)+between(n\,9\,10)))`
	if got != want {
		t.Errorf("selectExpr = %s, want %s", got, want)
	}
}

func TestThumbnailJPEG(t *testing.T) {
	testenv.NeedFFmpeg(t)
	path := testenv.SampleVideo(t, "pyscenedetect_testvideo_fades.mp4")
	ctx := context.Background()
	opts := FrameOptions{MaxWidth: 320, MaxHeight: 320}
	var ref Frame
	target := 100 // 100/29.97 = 3.3367 s
	if err := Frames(ctx, path, opts, func(f Frame) error {
		if f.Index == target {
			ref = f.Clone()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	th, err := Thumbnail(ctx, path, ref.PTS, opts)
	if err != nil {
		t.Fatal(err)
	}
	if th.Width != 320 || th.Height != 180 || !bytes.Equal(th.Pix, ref.Pix) {
		t.Fatalf("thumbnail %dx%d does not equal frame %d", th.Width, th.Height, target)
	}
	var buf bytes.Buffer
	if err := EncodeJPEG(&buf, th, 80); err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
		t.Fatalf("jpeg decode: %v %v", err, img.Bounds())
	}
	if _, err := Thumbnail(ctx, path, 99, opts); err == nil {
		t.Error("thumbnail past the end succeeded")
	}
	if err := EncodeJPEG(&buf, Frame{Width: 4, Height: 4}, 0); err == nil {
		t.Error("encoding an empty frame succeeded")
	}
}

func TestBadInputs(t *testing.T) {
	testenv.NeedFFmpeg(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	testvideo := testenv.SampleVideo(t, "pyscenedetect_testvideo_fades.mp4") // index at the end
	reel := testenv.SampleVideo(t, "flickd_virgio_reel_2025-05-28.mp4")      // index at the start
	head := func(src string, n int) []byte {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		return b[:n]
	}
	audio := filepath.Join(dir, "audio_only.mp4")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", audio)

	tests := []struct {
		name      string
		path      string
		probeErr  error // nil: probe succeeds
		framesErr error
	}{
		{"empty", write("empty.mp4", nil), ErrInvalidMedia, ErrInvalidMedia},
		{"random bytes", write("random.mp4", random), ErrInvalidMedia, ErrInvalidMedia},
		{"text", write("notes.mp4", []byte("this is not a video\n")), ErrInvalidMedia, ErrInvalidMedia},
		{"truncated, index at end", write("trunc_end.mp4", head(testvideo, 1_000_000)), ErrInvalidMedia, ErrInvalidMedia},
		{"truncated, index at start", write("trunc_start.mp4", head(reel, 1_000_000)), nil, ErrTruncated},
		{"audio only", audio, ErrNoVideoStream, ErrNoVideoStream},
		{"huge dimensions", write("huge.mp4", []byte("YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\nabc")), ErrTooLarge, ErrTooLarge},
		{"invalid dimensions", write("invalid.y4m", []byte("YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\nabc")), ErrTooLarge, ErrTooLarge},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Probe(ctx, tc.path)
			if tc.probeErr == nil && err != nil || tc.probeErr != nil && !errors.Is(err, tc.probeErr) {
				t.Errorf("Probe error %v, want %v", err, tc.probeErr)
			}
			if err != nil && !IsBadInput(err) {
				t.Errorf("IsBadInput(%v) = false", err)
			}
			n := 0
			err = Frames(ctx, tc.path, FrameOptions{}, func(Frame) error { n++; return nil })
			if !errors.Is(err, tc.framesErr) {
				t.Errorf("Frames error %v, want %v", err, tc.framesErr)
			}
			t.Logf("frames=%d err=%v", n, err)
		})
	}
	t.Run("playlist pointing at the network", func(t *testing.T) {
		p := write("playlist.mp4", []byte("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n"))
		if _, err := Probe(ctx, p); !errors.Is(err, ErrInvalidMedia) {
			t.Errorf("Probe error %v, want ErrInvalidMedia", err)
		}
	})
	t.Run("odd file name", func(t *testing.T) {
		b, err := os.ReadFile(testenv.SampleVideo(t, "videoavatars_person_turntable.mp4"))
		if err != nil {
			t.Fatal(err)
		}
		p := write("-odd:name.mp4", b)
		info, err := Probe(ctx, p)
		if err != nil || info.Width != 630 {
			t.Fatalf("Probe: %v %+v", err, info)
		}
		n := 0
		if err := Frames(ctx, p, FrameOptions{MaxWidth: 32, Info: &info}, func(Frame) error { n++; return nil }); err != nil || n != 247 {
			t.Errorf("Frames: n=%d err=%v", n, err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := Probe(ctx, filepath.Join(dir, "nope.mp4")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Probe error %v, want not exist", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if _, err := Probe(ctx, dir); !errors.Is(err, ErrInvalidMedia) {
			t.Errorf("Probe error %v, want ErrInvalidMedia", err)
		}
	})
}

// TestDamagedData flips bytes inside a sample: light damage is concealed
// and every frame still arrives; heavy damage fails with ErrTruncated.
func TestDamagedData(t *testing.T) {
	testenv.NeedFFmpeg(t)
	src, err := os.ReadFile(testenv.SampleVideo(t, "flickd_virgio_reel_2025-05-28.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		flips   int
		wantErr error
	}{
		{"light", 200, nil},
		{"heavy", 20000, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), src...)
			r := mrand.New(mrand.NewPCG(uint64(tc.flips), 1))
			for range tc.flips {
				b[100000+r.IntN(len(b)-100000)] = byte(r.IntN(256))
			}
			p := filepath.Join(t.TempDir(), "damaged.mp4")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			n := 0
			err := Frames(context.Background(), p, FrameOptions{MaxWidth: 64}, func(Frame) error { n++; return nil })
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && n != 581) {
				t.Fatalf("frames=%d err=%v, want err %v", n, err, tc.wantErr)
			}
		})
	}
}

func TestStopAndTimeout(t *testing.T) {
	testenv.NeedFFmpeg(t)
	path := testenv.SampleVideo(t, "pyscenedetect_testvideo_fades.mp4")
	stop := errors.New("enough")
	n := 0
	err := Frames(context.Background(), path, FrameOptions{}, func(Frame) error {
		n++
		if n == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Errorf("callback stop: n=%d err=%v", n, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = Frames(ctx, path, FrameOptions{}, func(Frame) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: n=%d err=%v, want context.Canceled", n, err)
	}

	slow := &Tool{Timeout: 50 * time.Millisecond}
	err = slow.Frames(context.Background(), path, FrameOptions{MaxWidth: 1280}, func(Frame) error {
		time.Sleep(5 * time.Millisecond)
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: err=%v, want deadline exceeded", err)
	}

	tiny := &Tool{MaxPixels: 1000}
	if _, err := tiny.Probe(context.Background(), path); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPixels: err=%v, want ErrTooLarge", err)
	}
}

// TestMemoryLimit sets an address-space limit too small for ffmpeg to load
// its libraries: the run must fail with an error, which shows the limit
// reaches the child process.
func TestMemoryLimit(t *testing.T) {
	testenv.NeedFFmpeg(t)
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit not installed: limits are not enforced")
	}
	path := testenv.SampleVideo(t, "pyscenedetect_testvideo_fades.mp4")
	tool := &Tool{MaxMemory: 64 << 20}
	err := tool.Frames(context.Background(), path, FrameOptions{MaxWidth: 1280}, func(Frame) error { return nil })
	if err == nil {
		t.Fatal("run under a 64 MiB limit succeeded")
	}
	t.Logf("error: %v", err)
}

func TestSolidColor(t *testing.T) {
	testenv.NeedFFmpeg(t)
	p := filepath.Join(t.TempDir(), "green.mp4")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "color=c=0x20C040:size=128x72:rate=25:duration=0.4", "-c:v", "libx264", "-pix_fmt", "yuv444p", "-qp", "0", p)
	n := 0
	err := Frames(context.Background(), p, FrameOptions{MaxWidth: 64}, func(f Frame) error {
		n++
		for i := 0; i < len(f.Pix); i += 3 {
			r, g, b := int(f.Pix[i]), int(f.Pix[i+1]), int(f.Pix[i+2])
			if abs(r-0x20) > 6 || abs(g-0xC0) > 6 || abs(b-0x40) > 6 {
				t.Fatalf("frame %d pixel %d = %d,%d,%d, want about 32,192,64", f.Index, i/3, r, g, b)
			}
		}
		return nil
	})
	if err != nil || n != 10 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
