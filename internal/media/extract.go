package media

import (
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// maxSelectTerms and maxSelectLen bound the select expression so that it
// stays under the 128 KiB limit of one command-line argument; longer lists
// decode every frame and drop the unwanted ones here instead.
const (
	maxSelectTerms = 3000
	maxSelectLen   = 100_000
)

// ExtractFrames decodes path with the Default tool; see Tool.ExtractFrames.
func ExtractFrames(ctx context.Context, path string, indices []int, opts FrameOptions, fn FrameFunc) error {
	return Default.ExtractFrames(ctx, path, indices, opts, fn)
}

// ExtractFrames decodes only the frames whose decoded-frame numbers (the
// Frame.Index of a Frames stream without FPS) are listed, at up to
// opts.MaxWidth x opts.MaxHeight, typically a detector's input size, which
// is larger than the analysis stream. Unselected frames are decoded but never
// scaled or copied. fn gets the frames in increasing Index order; indices may
// be unsorted and hold duplicates. opts.FPS is ignored.
func (t *Tool) ExtractFrames(ctx context.Context, path string, indices []int, opts FrameOptions, fn FrameFunc) error {
	want := slices.Clone(indices)
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) == 0 {
		return nil
	}
	if want[0] < 0 {
		return fmt.Errorf("media: extract frames %s: negative frame index %d", path, want[0])
	}
	info, err := t.info(ctx, path, opts.Info)
	if err != nil {
		return err
	}
	w, h := OutputSize(info.DisplayW, info.DisplayH, opts)
	op := "extract frames " + path
	expr := ""
	if len(want) <= maxSelectTerms {
		expr = selectExpr(want)
	}
	if expr == "" || len(expr) > maxSelectLen {
		next := 0
		sp := streamSpec{vf: scaleFilter(w, h, opts.Scaler) + ",format=rgb24,showinfo", w: w, h: h, fps: info.AvgFPS}
		_, err := t.stream(ctx, op, path, info, sp,
			func(k int, f Frame) error {
				if next >= len(want) || k != want[next] {
					return nil
				}
				next++
				f.Index = k
				return fn(f)
			})
		return err
	}
	vf := "select=" + expr + "," + scaleFilter(w, h, opts.Scaler) + ",format=rgb24,showinfo"
	// ffmpeg stops after the last selected frame instead of decoding the
	// rest of the video.
	_, err = t.stream(ctx, op, path, info, streamSpec{vf: vf, w: w, h: h, frames: len(want)}, func(k int, f Frame) error {
		if k >= len(want) {
			return fmt.Errorf("media: %s: ffmpeg returned more frames than selected", op)
		}
		f.Index = want[k]
		return fn(f)
	})
	return err
}

// selectExpr builds an ffmpeg select expression matching the sorted frame
// numbers, merging consecutive runs into between() terms. The terms are
// summed as a balanced tree: ffmpeg's parser fails on a flat sum of about
// 100 terms but handles thousands nested this way. Commas are escaped for
// use inside a filter chain.
func selectExpr(sorted []int) string {
	var terms []string
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		if i == j {
			terms = append(terms, `eq(n\,`+strconv.Itoa(sorted[i])+`)`)
		} else {
			terms = append(terms, `between(n\,`+strconv.Itoa(sorted[i])+`\,`+strconv.Itoa(sorted[j])+`)`)
		}
		i = j + 1
	}
	var b strings.Builder
	var sum func(ts []string)
	sum = func(ts []string) {
		if len(ts) == 1 {
			b.WriteString(ts[0])
			return
		}
		m := len(ts) / 2
		b.WriteByte('(')
		sum(ts[:m])
		b.WriteByte('+')
		sum(ts[m:])
		b.WriteByte(')')
	}
	sum(terms)
	return b.String()
}

// Thumbnail decodes path with the Default tool; see Tool.Thumbnail.
func Thumbnail(ctx context.Context, path string, at float64, opts FrameOptions) (Frame, error) {
	return Default.Thumbnail(ctx, path, at, opts)
}

// Thumbnail decodes the frame shown at time at (seconds), seeking instead of
// decoding from the start, at up to opts.MaxWidth x opts.MaxHeight. The
// returned frame owns its pixels; its Index is -1 (unknown after a seek).
func (t *Tool) Thumbnail(ctx context.Context, path string, at float64, opts FrameOptions) (Frame, error) {
	op := fmt.Sprintf("thumbnail %s at %.3fs", path, at)
	if at < 0 || math.IsNaN(at) || math.IsInf(at, 0) {
		return Frame{}, fmt.Errorf("media: %s: invalid time", op)
	}
	info, err := t.info(ctx, path, opts.Info)
	if err != nil {
		return Frame{}, err
	}
	if info.Duration > 0 && at > info.Duration {
		return Frame{}, fmt.Errorf("media: %s: time is past the end (%.3fs)", op, info.Duration)
	}
	w, h := OutputSize(info.DisplayW, info.DisplayH, opts)
	// An input seek decodes from the keyframe before at and drops the frames
	// before it, so the first output frame is the one shown at that time.
	var out Frame
	sp := streamSpec{vf: scaleFilter(w, h, opts.Scaler) + ",format=rgb24,showinfo", w: w, h: h, seek: at, frames: 1}
	_, err = t.stream(ctx, op, path, info, sp, func(k int, f Frame) error {
		if k == 0 {
			out = f.Clone()
			out.Index, out.PTS = -1, at
		}
		return nil
	})
	if err != nil {
		return Frame{}, err
	}
	if out.Pix == nil {
		return Frame{}, fmt.Errorf("media: %s: %w: no frame at that time", op, ErrInvalidMedia)
	}
	return out, nil
}

// EncodeJPEG writes f as a JPEG of the given quality (1-100; 0 means 85).
func EncodeJPEG(w io.Writer, f Frame, quality int) error {
	if f.Width <= 0 || f.Height <= 0 || len(f.Pix) < f.Width*f.Height*3 {
		return fmt.Errorf("media: encode jpeg: invalid frame %dx%d with %d bytes", f.Width, f.Height, len(f.Pix))
	}
	if quality <= 0 {
		quality = 85
	}
	if err := jpeg.Encode(w, f.RGBA(), &jpeg.Options{Quality: min(quality, 100)}); err != nil {
		return fmt.Errorf("media: encode jpeg: %w", err)
	}
	return nil
}
