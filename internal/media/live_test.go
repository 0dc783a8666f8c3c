package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// pacedReader hands out its bytes a chunk at a time, every interval, as a
// live source does, and counts the chunks read.
type pacedReader struct {
	b        []byte
	chunk    int
	interval time.Duration
	read     atomic.Int32
}

func (r *pacedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if r.read.Load() > 0 {
		time.Sleep(r.interval)
	}
	n := copy(p, r.b[:min(len(r.b), r.chunk)])
	r.b = r.b[n:]
	r.read.Add(1)
	return n, nil
}

// TestLiveFramesStartEarly feeds a 6 s MPEG-TS stream in real time, a
// quarter of a second at a time, and checks that the first frame comes
// out after about a second of it: ffmpeg's default 5 s probe made the
// first frames wait and then arrive all at once, for the analysis queue
// to drop.
func TestLiveFramesStartEarly(t *testing.T) {
	testenv.NeedFFmpeg(t)
	ts := filepath.Join(t.TempDir(), "clip.ts")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6", "-pix_fmt", "yuv420p",
		"-c:v", "libx264", "-g", "25", "-bf", "0", "-f", "mpegts", ts)
	b, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	quarters := 24
	r := &pacedReader{b: b, chunk: (len(b) + quarters - 1) / quarters, interval: 250 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first := int32(-1)
	n := 0
	err = Default.LiveFrames(ctx, LiveInput{Reader: r}, FrameOptions{MaxWidth: 160, MaxHeight: 160, FPS: 2}, func(f Frame) error {
		if first < 0 {
			first = r.read.Load()
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first of %d frames after %d of %d quarter seconds of input", n, first, quarters)
	if n < 11 {
		t.Errorf("%d frames, want 12", n)
	}
	if first > 8 {
		t.Errorf("the first frame waited for %d quarter seconds of input, want at most 8", first)
	}
}

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
		// firstPTS bounds the first frame's time: the source's clock, which
		// an MPEG-TS muxer starts at 1.4 s.
		firstPTS   [2]float64
		minElapsed time.Duration
		wantErr    bool
		wantKind   error // when set, the error wraps it
	}{
		{name: "file read in real time", in: func() LiveInput { return LiveInput{File: mp4} }, wantFrames: [2]int{4, 5}, firstPTS: [2]float64{0, 0.1}, minElapsed: 1500 * time.Millisecond},
		{name: "mpeg-ts from a reader", in: func() LiveInput { return LiveInput{Reader: bytes.NewReader(tsBytes)} }, wantFrames: [2]int{4, 5}, firstPTS: [2]float64{1.3, 1.5}},
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
			if pts[0] < tc.firstPTS[0] || pts[0] > tc.firstPTS[1] {
				t.Errorf("first frame at %.3f s, want the source's time, in %v", pts[0], tc.firstPTS)
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

// TestReceive reads network streams that a helper ffmpeg serves on
// loopback (RTMP from its listen mode, SRT as a listener) and copies them
// to MPEG-TS; a source that refuses the connection fails with an error
// that does not show the secrets of its URL.
func TestReceive(t *testing.T) {
	testenv.NeedFFmpegProtocols(t, "rtmp", "srt")
	dir := t.TempDir()
	mp4 := filepath.Join(dir, "clip.mp4")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=2", "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p", mp4)
	rtmpPort, srtPort, deadPort := testenv.FreePort(t, "tcp"), testenv.FreePort(t, "udp"), testenv.FreePort(t, "udp")
	redact := func(s string) string { return strings.ReplaceAll(s, "sekrit-key-42", "…") }
	tests := []struct {
		name    string
		serve   []string // the helper's output arguments (none: no server)
		in      NetInput
		wantErr bool
	}{
		{name: "rtmp", serve: []string{"-f", "flv", "-listen", "1", fmt.Sprintf("rtmp://127.0.0.1:%d/live/sekrit-key-42", rtmpPort)},
			in: NetInput{URL: fmt.Sprintf("rtmp://127.0.0.1:%d/live/sekrit-key-42", rtmpPort), Protocols: []string{"rtmp", "tcp"}, Options: []string{"-rw_timeout", "5000000"}}},
		{name: "srt", serve: []string{"-f", "mpegts", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&passphrase=sekrit-key-42", srtPort)},
			in: NetInput{URL: fmt.Sprintf("srt://127.0.0.1:%d?mode=caller&passphrase=sekrit-key-42&timeout=5000000&connect_timeout=1000", srtPort), Protocols: []string{"srt"}}},
		{name: "nobody listening", wantErr: true,
			in: NetInput{URL: fmt.Sprintf("srt://127.0.0.1:%d?mode=caller&passphrase=sekrit-key-42&timeout=1000000&connect_timeout=500", deadPort), Protocols: []string{"srt"}}},
		{name: "protocol not whitelisted", wantErr: true,
			in: NetInput{URL: fmt.Sprintf("srt://127.0.0.1:%d?passphrase=sekrit-key-42", deadPort), Protocols: []string{"rtmp", "tcp"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if tc.serve != nil {
				srv := exec.CommandContext(ctx, "ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-re", "-i", mp4, "-c", "copy"}, tc.serve...)...)
				if err := srv.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() { srv.Process.Kill(); srv.Wait() }()
			}
			tc.in.Redact = redact
			var out bytes.Buffer
			var err error
			// The helper may not listen yet: a refused connection is retried.
			for try := 0; try < 20; try++ {
				out.Reset()
				if err = Default.Receive(ctx, tc.in, &out); err == nil || tc.wantErr {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error, want one")
				}
				if strings.Contains(err.Error(), "sekrit") {
					t.Errorf("error shows the secret: %v", err)
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Len() < 188*10 || out.Bytes()[0] != 0x47 {
				t.Fatalf("%d bytes starting %x, want MPEG-TS", out.Len(), out.Bytes()[:min(4, out.Len())])
			}
			n := 0
			if err := Default.LiveFrames(ctx, LiveInput{Reader: &out}, FrameOptions{MaxWidth: 160, MaxHeight: 160, FPS: 2}, func(Frame) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if n < 3 {
				t.Errorf("%d frames decoded from the received stream, want about 4", n)
			}
		})
	}
}

// TestInputStart reads an input's start time from ffmpeg's description of
// it, which LiveFrames adds back to the timestamps.
func TestInputStart(t *testing.T) {
	for _, tc := range []struct {
		line string
		want float64
		ok   bool
	}{
		{"  Duration: N/A, start: 1.400000, bitrate: N/A", 1.4, true},
		{"  Duration: 00:00:02.00, start: 0.000000, bitrate: 42 kb/s", 0, true},
		{"  Duration: N/A, bitrate: N/A", 0, false},
		{"[Parsed_showinfo_1 @ 0x1] n:0 pts:3 pts_time:1.5 start: 9", 0, false},
		{"  Duration: N/A, start: nan, bitrate: N/A", 0, false},
	} {
		got, ok := inputStart(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("inputStart(%q) = %v, %v; want %v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
