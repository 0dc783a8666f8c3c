package catalog

import (
	"image"
	"image/color"
	"testing"
)

// fill paints r of img with c.
func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// extent returns the bounding box of the pixels of view equal to c.
func extent(view *image.RGBA, c color.RGBA) image.Rectangle {
	var r image.Rectangle
	for y := view.Rect.Min.Y; y < view.Rect.Max.Y; y++ {
		for x := view.Rect.Min.X; x < view.Rect.Max.X; x++ {
			if view.RGBAAt(x, y) == c {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func TestSceneView(t *testing.T) {
	white := color.RGBA{255, 255, 255, 255}
	red := color.RGBA{200, 20, 20, 255}
	blue := color.RGBA{20, 40, 180, 255}
	// A tall item on a white packshot.
	packshot := image.NewRGBA(image.Rect(0, 0, 300, 300))
	fill(packshot, packshot.Rect, white)
	fill(packshot, image.Rect(120, 30, 180, 270), red)
	// A photo with no white border: an item on a blue scene.
	photo := image.NewRGBA(image.Rect(0, 0, 300, 300))
	fill(photo, photo.Rect, blue)
	fill(photo, image.Rect(120, 30, 180, 270), red)
	// A small packshot with its item against the left edge.
	small := image.NewRGBA(image.Rect(0, 0, 60, 60))
	fill(small, small.Rect, white)
	fill(small, image.Rect(0, 20, 20, 40), red)
	// A blank image: no item at all.
	blank := image.NewRGBA(image.Rect(0, 0, 200, 100))
	fill(blank, blank.Rect, white)

	tests := []struct {
		name       string
		img        *image.RGBA
		box        image.Rectangle
		side       int
		corner     color.RGBA // the view's top-left pixel
		itemAspect float64    // height/width of the red item in the view; 0 = none
	}{
		// The white becomes grey and the item keeps its 4:1 shape,
		// centred in a square scaled down to sceneSide.
		{"packshot", packshot, image.Rect(120, 30, 180, 270), sceneSide, sceneGrey, 4},
		// A scene's own background is kept around the item.
		{"photo", photo, image.Rect(120, 30, 180, 270), sceneSide, blue, 4},
		// A view smaller than sceneSide is not scaled up, and what lies
		// beyond the image is grey too.
		{"small near edge", small, image.Rect(0, 20, 20, 40), 25, sceneGrey, 1},
		// An empty box falls back to the whole image; with no item in
		// it, its white is kept, and beyond it is grey.
		{"empty box", blank, image.Rectangle{}, sceneSide, sceneGrey, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := SceneView(tc.img, tc.box)
			if v.Rect != image.Rect(0, 0, tc.side, tc.side) {
				t.Fatalf("view is %v, want a %d-pixel square", v.Rect, tc.side)
			}
			if c := v.RGBAAt(0, 0); c != tc.corner {
				t.Errorf("corner pixel = %v, want %v", c, tc.corner)
			}
			item := extent(v, red)
			if tc.itemAspect == 0 {
				if !item.Empty() {
					t.Errorf("item found at %v in a blank image", item)
				}
				if c := v.RGBAAt(tc.side/2, tc.side/2); c != white {
					t.Errorf("centre pixel = %v, want the image's own white", c)
				}
				return
			}
			if item.Empty() {
				t.Fatal("item missing from the view")
			}
			if a := float64(item.Dy()) / float64(item.Dx()); a < tc.itemAspect*0.85 || a > tc.itemAspect*1.15 {
				t.Errorf("item is %v in the view (aspect %.2f), want aspect %.1f", item, a, tc.itemAspect)
			}
			// The longer side fills the view less its margin.
			long := float64(max(item.Dx(), item.Dy())) / float64(tc.side)
			if want := 1 / (1 + sceneMargin); long < want-0.08 || long > want+0.04 {
				t.Errorf("item's longer side is %.2f of the view, want about %.2f", long, want)
			}
		})
	}
}

func TestWhiteBackground(t *testing.T) {
	white := color.RGBA{250, 250, 248, 255}
	dark := color.RGBA{30, 30, 30, 255}
	// A white shirt on white keeps its inside: only white connected to
	// the border is background.
	ring := image.NewRGBA(image.Rect(0, 0, 50, 50))
	fill(ring, ring.Rect, white)
	fill(ring, image.Rect(10, 10, 40, 40), dark)
	fill(ring, image.Rect(20, 20, 30, 30), white)
	bg := whiteBackground(ring)
	if bg == nil {
		t.Fatal("packshot not recognised")
	}
	for _, p := range []struct {
		x, y int
		want bool
	}{{0, 0, true}, {5, 45, true}, {15, 15, false}, {25, 25, false}} {
		if got := bg[p.y*50+p.x]; got != p.want {
			t.Errorf("background at (%d,%d) = %v, want %v", p.x, p.y, got, p.want)
		}
	}
	// All white, or no white at all, is no packshot.
	allWhite := image.NewRGBA(image.Rect(0, 0, 20, 20))
	fill(allWhite, allWhite.Rect, white)
	allDark := image.NewRGBA(image.Rect(0, 0, 20, 20))
	fill(allDark, allDark.Rect, dark)
	for name, img := range map[string]*image.RGBA{"all white": allWhite, "no white": allDark} {
		if whiteBackground(img) != nil {
			t.Errorf("%s: treated as a packshot", name)
		}
	}
}
