package propose

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// scene draws a frame of mottled background with one object on it, striped
// as products are more textured than the walls they stand against.
func scene(w, h int, obj image.Rectangle, bg, fg color.RGBA, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := bg
			if (image.Point{x, y}).In(obj) {
				c = fg
				if (y/6)%2 == 1 {
					c.R, c.G, c.B = c.R/2+20, c.G/2+20, c.B/2+20
				}
			}
			j := func(v uint8) uint8 { return uint8(min(255, max(0, int(v)+r.IntN(31)-15))) }
			img.SetRGBA(x, y, color.RGBA{j(c.R), j(c.G), j(c.B), 255})
		}
	}
	return img
}

func TestFindLocatesObject(t *testing.T) {
	cases := []struct {
		name   string
		w, h   int
		obj    image.Rectangle
		bg, fg color.RGBA
	}{
		{"tall red on grey", 640, 360, image.Rect(380, 60, 480, 260), color.RGBA{120, 120, 120, 255}, color.RGBA{200, 40, 40, 255}},
		{"wide dark on beige", 640, 360, image.Rect(60, 190, 255, 320), color.RGBA{220, 200, 170, 255}, color.RGBA{30, 30, 60, 255}},
		{"square on portrait", 360, 640, image.Rect(100, 250, 260, 410), color.RGBA{40, 120, 40, 255}, color.RGBA{240, 240, 240, 255}},
	}
	for i, c := range cases {
		for _, ew := range []float64{0, -1} { // default mix, colour only
			t.Run(fmt.Sprintf("%s edge weight %v", c.name, ew), func(t *testing.T) {
				findObject(t, scene(c.w, c.h, c.obj, c.bg, c.fg, uint64(i)), c.obj, ew)
			})
		}
	}
}

// findObject checks that the best proposal of img is obj and that none is
// left once obj is excluded.
func findObject(t *testing.T, img *image.RGBA, obj image.Rectangle, edgeWeight float64) {
	t.Helper()
	c := struct{ obj image.Rectangle }{obj}
	{
		{
			got, err := Find(img, Options{EdgeWeight: edgeWeight})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Fatal("no proposals")
			}
			if v := iou(got[0].Rect, c.obj); v < 0.5 {
				t.Errorf("best proposal %v (score %.2f) overlaps the object %v by IoU %.2f, want >= 0.5", got[0].Rect, got[0].Score, c.obj, v)
			}
			// Excluding the object's box (as a detector box) removes it.
			got, err = Find(img, Options{EdgeWeight: edgeWeight, Exclude: []image.Rectangle{c.obj}})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range got {
				if iou(b.Rect, c.obj) > 0.5 {
					t.Errorf("proposal %v repeats the excluded box %v", b.Rect, c.obj)
				}
			}
		}
	}
}

func TestFindUniformFrame(t *testing.T) {
	img := scene(320, 180, image.Rectangle{}, color.RGBA{90, 100, 110, 255}, color.RGBA{}, 7)
	got, err := Find(img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("uniform frame gave %d proposals, best %v score %.2f", len(got), got[0].Rect, got[0].Score)
	}
}

func TestFindBadInput(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	cases := []struct {
		name string
		img  image.Image
		o    Options
	}{
		{"nil image", nil, Options{}},
		{"empty image", image.NewRGBA(image.Rect(0, 0, 0, 0)), Options{}},
		{"size above 1", img, Options{Sizes: []float64{1.5}}},
		{"negative aspect", img, Options{Aspects: []float64{-1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Find(c.img, c.o); err == nil {
				t.Error("no error")
			}
		})
	}
	// Tiny and non-RGBA images work.
	for _, im := range []image.Image{image.NewRGBA(image.Rect(0, 0, 1, 1)), image.NewGray(image.Rect(3, 5, 50, 40))} {
		if _, err := Find(im, Options{}); err != nil {
			t.Errorf("%T %v: %v", im, im.Bounds(), err)
		}
	}
}

func BenchmarkFind(b *testing.B) {
	img := scene(640, 360, image.Rect(380, 60, 480, 260), color.RGBA{120, 120, 120, 255}, color.RGBA{200, 40, 40, 255}, 1)
	for b.Loop() {
		if _, err := Find(img, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
