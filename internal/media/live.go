package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// LiveInput is a live source for LiveFrames: exactly one of Reader (an
// MPEG-TS byte stream, such as an HLS stream's segments fetched in order,
// piped to ffmpeg's stdin) and File (a local file read at its native frame
// rate, as if it were broadcast: ffmpeg -re).
type LiveInput struct {
	Reader io.Reader
	File   string
}

// How much of a piped stream ffmpeg reads to learn its streams before it
// decodes: by default about 5 s, whose frames then came out at once, and
// the analysis queue kept the newest two of them (a fifth of each 25 s
// bench stream dropped, every product of its first seconds missed). Half
// a second holds a keyframe of any stream a broadcaster segments for HLS.
const (
	liveProbeBytes  = "262144"
	liveProbeMicros = "500000"
)

// LiveFrames decodes a live source at opts.FPS frames per second (2 when
// unset), scaled to fit opts.MaxWidth x opts.MaxHeight, and calls fn with
// each frame as ffmpeg produces it; PTS is the frame's time in the
// source's own clock (an MPEG-TS stream's PTS in seconds, nothing
// subtracted), which a viewer's player of the same stream shares. Frames
// travel as PPM images over a pipe, each with its own size, so the stream
// needs no probe before the first frame. It returns when the source ends
// (nil), ctx ends or fn fails. fn must return quickly: ffmpeg waits while
// it runs (see internal/live for the drop policy of a slow analysis).
func (t *Tool) LiveFrames(ctx context.Context, in LiveInput, opts FrameOptions, fn FrameFunc) error {
	if (in.Reader == nil) == (in.File == "") {
		return errors.New("media: live: give exactly one of Reader and File")
	}
	if err := t.lookPath(t.ffmpeg()); err != nil {
		return fmt.Errorf("media: live: %w", err)
	}
	fps := opts.FPS
	if fps <= 0 {
		fps = 2
	}
	bw, bh := opts.MaxWidth, opts.MaxHeight
	if bw <= 0 && bh <= 0 {
		bw, bh = 160, 160
	}
	threads := strconv.Itoa(t.threads())
	args := []string{"-hide_banner", "-nostats", "-nostdin", "-loglevel", "info", "-threads", threads}
	op := "live"
	if in.File != "" {
		ia, err := inputArgs(in.File)
		if err != nil {
			return fmt.Errorf("media: live: %w", err)
		}
		args = append(args, "-re")
		args = append(args, ia...)
		op = "live " + in.File
	} else {
		// Only the pipe: nothing in the stream can make ffmpeg open a file
		// or a URL.
		args = append(args, "-protocol_whitelist", "pipe", "-probesize", liveProbeBytes, "-analyzeduration", liveProbeMicros, "-f", "mpegts", "-i", "pipe:0")
	}
	scale := fmt.Sprintf("scale=w='min(iw,%d)':h='min(ih,%d)':force_original_aspect_ratio=decrease:flags=area", max(bw, 1), max(bh, 1))
	if bw <= 0 {
		scale = fmt.Sprintf("scale=-2:'min(ih,%d)':flags=area", bh)
	} else if bh <= 0 {
		scale = fmt.Sprintf("scale='min(iw,%d)':-2:flags=area", bw)
	}
	vf := "fps=" + strconv.FormatFloat(fps, 'f', -1, 64) + "," + scale + ",format=rgb24,showinfo"
	args = append(args, "-map", "0:v:0", "-an", "-sn", "-dn", "-filter_threads", threads, "-vf", vf,
		"-fps_mode", "passthrough", "-f", "image2pipe", "-c:v", "ppm", "pipe:1")
	// A live run lasts as long as the longest video allowed.
	timeout := t.maxDuration()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := t.command(ctx, timeout, t.ffmpeg(), args...)
	if in.Reader != nil {
		cmd.Stdin = in.Reader
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("media: %s: %w", op, err)
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("media: %s: %w", op, err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("media: %s: start ffmpeg: %w", op, err)
	}
	ptsq := newPTSQueue()
	tail := &tailBuffer{n: 8192}
	go ptsq.readStderr(stderrPipe, tail)
	rd := bufio.NewReaderSize(stdout, 256<<10)
	var buf []byte
	k := 0
	first := 0.0 // the first frame's source time
	var fnErr error
	for {
		w, h, err := readPPMHeader(rd)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fnErr = fmt.Errorf("media: %s: frame %d: %w", op, k, err)
			}
			break
		}
		if int64(w)*int64(h) > t.maxPixels() {
			fnErr = fmt.Errorf("media: %s: %w: frame %dx%d", op, ErrTooLarge, w, h)
			break
		}
		if n := w * h * 3; cap(buf) < n {
			buf = make([]byte, n)
		} else {
			buf = buf[:n]
		}
		if _, err := io.ReadFull(rd, buf); err != nil {
			break // ffmpeg ended mid-frame: its status says why
		}
		// ffmpeg subtracts the input's start time from every timestamp;
		// added back, it is the source's clock, which players of the same
		// stream show its frames by. (Keeping the timestamps with -copyts
		// instead delayed frames: vitrine's part of the bench streams'
		// delivery went 0.57 -> 0.95 s, p50.)
		pts, ok := ptsq.get(k)
		if ok {
			pts += ptsq.startTime()
		} else {
			pts = first + float64(k)/fps
		}
		if k == 0 {
			first = pts
		}
		if err := fn(Frame{Index: k, PTS: pts, Width: w, Height: h, Pix: buf}); err != nil {
			fnErr = err
			break
		}
		k++
	}
	if fnErr != nil {
		cancel()
		_ = cmd.Wait()
		return fnErr
	}
	_, _ = io.Copy(io.Discard, rd)
	ptsq.wait()
	waitErr := cmd.Wait()
	t.logger().DebugContext(ctx, "media: live ffmpeg done", "op", op, "frames", k, "elapsed", time.Since(start).Round(time.Millisecond))
	if waitErr != nil {
		return runError(ctx, op, waitErr, tail.String())
	}
	if k == 0 {
		return fmt.Errorf("media: %s: %w: no frames decoded: %s", op, ErrInvalidMedia, summarize(tail.String()))
	}
	return nil
}

// readPPMHeader reads a binary PPM (P6) header with a maximum value of 255
// and returns the image size.
func readPPMHeader(r *bufio.Reader) (w, h int, err error) {
	var vals [4]int
	magic := make([]byte, 2)
	if _, err := io.ReadFull(r, magic); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, 0, io.EOF
		}
		return 0, 0, err
	}
	if string(magic) != "P6" {
		return 0, 0, fmt.Errorf("not a PPM frame (%q)", magic)
	}
	for i := 1; i < 4; i++ {
		n, err := readPPMInt(r)
		if err != nil {
			return 0, 0, err
		}
		vals[i] = n
	}
	// Exactly one whitespace byte separates the header from the pixels.
	if _, err := r.ReadByte(); err != nil {
		return 0, 0, err
	}
	if vals[3] != 255 || vals[1] <= 0 || vals[2] <= 0 {
		return 0, 0, fmt.Errorf("unsupported PPM frame %dx%d max %d", vals[1], vals[2], vals[3])
	}
	return vals[1], vals[2], nil
}

func readPPMInt(r *bufio.Reader) (int, error) {
	n, digits := 0, 0
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch {
		case c >= '0' && c <= '9':
			if digits > 6 {
				return 0, errors.New("PPM header number too long")
			}
			n = n*10 + int(c-'0')
			digits++
		case c == '#' && digits == 0:
			if _, err := r.ReadString('\n'); err != nil {
				return 0, err
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if digits > 0 {
				return n, r.UnreadByte()
			}
		default:
			return 0, fmt.Errorf("bad byte %q in PPM header", c)
		}
	}
}

// NetInput is a network stream that ffmpeg opens itself for Receive (an
// RTMP or SRT URL). The caller has checked the address it connects to.
type NetInput struct {
	// URL is what ffmpeg opens.
	URL string
	// Protocols is ffmpeg's protocol whitelist for the input, such as
	// {"rtmp", "tcp"}: nothing else can be opened.
	Protocols []string
	// Options are input options placed before -i, such as read timeouts.
	Options []string
	// TSOffset is added to the output timestamps, so that the sessions of
	// a source that reconnects continue one timeline.
	TSOffset time.Duration
	// Redact, when set, removes secrets (stream keys, passphrases) from
	// ffmpeg's messages before they go into an error.
	Redact func(string) string
}

// Receive reads a network stream and writes its video and first audio
// stream to w as MPEG-TS, copied without decoding (as an HLS stream's
// segments would come), until the source ends (nil), ctx ends or ffmpeg
// fails. ffmpeg's stderr never carries the URL into the error unredacted.
func (t *Tool) Receive(ctx context.Context, in NetInput, w io.Writer) error {
	if in.URL == "" || len(in.Protocols) == 0 {
		return errors.New("media: receive: URL and Protocols are required")
	}
	if err := t.lookPath(t.ffmpeg()); err != nil {
		return fmt.Errorf("media: receive: %w", err)
	}
	const op = "receive"
	args := []string{"-hide_banner", "-nostats", "-nostdin", "-loglevel", "warning", "-protocol_whitelist", strings.Join(in.Protocols, ",")}
	args = append(args, in.Options...)
	args = append(args, "-i", in.URL, "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-dn", "-sn")
	if in.TSOffset > 0 {
		args = append(args, "-output_ts_offset", strconv.FormatFloat(in.TSOffset.Seconds(), 'f', 3, 64))
	}
	args = append(args, "-f", "mpegts", "pipe:1")
	timeout := t.maxDuration()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := t.command(rctx, timeout, t.ffmpeg(), args...)
	tail := &tailBuffer{n: 8192}
	cmd.Stderr = tail
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("media: %s: %w", op, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("media: %s: start ffmpeg: %w", op, err)
	}
	_, copyErr := io.Copy(w, stdout)
	if copyErr != nil {
		// The writer failed (or the pipe broke): stop ffmpeg.
		cancel()
	}
	waitErr := cmd.Wait()
	stderr := tail.String()
	if in.Redact != nil {
		stderr = in.Redact(stderr)
	}
	switch {
	case copyErr != nil && ctx.Err() == nil:
		return fmt.Errorf("media: %s: write: %w", op, copyErr)
	case waitErr != nil:
		return runError(rctx, op, waitErr, stderr)
	}
	return nil
}
