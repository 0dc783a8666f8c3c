package imageio

import (
	"image"
	"image/color"
	"testing"
)

// noSub hides SubImage so Crop has to copy.
type noSub struct{ image.Image }

func TestCrop(t *testing.T) {
	src := image.NewRGBA(image.Rect(10, 20, 30, 40))
	for y := 20; y < 40; y++ {
		for x := 10; x < 30; x++ {
			src.Set(x, y, color.RGBA{uint8(x), uint8(y), 0, 255})
		}
	}
	for _, tc := range []struct {
		name   string
		img    image.Image
		r      image.Rectangle
		bounds image.Rectangle // of the result
		origin image.Point     // source pixel at the result's Min
	}{
		{"inside, SubImage", src, image.Rect(12, 22, 18, 30), image.Rect(12, 22, 18, 30), image.Pt(12, 22)},
		{"clamped, SubImage", src, image.Rect(0, 0, 15, 25), image.Rect(10, 20, 15, 25), image.Pt(10, 20)},
		{"inside, copied", noSub{src}, image.Rect(12, 22, 18, 30), image.Rect(0, 0, 6, 8), image.Pt(12, 22)},
		{"clamped, copied", noSub{src}, image.Rect(25, 35, 50, 50), image.Rect(0, 0, 5, 5), image.Pt(25, 35)},
		{"outside", src, image.Rect(100, 100, 110, 110), image.Rectangle{}, image.Point{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Crop(tc.img, tc.r)
			if got.Bounds() != tc.bounds {
				t.Fatalf("bounds %v, want %v", got.Bounds(), tc.bounds)
			}
			if tc.bounds.Empty() {
				return
			}
			b := got.Bounds()
			for _, d := range []image.Point{{0, 0}, {b.Dx() - 1, b.Dy() - 1}} {
				want := src.At(tc.origin.X+d.X, tc.origin.Y+d.Y)
				if c := got.At(b.Min.X+d.X, b.Min.Y+d.Y); c != want {
					t.Errorf("pixel %v: %v, want %v", d, c, want)
				}
			}
		})
	}
}
