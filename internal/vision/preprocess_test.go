package vision

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"

	xdraw "golang.org/x/image/draw"
)

func TestPreprocessModes(t *testing.T) {
	// 200x100 white image with a red 20x20 square centred at (110, 50).
	src := image.NewRGBA(image.Rect(0, 0, 200, 100))
	draw.Draw(src, src.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(src, image.Rect(100, 40, 120, 60), image.NewUniform(color.RGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	const W, H = 64, 64
	for _, tc := range []struct {
		name     string
		in       InputSpec
		padPixel bool // bottom-right corner is letterbox padding
	}{
		{"letterbox top-left bgr", InputSpec{Width: W, Height: H, Scale: 1, Channels: "bgr", Resize: ResizeLetterboxTopLeft, Pad: 114}, true},
		{"letterbox centre", InputSpec{Width: W, Height: H, Scale: 1, Channels: "rgb", Resize: ResizeLetterboxCenter, Pad: 114}, true},
		{"stretch nhwc", InputSpec{Width: W, Height: H, Scale: 1, Channels: "rgb", Layout: "nhwc", Resize: ResizeStretch}, false},
		{"centre crop", InputSpec{Width: W, Height: H, Scale: 1, Channels: "rgb", Resize: ResizeShortSideCenterCrop}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]float32, 3*W*H)
			tf, err := preprocess(src, tc.in, buf)
			if err != nil {
				t.Fatal(err)
			}
			// RGB value at model pixel (x, y), whatever the layout and order.
			at := func(x, y int) [3]float32 {
				var v [3]float32
				for k := 0; k < 3; k++ {
					if tc.in.Layout == "nhwc" {
						v[k] = buf[(y*W+x)*3+k]
					} else {
						v[k] = buf[k*W*H+y*W+x]
					}
				}
				if tc.in.Channels == "bgr" {
					v[0], v[2] = v[2], v[0]
				}
				return v
			}
			// The marker centre maps into the model input and back.
			mx := 110*tf.sx + tf.ox
			my := 50*tf.sy + tf.oy
			if v := at(int(mx), int(my)); v[0] < 200 || v[1] > 60 || v[2] > 60 {
				t.Errorf("marker at input (%.1f,%.1f) is %v, want red", mx, my, v)
			}
			ox, oy := tf.toOrig(mx, my)
			if math.Abs(ox-110) > 1e-6 || math.Abs(oy-50) > 1e-6 {
				t.Errorf("round trip gives (%.3f,%.3f), want (110,50)", ox, oy)
			}
			if tc.padPixel {
				if v := at(W-1, H-1); v != [3]float32{114, 114, 114} {
					t.Errorf("padding %v, want 114", v)
				}
			}
		})
	}
}

func TestPreprocessNormalisationAndAlpha(t *testing.T) {
	// Fully transparent image: composited on white before normalising.
	src := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	in := InputSpec{Width: 4, Height: 4, Scale: 1.0 / 255, Channels: "rgb", Resize: ResizeStretch,
		Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}
	buf := make([]float32, 3*16)
	if _, err := preprocess(src, in, buf); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 3; k++ {
		want := (1 - in.Mean[k]) / in.Std[k]
		if got := buf[k*16]; math.Abs(float64(got-want)) > 1e-4 {
			t.Errorf("channel %d: %v, want %v (white)", k, got, want)
		}
	}
	for _, bad := range []image.Image{nil, image.NewRGBA(image.Rect(0, 0, 5, 0)), image.NewGray(image.Rect(0, 0, 1<<16, 1))} {
		if _, err := preprocess(bad, in, buf); err == nil {
			t.Errorf("image %T %v: want an error", bad, bad)
		}
	}
}

// TestScaleRGBAMatchesBiLinear checks the fast RGBA path of preprocess
// against x/image/draw's BiLinear, which it replaces for opaque RGBA
// images: embeddings of video crops must stay comparable with those of
// catalog images embedded before it.
func TestScaleRGBAMatchesBiLinear(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for y := 0; y < 360; y++ {
		for x := 0; x < 640; x++ {
			// Smooth gradients plus a fine texture, as on fabric.
			v := uint8((x*7 + y*3) % 256)
			src.SetRGBA(x, y, color.RGBA{v, uint8(x * 255 / 640), uint8((x ^ y) & 0xff), 255})
		}
	}
	cases := []struct {
		name   string
		sr, dr image.Rectangle
	}{
		{"shrink", image.Rect(100, 20, 500, 340), image.Rect(0, 0, 224, 224)},
		{"enlarge", image.Rect(300, 100, 380, 200), image.Rect(0, 0, 224, 224)},
		{"mixed", image.Rect(10, 10, 60, 350), image.Rect(0, 0, 128, 256)},
		{"offset destination", image.Rect(0, 0, 640, 360), image.Rect(0, 52, 224, 178)},
		{"identity", image.Rect(5, 5, 229, 229), image.Rect(0, 0, 224, 224)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := image.NewRGBA(image.Rect(0, 0, 224, 256))
			want := image.NewRGBA(got.Rect)
			scaleRGBA(got, c.dr, src, c.sr)
			xdraw.BiLinear.Scale(want, c.dr, src, c.sr, xdraw.Src, nil)
			var sum, n float64
			worst := 0
			for y := c.dr.Min.Y; y < c.dr.Max.Y; y++ {
				for x := c.dr.Min.X; x < c.dr.Max.X; x++ {
					i := got.PixOffset(x, y)
					for k := 0; k < 4; k++ {
						d := int(got.Pix[i+k]) - int(want.Pix[i+k])
						if d < 0 {
							d = -d
						}
						worst = max(worst, d)
						sum += float64(d)
						n++
					}
				}
			}
			// Edge pixels weigh their taps a little differently; the
			// mean difference is what an embedding sees.
			mean := sum / n
			t.Logf("mean difference %.3f, worst %d", mean, worst)
			if mean > 0.5 || worst > 24 {
				t.Errorf("mean difference %.3f, worst %d (want <= 0.5, <= 24)", mean, worst)
			}
		})
	}
}
