// Package imageio decodes untrusted image bytes for the vision pipeline.
//
// Decode accepts JPEG (including CMYK/YCCK), PNG (including alpha), WebP and
// GIF (first frame). It refuses non-images and oversized inputs before doing
// any expensive work: the byte size is capped while reading, and the pixel
// count is checked from the header (image.DecodeConfig) before the full
// decode, so a small file that declares a huge canvas (a decompression bomb)
// costs almost nothing. JPEG EXIF orientation is applied, so the returned
// image is upright as a viewer would show it.
//
// Errors wrap one of the sentinel errors below; test them with errors.Is.
package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/webp"
)

// Sentinel errors returned (wrapped) by Decode.
var (
	// ErrEmpty means the input had no bytes at all.
	ErrEmpty = errors.New("empty input")
	// ErrNotImage means the bytes are not in any known image format.
	ErrNotImage = errors.New("not an image")
	// ErrUnsupportedFormat means the bytes are a known image format that
	// vision cannot decode (HEIC, AVIF, TIFF, BMP, ...).
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrTooLarge means the input has more bytes than Limits.MaxBytes.
	ErrTooLarge = errors.New("image file too large")
	// ErrTooManyPixels means the header declares more pixels than
	// Limits.MaxPixels; nothing beyond the header was decoded.
	ErrTooManyPixels = errors.New("image has too many pixels")
	// ErrCorrupt means the format was recognised but the data is broken or
	// truncated.
	ErrCorrupt = errors.New("corrupt or truncated image")
)

// Limits bound the work Decode does on one input. Zero fields take the
// defaults of DefaultLimits.
type Limits struct {
	// MaxBytes is the largest accepted encoded size.
	MaxBytes int64
	// MaxPixels is the largest accepted width*height.
	MaxPixels int64
}

// DefaultLimits returns limits suited to product photos and video frames:
// 64 MiB and 50 megapixels.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 20, MaxPixels: 50_000_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// Info describes a decoded image.
type Info struct {
	// Format is "jpeg", "png", "webp" or "gif".
	Format string
	// Width and Height are those of the returned (upright) image.
	Width, Height int
	// Orientation is the EXIF orientation tag (1..8) that was applied; 1
	// when absent.
	Orientation int
	// HasAlpha reports whether the image has a non-opaque pixel.
	HasAlpha bool
	// CMYK reports a four-channel JPEG.
	CMYK bool
	// Bytes is the encoded size.
	Bytes int64
}

// Decode reads one image from r within lim (zero value: DefaultLimits).
func Decode(r io.Reader, lim Limits) (image.Image, Info, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, Info{}, fmt.Errorf("imageio: read: %w", err)
	}
	return DecodeBytes(data, lim)
}

// DecodeFile opens path and decodes it with Decode.
func DecodeFile(path string, lim Limits) (image.Image, Info, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, Info{}, fmt.Errorf("imageio: open: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > lim.MaxBytes {
		return nil, Info{}, fmt.Errorf("imageio: %d bytes, limit %d: %w", st.Size(), lim.MaxBytes, ErrTooLarge)
	}
	img, info, err := Decode(f, lim)
	if err != nil {
		return nil, info, fmt.Errorf("%w (file %s)", err, path)
	}
	return img, info, nil
}

// DecodeBytes is Decode on an in-memory buffer.
func DecodeBytes(data []byte, lim Limits) (image.Image, Info, error) {
	lim = lim.withDefaults()
	info := Info{Bytes: int64(len(data)), Orientation: 1}
	if len(data) == 0 {
		return nil, info, fmt.Errorf("imageio: decode: %w", ErrEmpty)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, info, fmt.Errorf("imageio: decode: more than %d bytes: %w", lim.MaxBytes, ErrTooLarge)
	}
	format, err := sniff(data)
	if err != nil {
		return nil, info, fmt.Errorf("imageio: decode: %w", err)
	}
	info.Format = format

	var cfgFn func(io.Reader) (image.Config, error)
	var decFn func(io.Reader) (image.Image, error)
	switch format {
	case "jpeg":
		cfgFn, decFn = jpeg.DecodeConfig, jpeg.Decode
	case "png":
		cfgFn, decFn = png.DecodeConfig, png.Decode
	case "webp":
		cfgFn, decFn = webp.DecodeConfig, webp.Decode
	case "gif":
		cfgFn, decFn = gif.DecodeConfig, gif.Decode
	}
	cfg, err := cfgFn(bytes.NewReader(data))
	if err != nil {
		return nil, info, fmt.Errorf("imageio: decode %s header: %v: %w", format, err, ErrCorrupt)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, info, fmt.Errorf("imageio: decode %s header: size %dx%d: %w", format, cfg.Width, cfg.Height, ErrCorrupt)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return nil, info, fmt.Errorf("imageio: decode %s: %dx%d is %d pixels, limit %d: %w",
			format, cfg.Width, cfg.Height, px, lim.MaxPixels, ErrTooManyPixels)
	}
	img, err := decodeSafely(decFn, data)
	if err != nil {
		return nil, info, fmt.Errorf("imageio: decode %s: %v: %w", format, err, ErrCorrupt)
	}
	if _, ok := img.(*image.CMYK); ok {
		info.CMYK = true
	}
	if format == "jpeg" {
		info.Orientation = exifOrientation(data)
		img = orient(img, info.Orientation)
	}
	b := img.Bounds()
	info.Width, info.Height = b.Dx(), b.Dy()
	info.HasAlpha = !isOpaque(img)
	return img, info, nil
}

// decodeSafely turns a panic inside a third-party decoder into an error, so
// hostile input can never take the process down.
func decodeSafely(fn func(io.Reader) (image.Image, error), data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return fn(bytes.NewReader(data))
}

// sniff identifies the format from magic bytes.
func sniff(b []byte) (string, error) {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return "jpeg", nil
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png", nil
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp", nil
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif", nil
	case bytes.HasPrefix(b, []byte("BM")) && len(b) >= 26:
		return "", fmt.Errorf("bmp: %w", ErrUnsupportedFormat)
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "", fmt.Errorf("tiff: %w", ErrUnsupportedFormat)
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		return "", fmt.Errorf("%s (heic/avif/mp4 family): %w", bytes.TrimSpace(b[8:12]), ErrUnsupportedFormat)
	}
	return "", ErrNotImage
}

func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return true
}

// Flatten composites an image with alpha onto a solid background and returns
// an opaque *image.RGBA; opaque images are converted to *image.RGBA as is.
// Models see "transparent" as the background colour, which for product
// packshots is conventionally white.
func Flatten(img image.Image, bg color.Color) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if !isOpaque(img) {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
		return dst
	}
	if rgba, ok := img.(*image.RGBA); ok && b.Min == (image.Point{}) {
		return rgba
	}
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	return dst
}
