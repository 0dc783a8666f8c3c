package gen

import (
	"image"
	"slices"
	"sync"

	xdraw "golang.org/x/image/draw"
)

// On-model photos: the product is worn by a model in front of a studio
// backdrop or in a lifestyle scene. Their ground truth box is the extent of
// the foreground, found without a model: what differs from the photo's
// border colours.

const (
	// photoMaxH is the height on-model photos are scaled down to.
	photoMaxH = 768
	// fgTol is the largest per-channel difference from a border colour
	// still counted as background.
	fgTol = 24
	// fgOpen is the radius of the morphological opening of the
	// foreground mask.
	fgOpen = 2
	// fgMinArea, fgMaxArea bound a plausible foreground box as a fraction
	// of the photo area.
	fgMinArea, fgMaxArea = 0.15, 0.97
	// fgFallbackW is the central fraction of the photo width used when the
	// measured box is implausible.
	fgFallbackW = 0.70
)

// loadPhoto reads an on-model photo, scaled down (Catmull-Rom) to at most
// photoMaxH pixels high, keeping its aspect ratio.
func loadPhoto(path string) (*image.RGBA, error) {
	img, err := readImage(path)
	if err != nil {
		return nil, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if h <= photoMaxH {
		return img, nil
	}
	nw := max(1, int(float64(w)*photoMaxH/float64(h)+0.5))
	return resizeRGBA(img, nw, photoMaxH), nil
}

// resizeRGBA scales img to w x h with a Catmull-Rom filter.
func resizeRGBA(img *image.RGBA, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(out, out.Rect, img, img.Rect, xdraw.Src, nil)
	return out
}

// fgBox is the foreground of a photo, in fractions of its width and height.
type fgBox struct {
	X0, Y0, X1, Y1 float64
	// Measured is false when the measured box was implausible and the
	// central fallback is used.
	Measured bool
}

// photoInfo is what planning needs of an on-model photo: its size once
// loaded (loadPhoto) and its foreground.
type photoInfo struct {
	W, H int
	FG   fgBox
}

var photoCache = struct {
	sync.Mutex
	m map[string]photoInfo
}{m: map[string]photoInfo{}}

// photoInfoOf returns the size and foreground box of the photo at path,
// computed once per path and process.
func photoInfoOf(path string) (photoInfo, error) {
	photoCache.Lock()
	pi, ok := photoCache.m[path]
	photoCache.Unlock()
	if ok {
		return pi, nil
	}
	img, err := loadPhoto(path)
	if err != nil {
		return photoInfo{}, err
	}
	pi = photoInfo{W: img.Rect.Dx(), H: img.Rect.Dy(), FG: foreground(img)}
	photoCache.Lock()
	photoCache.m[path] = pi
	photoCache.Unlock()
	return pi, nil
}

// foreground returns the box of img's foreground, or the central fallback
// when the measured box covers under fgMinArea or over fgMaxArea of the
// photo (a busy background, or a photo with no border to speak of).
func foreground(img *image.RGBA) fgBox {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	r, ok := foregroundRect(img)
	if ok {
		if frac := float64(r.Dx()*r.Dy()) / float64(w*h); frac >= fgMinArea && frac <= fgMaxArea {
			return fgBox{
				X0: float64(r.Min.X) / float64(w), Y0: float64(r.Min.Y) / float64(h),
				X1: float64(r.Max.X) / float64(w), Y1: float64(r.Max.Y) / float64(h),
				Measured: true,
			}
		}
	}
	return fgBox{X0: (1 - fgFallbackW) / 2, Y0: 0, X1: (1 + fgFallbackW) / 2, Y1: 1}
}

// foregroundRect measures the pixel bounding box of img's foreground:
//
//  1. the background colours are those of the four corners (medians of
//     small patches) and of the border segments (eighths of each edge, a
//     few pixels deep) whose median is close to the colour interpolated
//     between that edge's corners, so a garment touching the border does
//     not count as backdrop;
//  2. background is every pixel within fgTol of one of those colours and
//     connected to the border through such pixels (a flood fill, as the
//     packshot cut-out does for white);
//  3. the rest is opened (eroded, then dilated) by fgOpen pixels, and
//     connected parts under 0.5 % of the photo are dropped.
//
// ok is false when no foreground is left.
func foregroundRect(img *image.RGBA) (image.Rectangle, bool) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	px := func(x, y int) [3]int {
		o := img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)
		return [3]int{int(img.Pix[o]), int(img.Pix[o+1]), int(img.Pix[o+2])}
	}
	median := func(x0, y0, x1, y1 int) [3]int {
		var ch [3][]int
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				p := px(x, y)
				for k := range 3 {
					ch[k] = append(ch[k], p[k])
				}
			}
		}
		var m [3]int
		for k := range 3 {
			slices.Sort(ch[k])
			m[k] = ch[k][len(ch[k])/2]
		}
		return m
	}
	c := max(2, min(w, h)/24)
	tl, tr := median(0, 0, c, c), median(w-c, 0, w, c)
	bl, br := median(0, h-c, c, h), median(w-c, h-c, w, h)
	palette := [][3]int{tl, tr, bl, br}
	const nseg, depth = 8, 3
	edge := func(a, b [3]int, seg func(i int) [3]int) {
		for i := range nseg {
			t := (float64(i) + 0.5) / nseg
			m := seg(i)
			var want [3]int
			for k := range 3 {
				want[k] = int(float64(a[k])*(1-t) + float64(b[k])*t + 0.5)
			}
			if dist(m, want) <= 2*fgTol {
				palette = append(palette, m)
			}
		}
	}
	edge(tl, tr, func(i int) [3]int { return median(i*w/nseg, 0, (i+1)*w/nseg, depth) })
	edge(bl, br, func(i int) [3]int { return median(i*w/nseg, h-depth, (i+1)*w/nseg, h) })
	edge(tl, bl, func(i int) [3]int { return median(0, i*h/nseg, depth, (i+1)*h/nseg) })
	edge(tr, br, func(i int) [3]int { return median(w-depth, i*h/nseg, w, (i+1)*h/nseg) })
	backdrop := func(x, y int) bool {
		p := px(x, y)
		for _, q := range palette {
			if dist(p, q) <= fgTol {
				return true
			}
		}
		return false
	}

	bg := make([]bool, w*h)
	stack := make([]int, 0, 2*(w+h))
	push := func(x, y int) {
		if i := y*w + x; !bg[i] && backdrop(x, y) {
			bg[i] = true
			stack = append(stack, i)
		}
	}
	for x := range w {
		push(x, 0)
		push(x, h-1)
	}
	for y := range h {
		push(0, y)
		push(w-1, y)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := i%w, i/w
		if x > 0 {
			push(x-1, y)
		}
		if x < w-1 {
			push(x+1, y)
		}
		if y > 0 {
			push(x, y-1)
		}
		if y < h-1 {
			push(x, y+1)
		}
	}
	fg := make([]bool, w*h)
	for i, b := range bg {
		fg[i] = !b
	}
	fg = dilate(erode(fg, w, h, fgOpen), w, h, fgOpen)
	return largeParts(fg, w, h, max(1, w*h/200))
}

// dist is the largest per-channel difference of two colours.
func dist(a, b [3]int) int {
	d := 0
	for k := range 3 {
		d = max(d, abs(a[k]-b[k]))
	}
	return d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// erode keeps the pixels whose (2r+1)² square neighbourhood is all set
// (pixels outside the image count as set).
func erode(m []bool, w, h, r int) []bool {
	return morph(m, w, h, r, true)
}

// dilate sets the pixels with a set pixel in their (2r+1)² neighbourhood.
func dilate(m []bool, w, h, r int) []bool {
	return morph(m, w, h, r, false)
}

// morph is a separable square min (all) or max (any) filter.
func morph(m []bool, w, h, r int, all bool) []bool {
	pass := func(src []bool, dx, dy int) []bool {
		dst := make([]bool, len(src))
		for y := range h {
			for x := range w {
				v := all
				for i := -r; i <= r; i++ {
					xx, yy := x+i*dx, y+i*dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					if src[yy*w+xx] != all {
						v = !all
						break
					}
				}
				dst[y*w+x] = v
			}
		}
		return dst
	}
	return pass(pass(m, 1, 0), 0, 1)
}

// largeParts returns the bounding box of the 8-connected parts of m with
// at least minPix pixels.
func largeParts(m []bool, w, h, minPix int) (image.Rectangle, bool) {
	seen := make([]bool, len(m))
	box := image.Rectangle{Min: image.Pt(w, h)}
	found := false
	var stack []int
	for start, set := range m {
		if !set || seen[start] {
			continue
		}
		seen[start] = true
		stack = append(stack[:0], start)
		part := image.Rectangle{Min: image.Pt(w, h)}
		n := 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := i%w, i/w
			part.Min.X, part.Min.Y = min(part.Min.X, x), min(part.Min.Y, y)
			part.Max.X, part.Max.Y = max(part.Max.X, x+1), max(part.Max.Y, y+1)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					if j := yy*w + xx; m[j] && !seen[j] {
						seen[j] = true
						stack = append(stack, j)
					}
				}
			}
		}
		if n >= minPix {
			box = box.Union(part)
			found = true
		}
	}
	return box, found
}
