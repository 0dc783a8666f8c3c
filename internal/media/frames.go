package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Frame is one decoded frame in RGB24.
type Frame struct {
	Index  int     // decoded-frame number from 0, in presentation order
	PTS    float64 // presentation time in seconds from the start of the stream
	Width  int     //
	Height int     //
	Pix    []byte  // RGB24 rows, stride Width*3
}

// Clone returns a copy of f whose Pix the caller owns.
func (f Frame) Clone() Frame {
	f.Pix = append([]byte(nil), f.Pix...)
	return f
}

// RGBA converts f to a new *image.RGBA.
func (f Frame) RGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	n := f.Width * f.Height
	for i, j := 0, 0; i < n && j+2 < len(f.Pix); i, j = i+1, j+3 {
		img.Pix[i*4] = f.Pix[j]
		img.Pix[i*4+1] = f.Pix[j+1]
		img.Pix[i*4+2] = f.Pix[j+2]
		img.Pix[i*4+3] = 0xff
	}
	return img
}

// FrameOptions configures a frame stream.
type FrameOptions struct {
	// MaxWidth and MaxHeight bound the output size; the display aspect ratio
	// is kept and frames are never upscaled. Both zero means 160x160.
	MaxWidth, MaxHeight int
	// FPS resamples the stream to this rate; 0 passes every decoded frame
	// through with its own timestamp (exact for variable frame rate input).
	FPS float64
	// Scaler is the ffmpeg scaler ("area", "bilinear", "fast_bilinear", …);
	// "area" when empty: it averages, so small frames carry little aliasing.
	Scaler string
	// Info skips the probe when the caller already has it.
	Info *Info
	// SkipLoopFilter decodes without the codec's in-loop deblocking filter:
	// about 15% less decoding work, at the price of block edges that a
	// small, area-averaged analysis frame mostly averages away.
	SkipLoopFilter bool
}

// FrameFunc receives each frame. f.Pix is reused for the next frame: keep a
// Clone if it must outlive the call. Returning an error stops decoding.
type FrameFunc func(f Frame) error

// Frames decodes path with the Default tool; see Tool.Frames.
func Frames(ctx context.Context, path string, opts FrameOptions, fn FrameFunc) error {
	return Default.Frames(ctx, path, opts, fn)
}

// OutputSize returns the frame size Frames produces for a video with the
// given display size under the bounds of opts.
func OutputSize(displayW, displayH int, opts FrameOptions) (int, int) {
	bw, bh := opts.MaxWidth, opts.MaxHeight
	if bw <= 0 && bh <= 0 {
		bw, bh = 160, 160
	}
	if displayW <= 0 || displayH <= 0 {
		return 0, 0
	}
	scale := 1.0
	if bw > 0 {
		scale = math.Min(scale, float64(bw)/float64(displayW))
	}
	if bh > 0 {
		scale = math.Min(scale, float64(bh)/float64(displayH))
	}
	w := max(1, int(math.Round(float64(displayW)*scale)))
	h := max(1, int(math.Round(float64(displayH)*scale)))
	return w, h
}

// Frames decodes the first video stream of path to RGB24 frames of at most
// opts.MaxWidth x opts.MaxHeight and calls fn for each, in order. Frames
// travel over a pipe; nothing is written to disk. The result is ErrTruncated
// (after the frames that could be decoded were delivered) when ffmpeg reports
// a cut-short or damaged file, and the probe's errors for unusable input.
func (t *Tool) Frames(ctx context.Context, path string, opts FrameOptions, fn FrameFunc) error {
	info, err := t.info(ctx, path, opts.Info)
	if err != nil {
		return err
	}
	w, h := OutputSize(info.DisplayW, info.DisplayH, opts)
	vf := ""
	if opts.FPS > 0 {
		vf = "fps=" + strconv.FormatFloat(opts.FPS, 'f', -1, 64) + ","
	}
	vf += scaleFilter(w, h, opts.Scaler) + ",format=rgb24,showinfo"
	fps := info.AvgFPS
	if opts.FPS > 0 {
		fps = opts.FPS
	}
	_, err = t.stream(ctx, "decode "+path, path, info, streamSpec{vf: vf, w: w, h: h, fps: fps, skipLoopFilter: opts.SkipLoopFilter}, func(k int, f Frame) error {
		f.Index = k
		return fn(f)
	})
	return err
}

func scaleFilter(w, h int, scaler string) string {
	if scaler == "" {
		scaler = "area"
	}
	return fmt.Sprintf("scale=%d:%d:flags=%s", w, h, scaler)
}

func (t *Tool) info(ctx context.Context, path string, given *Info) (Info, error) {
	if given != nil {
		if !given.HasVideo {
			return *given, fmt.Errorf("media: decode %s: %w", path, ErrNoVideoStream)
		}
		if err := t.checkLimits(*given); err != nil {
			return *given, fmt.Errorf("media: decode %s: %w", path, err)
		}
		return *given, nil
	}
	return t.Probe(ctx, path)
}

// streamSpec is one ffmpeg run of stream.
type streamSpec struct {
	vf     string  // filter chain; must end in showinfo and produce w x h rgb24
	w, h   int     // output frame size
	fps    float64 // for timestamps when showinfo gives none
	seek   float64 // input seek in seconds when > 0
	frames int     // stop after this many output frames when > 0
	// skipLoopFilter skips the decoder's deblocking (FrameOptions).
	skipLoopFilter bool
}

// stream runs ffmpeg as described by sp and hands each output frame to fn
// with its sequence number k. It returns the number of frames delivered.
func (t *Tool) stream(ctx context.Context, op, path string, info Info, sp streamSpec, fn func(k int, f Frame) error) (int, error) {
	w, h, fps := sp.w, sp.h, sp.fps
	if int64(w)*int64(h) > t.maxPixels() || w <= 0 || h <= 0 {
		return 0, fmt.Errorf("media: %s: %w: output size %dx%d", op, ErrTooLarge, w, h)
	}
	if err := t.lookPath(t.ffmpeg()); err != nil {
		return 0, fmt.Errorf("media: %s: %w", op, err)
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	threads := strconv.Itoa(t.threads())
	args := []string{"-hide_banner", "-nostats", "-nostdin", "-loglevel", "info", "-threads", threads}
	if sp.skipLoopFilter {
		args = append(args, "-skip_loop_filter", "all")
	}
	if sp.seek > 0 {
		args = append(args, "-ss", strconv.FormatFloat(sp.seek, 'f', 6, 64))
	}
	in, err := inputArgs(path)
	if err != nil {
		return 0, fmt.Errorf("media: %s: %w", op, err)
	}
	args = append(args, in...)
	args = append(args,
		"-map", "0:"+strconv.Itoa(info.VideoStream), "-an", "-sn", "-dn",
		"-filter_threads", threads, "-vf", sp.vf, "-fps_mode", "passthrough")
	if sp.frames > 0 {
		args = append(args, "-frames:v", strconv.Itoa(sp.frames))
	}
	args = append(args, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	cmd := t.command(ctx, timeout, t.ffmpeg(), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("media: %s: %w", op, err)
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		return 0, fmt.Errorf("media: %s: %w", op, err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("media: %s: start ffmpeg: %w", op, err)
	}
	ptsq := newPTSQueue()
	tail := &tailBuffer{n: 8192}
	go ptsq.readStderr(stderrPipe, tail)

	size := w * h * 3
	buf := make([]byte, size)
	rd := bufio.NewReaderSize(stdout, max(size, 64<<10))
	k := 0
	var fnErr error
	for {
		if _, err := io.ReadFull(rd, buf); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				fnErr = fmt.Errorf("media: %s: read frame %d: %w", op, k, err)
			}
			break
		}
		pts, ok := ptsq.get(k)
		if !ok && fps > 0 {
			pts = float64(k) / fps
		}
		if err := fn(k, Frame{PTS: pts, Width: w, Height: h, Pix: buf}); err != nil {
			fnErr = err
			break
		}
		k++
	}
	if fnErr != nil {
		cancel()
		_ = cmd.Wait()
		return k, fnErr
	}
	// Drain so ffmpeg never blocks on a full pipe, then collect its status.
	_, _ = io.Copy(io.Discard, rd)
	ptsq.wait()
	waitErr := cmd.Wait()
	stderr := tail.String()
	t.logger().DebugContext(ctx, "media: ffmpeg done", "op", op, "frames", k, "size", fmt.Sprintf("%dx%d", w, h),
		"elapsed", time.Since(start).Round(time.Millisecond))
	if waitErr != nil {
		return k, runError(ctx, op, waitErr, stderr)
	}
	// A cut-short file fails; damaged data that ffmpeg conceals passes
	// unless most frames were hit.
	if strings.Contains(stderr, "partial file") {
		return k, fmt.Errorf("media: %s: %w after %d frames: %s", op, ErrTruncated, k, summarize(stderr))
	}
	if bad := ptsq.decodeErrors; bad > max(10, k/2) {
		return k, fmt.Errorf("media: %s: %w: %d decode errors in %d frames: %s", op, ErrTruncated, bad, k, summarize(stderr))
	} else if bad > 0 {
		t.logger().WarnContext(ctx, "media: damaged video data concealed", "op", op, "decode_errors", bad, "frames", k)
	}
	if k == 0 {
		return 0, fmt.Errorf("media: %s: %w: no frames decoded: %s", op, ErrInvalidMedia, summarize(stderr))
	}
	return k, nil
}

// ptsQueue collects pts_time values of showinfo lines from ffmpeg's stderr.
// showinfo logs a frame before ffmpeg writes it to the pipe, so the reader
// of frame k finds its timestamp here.
type ptsQueue struct {
	mu   sync.Mutex
	cond *sync.Cond
	pts  []float64
	done bool
	// decodeErrors counts decoder error lines; read after done.
	decodeErrors int
	// start is the input's start time, which ffmpeg subtracts from every
	// timestamp (from its "Duration: …, start: S" line).
	start float64
}

func newPTSQueue() *ptsQueue {
	q := &ptsQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *ptsQueue) readStderr(r io.Reader, tail io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Parsed_showinfo") {
			if v, ok := showinfoPTS(line); ok {
				q.mu.Lock()
				q.pts = append(q.pts, v)
				q.mu.Unlock()
				q.cond.Broadcast()
			}
			continue
		}
		if isDecodeError(line) {
			q.mu.Lock()
			q.decodeErrors++
			q.mu.Unlock()
		}
		if v, ok := inputStart(line); ok {
			q.mu.Lock()
			q.start = v
			q.mu.Unlock()
		}
		_, _ = io.WriteString(tail, line+"\n")
	}
	_, _ = io.Copy(io.Discard, r)
	q.mu.Lock()
	q.done = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// get waits for the timestamp of output frame k.
func (q *ptsQueue) get(k int) (float64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pts) <= k && !q.done {
		q.cond.Wait()
	}
	if k < len(q.pts) {
		return q.pts[k], true
	}
	return 0, false
}

func (q *ptsQueue) wait() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.done {
		q.cond.Wait()
	}
}

// isDecodeError reports whether an ffmpeg log line is a decoder error about
// damaged data.
func isDecodeError(line string) bool {
	l := strings.ToLower(line)
	return strings.Contains(l, "error while decoding") || strings.Contains(l, "invalid nal unit size") ||
		strings.Contains(l, "error splitting the input")
}

// startTime returns the input's start time, known once ffmpeg described
// its input (before any frame's timestamp).
func (q *ptsQueue) startTime() float64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.start
}

// inputStart extracts S from an input's "Duration: …, start: S, …" line.
func inputStart(line string) (float64, bool) {
	if !strings.Contains(line, "Duration:") {
		return 0, false
	}
	_, rest, ok := strings.Cut(line, ", start: ")
	if !ok {
		return 0, false
	}
	rest, _, _ = strings.Cut(rest, ",")
	v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// showinfoPTS extracts pts_time from a showinfo frame line.
func showinfoPTS(line string) (float64, bool) {
	i := strings.Index(line, "pts_time:")
	if i < 0 {
		return 0, false
	}
	rest := strings.TrimLeft(line[i+len("pts_time:"):], " ")
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	v, err := strconv.ParseFloat(rest, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
