package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngHeader is a PNG signature plus a valid IHDR declaring w x h RGBA and
// nothing else: tiny on disk, huge once decoded.
func pngHeader(w, h uint32) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, w)
	binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{8, 6, 0, 0, 0}) // 8-bit RGBA, deflate, no filter, no interlace
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&out, binary.BigEndian, uint32(13))
	out.Write(ihdr.Bytes())
	binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	return out.Bytes()
}

// webpVP8XHeader declares a w x h extended-format canvas.
func webpVP8XHeader(w, h uint32) []byte {
	chunk := make([]byte, 10)
	put24 := func(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
	put24(chunk[4:], w-1)
	put24(chunk[7:], h-1)
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+len(chunk)))
	out.WriteString("WEBPVP8X")
	binary.Write(&out, binary.LittleEndian, uint32(len(chunk)))
	out.Write(chunk)
	return out.Bytes()
}

// jpegSOFHeader is SOI, a JFIF APP0 and a baseline SOF0 declaring w x h
// with 3 components: no tables, no scan.
func jpegSOFHeader(w, h uint16) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	b = append(b, 0xFF, 0xC0, 0, 17, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 3)
	for c := byte(1); c <= 3; c++ {
		b = append(b, c, 0x11, 0)
	}
	return b
}

func TestDecodeErrors(t *testing.T) {
	good := encodeJPEG(t, image.NewRGBA(image.Rect(0, 0, 64, 64)))
	random := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.IntN(256))
	}
	random[0] = 'x' // no accidental magic
	for _, tc := range []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrEmpty},
		{"random bytes", random, Limits{}, ErrNotImage},
		{"text", []byte("hello, this is not an image\n"), Limits{}, ErrNotImage},
		{"truncated jpeg", good[:len(good)/2], Limits{}, ErrCorrupt},
		{"jpeg header only", good[:20], Limits{}, ErrCorrupt},
		{"png signature only", []byte("\x89PNG\r\n\x1a\n"), Limits{}, ErrCorrupt},
		{"png bomb 100000x100000", pngHeader(100000, 100000), Limits{}, ErrTooManyPixels},
		{"png zero width", pngHeader(0, 10), Limits{}, ErrCorrupt},
		{"webp bomb 16384x16384", webpVP8XHeader(16384, 16384), Limits{}, ErrTooManyPixels},
		{"jpeg bomb 60000x60000", jpegSOFHeader(60000, 60000), Limits{}, ErrTooManyPixels},
		{"pixel cap", good, Limits{MaxPixels: 64*64 - 1}, ErrTooManyPixels},
		{"byte cap", good, Limits{MaxBytes: int64(len(good) - 1)}, ErrTooLarge},
		{"bmp", append([]byte("BM"), make([]byte, 60)...), Limits{}, ErrUnsupportedFormat},
		{"tiff", append([]byte("II*\x00"), make([]byte, 60)...), Limits{}, ErrUnsupportedFormat},
		{"heic", append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 60)...), Limits{}, ErrUnsupportedFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := Decode(bytes.NewReader(tc.data), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if img != nil {
				t.Fatal("got an image along with the error")
			}
		})
	}
}

func TestDecodeFileErrors(t *testing.T) {
	if _, _, err := DecodeFile(filepath.Join(t.TempDir(), "missing.jpg"), Limits{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
	p := filepath.Join(t.TempDir(), "big.png")
	if err := os.WriteFile(p, encodePNG(t, image.NewGray(image.Rect(0, 0, 300, 300))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecodeFile(p, Limits{MaxBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("byte cap: got %v", err)
	}
}

func near(c color.Color, r, g, b uint8) bool {
	cr, cg, cb, _ := c.RGBA()
	d := func(a uint32, b uint8) bool { return int(a>>8)-int(b) < 40 && int(b)-int(a>>8) < 40 }
	return d(cr, r) && d(cg, g) && d(cb, b)
}

func TestDecodeFormats(t *testing.T) {
	nrgba := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	draw.Draw(nrgba, image.Rect(0, 0, 5, 10), image.NewUniform(color.NRGBA{0, 0, 255, 255}), image.Point{}, draw.Src)
	alphaPNG := encodePNG(t, nrgba) // right half fully transparent
	opaque := image.NewRGBA(image.Rect(0, 0, 12, 8))
	draw.Draw(opaque, opaque.Bounds(), image.NewUniform(color.RGBA{0, 200, 0, 255}), image.Point{}, draw.Src)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name       string
		data       []byte
		format     string
		w, h       int
		alpha      bool
		cmyk       bool
		left, righ [3]uint8 // expected colours after Flatten on white, at mid-height
	}{
		{"jpeg", encodeJPEG(t, opaque), "jpeg", 12, 8, false, false, [3]uint8{0, 200, 0}, [3]uint8{0, 200, 0}},
		{"cmyk jpeg", read("cmyk.jpg"), "jpeg", 32, 24, false, true, [3]uint8{255, 0, 0}, [3]uint8{0, 0, 255}},
		{"png alpha", alphaPNG, "png", 10, 10, true, false, [3]uint8{0, 0, 255}, [3]uint8{255, 255, 255}},
		{"png opaque", encodePNG(t, opaque), "png", 12, 8, false, false, [3]uint8{0, 200, 0}, [3]uint8{0, 200, 0}},
		{"webp lossy", read("lossy.webp"), "webp", 40, 30, false, false, [3]uint8{255, 0, 0}, [3]uint8{0, 255, 0}},
		{"webp lossless alpha", read("alpha.webp"), "webp", 20, 10, true, false, [3]uint8{0, 0, 255}, [3]uint8{255, 255, 255}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, info, err := Decode(bytes.NewReader(tc.data), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != tc.format || info.Width != tc.w || info.Height != tc.h || info.HasAlpha != tc.alpha || info.CMYK != tc.cmyk {
				t.Fatalf("info %+v, want %s %dx%d alpha=%v cmyk=%v", info, tc.format, tc.w, tc.h, tc.alpha, tc.cmyk)
			}
			flat := Flatten(img, color.White)
			y := tc.h / 2
			if l := flat.At(1, y); !near(l, tc.left[0], tc.left[1], tc.left[2]) {
				t.Errorf("left pixel %v, want ~%v", l, tc.left)
			}
			if r := flat.At(tc.w-2, y); !near(r, tc.righ[0], tc.righ[1], tc.righ[2]) {
				t.Errorf("right pixel %v, want ~%v", r, tc.righ)
			}
		})
	}
}

// withOrientation inserts an Exif APP1 segment carrying orientation o
// right after the SOI marker of a JPEG.
func withOrientation(j []byte, o uint16, bo binary.ByteOrder) []byte {
	var tiff bytes.Buffer
	if bo == binary.LittleEndian {
		tiff.WriteString("II")
	} else {
		tiff.WriteString("MM")
	}
	binary.Write(&tiff, bo, uint16(42))
	binary.Write(&tiff, bo, uint32(8))
	binary.Write(&tiff, bo, uint16(1))      // one entry
	binary.Write(&tiff, bo, uint16(0x0112)) // Orientation
	binary.Write(&tiff, bo, uint16(3))      // SHORT
	binary.Write(&tiff, bo, uint32(1))
	binary.Write(&tiff, bo, o)
	binary.Write(&tiff, bo, uint16(0))
	binary.Write(&tiff, bo, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, j[2:]...)
}

func TestDecodeEXIFOrientation(t *testing.T) {
	// 64x32 black image with a red 16x16 block at the stored top-left; the
	// block's centre (8,8) must end up where the orientation puts it.
	src := image.NewRGBA(image.Rect(0, 0, 64, 32))
	draw.Draw(src, src.Bounds(), image.NewUniform(color.Black), image.Point{}, draw.Src)
	draw.Draw(src, image.Rect(0, 0, 16, 16), image.NewUniform(color.RGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	base := encodeJPEG(t, src)
	for _, tc := range []struct {
		o    uint16
		w, h int
		x, y int
	}{
		{1, 64, 32, 8, 8},
		{2, 64, 32, 55, 8},
		{3, 64, 32, 55, 23},
		{4, 64, 32, 8, 23},
		{5, 32, 64, 8, 8},
		{6, 32, 64, 23, 8},
		{7, 32, 64, 23, 55},
		{8, 32, 64, 8, 55},
	} {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			img, info, err := Decode(bytes.NewReader(withOrientation(base, tc.o, bo)), Limits{})
			if err != nil {
				t.Fatalf("orientation %d: %v", tc.o, err)
			}
			if info.Orientation != int(tc.o) || info.Width != tc.w || info.Height != tc.h {
				t.Fatalf("orientation %d (%v): info %+v, want %dx%d", tc.o, bo, info, tc.w, tc.h)
			}
			if c := img.At(tc.x, tc.y); !near(c, 255, 0, 0) {
				t.Errorf("orientation %d (%v): pixel (%d,%d) = %v, want red", tc.o, bo, tc.x, tc.y, c)
			}
		}
	}
	// A malformed Exif block is ignored rather than fatal.
	bad := withOrientation(base, 6, binary.LittleEndian)
	bad[4+2+6+4] = 0xFF // corrupt the IFD offset
	if _, info, err := Decode(bytes.NewReader(bad), Limits{}); err != nil || info.Orientation != 1 {
		t.Errorf("malformed Exif: orientation %d, err %v; want 1, nil", info.Orientation, err)
	}
}

// TestDecodeNeverPanics feeds every prefix and many bit-flipped copies of
// valid files to Decode.
func TestDecodeNeverPanics(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 7)
	}
	inputs := [][]byte{encodeJPEG(t, src), encodePNG(t, src)}
	for _, f := range []string{"cmyk.jpg", "lossy.webp", "alpha.webp"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, in := range inputs {
		for n := 0; n < len(in); n += 1 + len(in)/200 {
			Decode(bytes.NewReader(in[:n]), Limits{})
		}
		for k := 0; k < 200; k++ {
			mut := bytes.Clone(in)
			for f := 0; f < 4; f++ {
				mut[r.IntN(len(mut))] ^= byte(1 << r.IntN(8))
			}
			Decode(bytes.NewReader(mut), Limits{})
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(pngHeader(10, 10))
	f.Add(webpVP8XHeader(10, 10))
	f.Add(jpegSOFHeader(10, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, info, err := Decode(bytes.NewReader(data), Limits{MaxPixels: 1 << 20})
		if err == nil && (img == nil || info.Width*info.Height > 1<<20) {
			t.Fatalf("accepted %+v", info)
		}
	})
}
