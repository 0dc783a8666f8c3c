package augment

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// pattern is a small image whose every pixel differs, so a misplaced
// sample shows.
func pattern(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 11), uint8(x*y + 3), 255})
		}
	}
	return img
}

func TestViewGeometry(t *testing.T) {
	src := pattern(40, 30)
	tests := []struct {
		name string
		p    Params
		want func(x, y int) color.RGBA
	}{
		{"no change is the source", Params{}, func(x, y int) color.RGBA { return src.RGBAAt(x, y) }},
		{"mirror", Params{Mirror: 1}, func(x, y int) color.RGBA { return src.RGBAAt(39-x, y) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.Cover = 0
			got := View(src, p, rand.New(rand.NewPCG(1, 2)))
			if got.Bounds().Dx() != 40 || got.Bounds().Dy() != 30 {
				t.Fatalf("size %v, want 40x30", got.Bounds())
			}
			for y := range 30 {
				for x := range 40 {
					if g, w := got.RGBAAt(x, y), tc.want(x, y); g != w {
						t.Fatalf("pixel %d,%d = %v, want %v", x, y, g, w)
					}
				}
			}
		})
	}
}

func TestViewSubImage(t *testing.T) {
	// A sub-image (a catalog photo's main item) is sampled in its own
	// coordinates, not the parent's origin.
	src := pattern(60, 50)
	sub := src.SubImage(image.Rect(10, 20, 40, 45))
	got := View(sub, Params{}, rand.New(rand.NewPCG(1, 2)))
	if got.Bounds().Dx() != 30 || got.Bounds().Dy() != 25 {
		t.Fatalf("size %v, want 30x25", got.Bounds())
	}
	if g, w := got.RGBAAt(0, 0), src.RGBAAt(10, 20); g != w {
		t.Fatalf("corner %v, want %v", g, w)
	}
}

func TestViewDeterministicAndBounded(t *testing.T) {
	src := pattern(400, 300)
	p := Default()
	a := View(src, p, rand.New(rand.NewPCG(7, 7)))
	b := View(src, p, rand.New(rand.NewPCG(7, 7)))
	c := View(src, p, rand.New(rand.NewPCG(8, 7)))
	if string(a.Pix) != string(b.Pix) {
		t.Error("the same seed gave different views")
	}
	if string(a.Pix) == string(c.Pix) {
		t.Error("different seeds gave the same view")
	}
	for _, v := range []*image.RGBA{a, c} {
		if d := max(v.Bounds().Dx(), v.Bounds().Dy()); d > p.Size {
			t.Errorf("longest side %d, want at most %d", d, p.Size)
		}
	}
	if got := View(image.NewRGBA(image.Rectangle{}), p, rand.New(rand.NewPCG(1, 1))); got.Bounds().Empty() {
		t.Error("an empty source gave an empty view")
	}
}

func BenchmarkView(b *testing.B) {
	src := pattern(600, 800)
	p := Default()
	rng := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		View(src, p, rng)
	}
}
