package imageio

import (
	"image"
	"image/color"
	"testing"
)

func TestBorderWhite(t *testing.T) {
	// A dark ring on white with white inside it, in an image whose
	// rectangle does not start at the origin.
	img := image.NewRGBA(image.Rect(10, 20, 30, 40))
	for y := 20; y < 40; y++ {
		for x := 10; x < 30; x++ {
			c := color.RGBA{250, 252, 249, 255}
			if x >= 14 && x < 26 && y >= 24 && y < 36 && !(x >= 17 && x < 23 && y >= 27 && y < 33) {
				c = color.RGBA{20, 20, 20, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	bg, n := BorderWhite(img, 8)
	if want := 20*20 - 12*12; n != want {
		t.Errorf("n = %d, want %d border-connected white pixels", n, want)
	}
	at := func(x, y int) bool { return bg[(y-20)*20+(x-10)] }
	if !at(10, 20) || !at(29, 39) || at(15, 25) || at(20, 30) {
		t.Error("mask marks the ring or its inside, or misses the border")
	}
	// A tolerance below the white's distance from 255 marks nothing.
	if _, n := BorderWhite(img, 2); n != 0 {
		t.Errorf("tol 2: n = %d, want 0", n)
	}
	if bg, n := BorderWhite(image.NewRGBA(image.Rectangle{}), 8); bg != nil || n != 0 {
		t.Error("empty image gave a mask")
	}
}
