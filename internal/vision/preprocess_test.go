package vision

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"
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
