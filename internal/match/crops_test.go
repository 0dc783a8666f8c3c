package match

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

func TestSelectCrops(t *testing.T) {
	good := CropInfo{Score: 0.9, AreaFrac: 0.1, Sharpness: 300}
	at := func(c CropInfo, t float64) CropInfo { c.T = t; return c }
	blurred := good
	blurred.Sharpness = 5
	cut := good
	cut.EdgeCut = 0.5
	hidden := good
	hidden.Occlusion = 0.7
	tiny := good
	tiny.AreaFrac = 0.0005
	tests := []struct {
		name string
		cs   []CropInfo
		k    int
		gap  float64
		want []int
	}{
		{"none", nil, 3, 0.5, nil},
		{"k zero", []CropInfo{good}, 0, 0.5, nil},
		{"best first", []CropInfo{at(blurred, 0), at(cut, 1), at(good, 2), at(hidden, 3), at(tiny, 4)}, 1, 0.1, []int{2}},
		{"spread over time", []CropInfo{at(good, 0), at(good, 0.2), at(good, 3)}, 2, 1, []int{0, 2}},
		{"fills from near ones when needed", []CropInfo{at(good, 0), at(good, 0.2)}, 2, 1, []int{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SelectCrops(tc.cs, tc.k, tc.gap)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	for _, c := range []CropInfo{blurred, cut, hidden, tiny} {
		if Quality(c) >= Quality(good) {
			t.Errorf("Quality(%+v) = %.3f not below a good crop's %.3f", c, Quality(c), Quality(good))
		}
	}
}

func TestEdgeCutAndOcclusion(t *testing.T) {
	r := image.Rect(0, 100, 100, 200)
	if got := EdgeCut(r, 640, 360, 2); math.Abs(got-0.25) > 1e-9 {
		t.Errorf("EdgeCut left edge = %v, want 0.25", got)
	}
	if got := EdgeCut(image.Rect(50, 50, 60, 60), 640, 360, 2); got != 0 {
		t.Errorf("EdgeCut inside = %v", got)
	}
	if got := EdgeCut(image.Rect(0, 0, 640, 360), 640, 360, 2); got != 1 {
		t.Errorf("EdgeCut full frame = %v", got)
	}
	others := []image.Rectangle{r, image.Rect(50, 100, 150, 200), image.Rect(500, 0, 600, 10)}
	if got := Occlusion(r, others); math.Abs(got-0.5) > 1e-9 {
		t.Errorf("Occlusion = %v, want 0.5", got)
	}
	if got := Occlusion(image.Rectangle{}, others); got != 0 {
		t.Errorf("Occlusion of empty box = %v", got)
	}
}

func checker(n, cell int, blur bool) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			v := uint8(0)
			if (x/cell+y/cell)%2 == 0 {
				v = 255
			}
			if blur { // a smooth ramp has no high-frequency content
				v = uint8(x * 255 / n)
			}
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

func TestSharpness(t *testing.T) {
	sharp := Sharpness(checker(64, 4, false), image.Rect(0, 0, 64, 64))
	smooth := Sharpness(checker(64, 4, true), image.Rect(0, 0, 64, 64))
	if sharp < 1000 || smooth > 1 {
		t.Fatalf("sharp %.1f, smooth %.1f", sharp, smooth)
	}
	if got := Sharpness(checker(64, 4, false), image.Rect(100, 100, 200, 200)); got != 0 {
		t.Fatalf("outside the image: %v", got)
	}
}

// nrgbaOnly hides the *image.RGBA type so Sharpness takes its generic path.
type nrgbaOnly struct{ image.Image }

func TestSharpnessRGBAFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	img := image.NewRGBA(image.Rect(10, 20, 410, 320))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	for _, r := range []image.Rectangle{image.Rect(10, 20, 410, 320), image.Rect(50, 60, 90, 200), image.Rect(0, 0, 30, 30), image.Rect(400, 300, 500, 400)} {
		if fast, slow := Sharpness(img, r), Sharpness(nrgbaOnly{img}, r); fast != slow {
			t.Errorf("rect %v: RGBA path %v, generic path %v", r, fast, slow)
		}
	}
}

func BenchmarkSharpness(b *testing.B) {
	img := checker(640, 4, false)
	r := image.Rect(100, 100, 400, 500)
	for _, bc := range []struct {
		name string
		img  image.Image
	}{{"rgba", img}, {"generic", nrgbaOnly{img}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				Sharpness(bc.img, r)
			}
		})
	}
}

func TestColourHistogram(t *testing.T) {
	fill := func(c color.RGBA) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 40, 40))
		for y := range 40 {
			for x := range 40 {
				img.Set(x, y, c)
			}
		}
		return img
	}
	r := image.Rect(0, 0, 40, 40)
	red := ColourHistogram(fill(color.RGBA{200, 20, 20, 255}), r, false)
	red2 := ColourHistogram(fill(color.RGBA{180, 30, 25, 255}), r, false)
	blue := ColourHistogram(fill(color.RGBA{20, 40, 200, 255}), r, false)
	black := ColourHistogram(fill(color.RGBA{10, 10, 10, 255}), r, false)
	white := fill(color.RGBA{255, 255, 255, 255})
	if len(red) != ColourDim {
		t.Fatalf("len = %d", len(red))
	}
	if s := HistogramIntersection(red, red2); s < 0.6 {
		t.Errorf("red vs dark red = %v", s)
	}
	if s := HistogramIntersection(red, blue); s > 0.05 {
		t.Errorf("red vs blue = %v", s)
	}
	if s := HistogramIntersection(black, blue); s > 0.01 {
		t.Errorf("black vs blue = %v", s)
	}
	if h := ColourHistogram(white, r, true); h != nil {
		t.Errorf("all-white packshot with skipWhite = %v", h)
	}
	if h := ColourHistogram(white, image.Rect(50, 50, 60, 60), false); h != nil {
		t.Errorf("box outside image = %v", h)
	}
	if !math.IsNaN(HistogramIntersection(red, nil)) {
		t.Error("missing histogram must give NaN")
	}
}
