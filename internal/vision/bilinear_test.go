package vision

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
)

// randomRGBA is a w x h image at (x0, y0) of random pixels, opaque or with
// random premultiplied alpha.
func randomRGBA(rng *rand.Rand, x0, y0, w, h int, opaque bool) *image.RGBA {
	img := image.NewRGBA(image.Rect(x0, y0, x0+w, y0+h))
	for i := 0; i < len(img.Pix); i += 4 {
		a := uint8(255)
		if !opaque {
			a = uint8(rng.IntN(256))
		}
		img.Pix[i+3] = a
		for c := range 3 {
			img.Pix[i+c] = uint8(rng.IntN(int(a) + 1))
		}
	}
	return img
}

func TestScaleBiLinearMatchesXImageDraw(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name           string
		sw, sh, dw, dh int
		opaque         bool
	}{
		{"shrink to embedder input", 300, 611, 224, 224, true},
		{"shrink a lot", 640, 360, 37, 19, true},
		{"enlarge", 31, 17, 224, 224, true},
		{"enlarge one axis, shrink the other", 50, 400, 128, 256, true},
		{"same size", 64, 64, 64, 64, true},
		{"one pixel", 1, 1, 5, 3, true},
		{"to one pixel", 9, 7, 1, 1, true},
		{"translucent", 120, 90, 224, 224, false},
		{"translucent shrink", 333, 250, 96, 80, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A sub-rectangle of a larger frame at an offset origin, as
			// crops of decoded frames are.
			frame := randomRGBA(rng, 3, 5, tc.sw+20, tc.sh+11, tc.opaque)
			sr := image.Rect(10, 9, 10+tc.sw, 9+tc.sh)
			src := frame.SubImage(sr).(*image.RGBA)
			for _, dr := range []image.Rectangle{image.Rect(0, 0, tc.dw, tc.dh), image.Rect(2, 3, 2+tc.dw, 3+tc.dh)} {
				want := image.NewRGBA(image.Rect(0, 0, tc.dw+4, tc.dh+6))
				got := image.NewRGBA(want.Rect)
				fill := image.NewUniform(color.RGBA{7, 8, 9, 255})
				draw.Draw(want, want.Rect, fill, image.Point{}, draw.Src)
				draw.Draw(got, got.Rect, fill, image.Point{}, draw.Src)
				draw.BiLinear.Scale(want, dr, src, sr, draw.Src, nil)
				scaleBiLinear(got, dr, src, sr, src.Opaque())
				if !bytes.Equal(got.Pix, want.Pix) {
					n := 0
					for i := range got.Pix {
						if got.Pix[i] != want.Pix[i] {
							n++
						}
					}
					t.Fatalf("dr %v: %d of %d bytes differ from x/image/draw's BiLinear", dr, n, len(got.Pix))
				}
			}
		})
	}
}

func TestScaleBiLinearFallsBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rgba := randomRGBA(rng, 0, 0, 40, 30, true)
	nrgba := image.NewNRGBA(rgba.Rect)
	draw.Draw(nrgba, nrgba.Rect, rgba, image.Point{}, draw.Src)
	for _, tc := range []struct {
		name string
		src  image.Image
		sr   image.Rectangle
	}{
		{"another image type", nrgba, nrgba.Rect},
		{"source rectangle outside the image", rgba, image.Rect(-5, 0, 40, 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := image.NewRGBA(image.Rect(0, 0, 17, 23))
			got := image.NewRGBA(want.Rect)
			draw.BiLinear.Scale(want, want.Rect, tc.src, tc.sr, draw.Src, nil)
			scaleBiLinear(got, got.Rect, tc.src, tc.sr, true)
			if !bytes.Equal(got.Pix, want.Pix) {
				t.Fatal("differs from x/image/draw's BiLinear")
			}
		})
	}
}

func BenchmarkScaleBiLinear(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range []struct{ sw, sh, dw, dh int }{{280, 560, 224, 224}, {280, 560, 128, 256}, {90, 60, 224, 224}} {
		src := randomRGBA(rng, 0, 0, sz.sw, sz.sh, true)
		dst := image.NewRGBA(image.Rect(0, 0, sz.dw, sz.dh))
		name := fmt.Sprintf("%dx%d-to-%dx%d", sz.sw, sz.sh, sz.dw, sz.dh)
		b.Run(name+"/x-image-draw", func(b *testing.B) {
			for b.Loop() {
				draw.BiLinear.Scale(dst, dst.Rect, src, src.Rect, draw.Src, nil)
			}
		})
		b.Run(name+"/vitrine", func(b *testing.B) {
			for b.Loop() {
				scaleBiLinear(dst, dst.Rect, src, src.Rect, true)
			}
		})
	}
}

// TestFillTensorMatchesFormula checks the table-driven conversion against
// the formula it tabulates, (p*scale - mean)/std per channel, in every
// layout and channel order.
func TestFillTensorMatchesFormula(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	canvas := randomRGBA(rng, 0, 0, 13, 7, true)
	for _, in := range []InputSpec{
		{Width: 13, Height: 7, Layout: "nchw", Channels: "rgb", Scale: 1.0 / 255, Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}},
		{Width: 13, Height: 7, Layout: "nhwc", Channels: "bgr", Scale: 1},
		{Width: 13, Height: 7, Layout: "nchw", Channels: "bgr", Scale: 1.0 / 255},
	} {
		t.Run(in.Layout+"-"+in.Channels, func(t *testing.T) {
			got := make([]float32, 3*in.Width*in.Height)
			fillTensor(canvas, in, got)
			order := [3]int{0, 1, 2}
			if in.Channels == "bgr" {
				order = [3]int{2, 1, 0}
			}
			for y := range in.Height {
				for x := range in.Width {
					for k := range 3 {
						p := canvas.Pix[y*canvas.Stride+4*x+order[k]]
						inv, mean := in.Scale, float32(0)
						if len(in.Mean) == 3 {
							mean = in.Mean[k]
						}
						if len(in.Std) == 3 {
							inv, mean = in.Scale/in.Std[k], mean/in.Std[k]
						}
						want := float32(p)*inv - mean
						i := k*in.Width*in.Height + y*in.Width + x
						if in.Layout == "nhwc" {
							i = (y*in.Width+x)*3 + k
						}
						if got[i] != want {
							t.Fatalf("pixel (%d, %d) channel %d: %v, want %v", x, y, k, got[i], want)
						}
					}
				}
			}
		})
	}
}
