// Package media wraps ffprobe and ffmpeg: probing a file, decoding it to a
// low-resolution raw RGB frame stream over a pipe, extracting selected frames
// at a higher resolution and encoding JPEG thumbnails.
//
// Every external run has a timeout (from the context and Tool.Timeout), a
// thread cap and an address-space limit, and its stderr is turned into a
// typed error (ErrInvalidMedia, ErrNoVideoStream, ErrTooLarge, ErrTruncated)
// so that bad uploads end as a failed step with a clear message.
package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Typed errors; test with errors.Is.
var (
	// ErrInvalidMedia means the input is not a readable media file (empty,
	// random bytes, unknown container, missing index).
	ErrInvalidMedia = errors.New("invalid or unreadable media")
	// ErrNoVideoStream means the file is valid media without a video stream
	// (audio-only, subtitles, a cover image only).
	ErrNoVideoStream = errors.New("no video stream")
	// ErrTooLarge means the declared frame size or duration exceeds the limits.
	ErrTooLarge = errors.New("video exceeds limits")
	// ErrTruncated means decoding stopped early because the file is cut short
	// or damaged.
	ErrTruncated = errors.New("truncated or corrupt video data")
	// ErrToolMissing means ffmpeg or ffprobe is not installed.
	ErrToolMissing = errors.New("ffmpeg/ffprobe not found")
)

// Defaults used when the corresponding Tool field is zero.
const (
	DefaultThreads      = 2
	DefaultTimeout      = 30 * time.Minute
	DefaultProbeTimeout = 30 * time.Second
	DefaultMaxMemory    = 3 << 30 // bytes of address space per ffmpeg run
	DefaultMaxPixels    = 8192 * 8192
	DefaultMaxDuration  = 6 * time.Hour
)

// Tool runs ffprobe/ffmpeg with limits. The zero value is ready to use and
// finds both programs in PATH.
type Tool struct {
	FFmpeg  string // path of ffmpeg; "ffmpeg" when empty
	FFprobe string // path of ffprobe; "ffprobe" when empty
	// Threads caps ffmpeg's decoder and filter threads.
	Threads int
	// Timeout bounds one ffmpeg run in addition to the context deadline.
	Timeout time.Duration
	// ProbeTimeout bounds one ffprobe run.
	ProbeTimeout time.Duration
	// MaxMemory is the address-space limit (RLIMIT_AS) of each run in bytes;
	// negative disables it.
	MaxMemory int64
	// MaxPixels rejects videos whose width*height is larger.
	MaxPixels int64
	// MaxDuration rejects videos that declare a longer duration.
	MaxDuration time.Duration
	// Logger receives debug lines about each run; nil discards them.
	Logger *slog.Logger
}

// Default is the Tool used by the package-level functions.
var Default = &Tool{}

func (t *Tool) ffmpeg() string  { return orDefault(t.FFmpeg, "ffmpeg") }
func (t *Tool) ffprobe() string { return orDefault(t.FFprobe, "ffprobe") }

func (t *Tool) threads() int {
	if t.Threads > 0 {
		return t.Threads
	}
	return DefaultThreads
}

func (t *Tool) maxPixels() int64 {
	if t.MaxPixels > 0 {
		return t.MaxPixels
	}
	return DefaultMaxPixels
}

func (t *Tool) maxDuration() time.Duration {
	if t.MaxDuration > 0 {
		return t.MaxDuration
	}
	return DefaultMaxDuration
}

func (t *Tool) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault(s, d string) string {
	if s != "" {
		return s
	}
	return d
}

var (
	prlimitOnce sync.Once
	prlimitPath string
)

// command builds the exec.Cmd for one run. The address-space and CPU limits
// are applied by prlimit(1) when present, so they hold from the first
// instruction of the child; without it the run still has the context timeout.
func (t *Tool) command(ctx context.Context, timeout time.Duration, name string, args ...string) *exec.Cmd {
	prlimitOnce.Do(func() {
		prlimitPath, _ = exec.LookPath("prlimit")
	})
	mem := t.MaxMemory
	if mem == 0 {
		mem = DefaultMaxMemory
	}
	var cmd *exec.Cmd
	if prlimitPath != "" && mem > 0 {
		cpu := int64(timeout/time.Second) * int64(t.threads())
		pre := []string{"--as=" + strconv.FormatInt(mem, 10), "--cpu=" + strconv.FormatInt(max(cpu, 1), 10), "--", name}
		cmd = exec.CommandContext(ctx, prlimitPath, append(pre, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (t *Tool) lookPath(name string) error {
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrToolMissing, name, err)
	}
	return nil
}

// inputArgs names path for ffmpeg/ffprobe as a file: URL restricted to the
// file protocol, so that names with a colon or a leading dash are read as
// files and playlists inside a file cannot reach the network.
func inputArgs(path string) ([]string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return []string{"-protocol_whitelist", "file", "-i", "file:" + abs}, nil
}

// tailBuffer keeps the last n bytes written to it (stderr of a run).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	n   int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.n {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.n:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

var _ io.Writer = (*tailBuffer)(nil)

// classify turns ffmpeg/ffprobe stderr into one of the typed errors, or nil
// when nothing in it is recognised.
func classify(stderr string) error {
	s := strings.ToLower(stderr)
	switch {
	case strings.Contains(s, "partial file"),
		strings.Contains(s, "error splitting the input"),
		strings.Contains(s, "invalid nal unit size"):
		return ErrTruncated
	case strings.Contains(s, "invalid data found"),
		strings.Contains(s, "moov atom not found"),
		strings.Contains(s, "could not find codec parameters"),
		strings.Contains(s, "end of file"),
		strings.Contains(s, "invalid argument"):
		return ErrInvalidMedia
	case strings.Contains(s, "cannot allocate memory"),
		strings.Contains(s, "picture size"),
		strings.Contains(s, "out of memory"):
		return ErrTooLarge
	}
	return nil
}

// summarize returns the last few meaningful stderr lines for an error message.
func summarize(stderr string) string {
	var keep []string
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(line, "Parsed_showinfo") || strings.HasPrefix(line, "frame=") ||
			strings.HasPrefix(line, "video:") {
			continue
		}
		keep = append(keep, line)
	}
	if len(keep) > 3 {
		keep = keep[len(keep)-3:]
	}
	return string(bytes.TrimSpace([]byte(strings.Join(keep, "; "))))
}

// runError builds the error of a failed run: the context error when the run
// was cancelled or timed out, else a typed error with ffmpeg's own words.
func runError(ctx context.Context, op string, err error, stderr string) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("media: %s: %w", op, ctxErr)
	}
	msg := summarize(stderr)
	if kind := classify(stderr); kind != nil {
		return fmt.Errorf("media: %s: %w: %s", op, kind, msg)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && !ee.Exited() {
		// Killed by a signal: the CPU or memory limit hit (SIGXCPU, SIGKILL, SIGSEGV on a failed mmap).
		return fmt.Errorf("media: %s: %w: ffmpeg killed (%v) %s", op, ErrTooLarge, ee, msg)
	}
	if msg == "" {
		return fmt.Errorf("media: %s: %w", op, err)
	}
	return fmt.Errorf("media: %s: %w: %s", op, err, msg)
}
