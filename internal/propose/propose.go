// Package propose finds class-agnostic object proposals in a frame: windows
// whose colours stand out from their surroundings. They complement a
// detector trained on a fixed set of classes, which gives no box for
// products outside them (a flat-lay garment, a shoe or a scarf laid into a
// scene).
//
// The frame is reduced to a small grid of quantised colours; an integral
// histogram per colour bin makes the colour histogram of any window, and of
// the ring around it, cost a constant number of operations. A window scores
// by the chi-squared distance between its histogram and its ring's (the
// centre-surround contrast of salient-object detection), so a window that
// fits an object tightly scores above one that cuts it or holds background
// too.
package propose

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"
)

// Box is a proposal in the pixel coordinates of the input image.
type Box struct {
	Rect image.Rectangle
	// Score is the centre-surround contrast in [0, 1]: 0 when the window
	// looks like its ring, 1 when they share no colour.
	Score float64
}

// Options tune the search. Zero fields take defaults.
type Options struct {
	// Grid is the longer side of the analysis grid in cells (default 96).
	Grid int
	// Sizes are window heights as fractions of the frame height (default
	// 0.2, 0.3, 0.42, 0.6).
	Sizes []float64
	// Aspects are window width/height ratios (default 0.45, 0.7, 1, 1.5):
	// products stand upright more often than they lie wide.
	Aspects []float64
	// Stride is the step between windows as a fraction of their side
	// (default 0.2).
	Stride float64
	// Ring is the width of the surround on each side as a fraction of the
	// window's side (default 0.3).
	Ring float64
	// EdgeWeight mixes in the contrast of edge density (mean gradient
	// inside against the ring): products are more textured than the
	// walls, floors and skies they stand on (default 0.5; negative: colour
	// only).
	EdgeWeight float64
	// Max is how many proposals are returned at most (default 3).
	Max int
	// MinScore drops windows with less contrast (default 0.3).
	MinScore float64
	// NMS is the IoU above which a lower-scoring window is dropped
	// (default 0.3).
	NMS float64
	// Exclude are boxes already proposed (by a detector); a window
	// overlapping one by more than ExcludeIoU (default 0.5) is dropped.
	Exclude    []image.Rectangle
	ExcludeIoU float64
}

func (o Options) withDefaults() Options {
	if o.Grid <= 0 {
		o.Grid = 96
	}
	if len(o.Sizes) == 0 {
		o.Sizes = []float64{0.2, 0.3, 0.42, 0.6}
	}
	if len(o.Aspects) == 0 {
		o.Aspects = []float64{0.45, 0.7, 1, 1.5}
	}
	if o.Stride <= 0 {
		o.Stride = 0.2
	}
	if o.Ring <= 0 {
		o.Ring = 0.3
	}
	if o.EdgeWeight == 0 {
		o.EdgeWeight = 0.5
	}
	if o.Max <= 0 {
		o.Max = 3
	}
	if o.MinScore <= 0 {
		o.MinScore = 0.3
	}
	if o.NMS <= 0 {
		o.NMS = 0.3
	}
	if o.ExcludeIoU <= 0 {
		o.ExcludeIoU = 0.5
	}
	return o
}

// bins per colour channel of the quantised grid.
const levels = 4

const nbins = levels * levels * levels

// ErrEmpty is returned for an image without pixels.
var ErrEmpty = errors.New("propose: empty image")

// Find returns up to o.Max proposals of img, best first.
func Find(img image.Image, o Options) ([]Box, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, ErrEmpty
	}
	o = o.withDefaults()
	for _, v := range o.Sizes {
		if v <= 0 || v > 1 || math.IsNaN(v) {
			return nil, fmt.Errorf("propose: window size %v outside (0, 1]", v)
		}
	}
	for _, v := range o.Aspects {
		if v <= 0 || v > 10 || math.IsNaN(v) {
			return nil, fmt.Errorf("propose: aspect %v outside (0, 10]", v)
		}
	}
	g := newGrid(img, o.Grid)
	var cands []Box
	hist := make([]float64, nbins)
	ring := make([]float64, nbins)
	for _, size := range o.Sizes {
		h := max(2, int(math.Round(size*float64(g.h))))
		for _, a := range o.Aspects {
			w := max(2, int(math.Round(float64(h)*a*g.cellAspect)))
			if w > g.w || h > g.h {
				continue
			}
			sx := max(1, int(math.Round(o.Stride*float64(w))))
			sy := max(1, int(math.Round(o.Stride*float64(h))))
			rw := max(1, int(math.Round(o.Ring*float64(w))))
			rh := max(1, int(math.Round(o.Ring*float64(h))))
			for y := 0; y+h <= g.h; y += sy {
				for x := 0; x+w <= g.w; x += sx {
					in := image.Rect(x, y, x+w, y+h)
					out := image.Rect(x-rw, y-rh, x+w+rw, y+h+rh).Intersect(image.Rect(0, 0, g.w, g.h))
					nIn := g.histogram(in, hist)
					nOut := g.histogram(out, ring)
					nRing := nOut - nIn
					// A window against the frame's edge on every side
					// has too little surround to judge.
					if nRing < nIn/4 {
						continue
					}
					var chi float64
					for b := range nbins {
						p := hist[b] / nIn
						q := (ring[b] - hist[b]) / nRing
						if s := p + q; s > 0 {
							chi += (p - q) * (p - q) / s
						}
					}
					score := chi / 2 // chi-squared of two distributions is at most 2
					if o.EdgeWeight > 0 {
						eIn := g.edgeSum(in) / nIn
						eRing := (g.edgeSum(out) - g.edgeSum(in)) / nRing
						ec := 0.0
						if eIn+eRing > 0 {
							ec = max(0, (eIn-eRing)/(eIn+eRing))
						}
						score = (1-o.EdgeWeight)*score + o.EdgeWeight*ec
					}
					if score >= o.MinScore {
						cands = append(cands, Box{Rect: in, Score: score})
					}
				}
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Score > cands[j].Score })
	b := img.Bounds()
	var kept []Box
	for _, c := range cands {
		r := g.toImage(c.Rect, b)
		ok := true
		for _, k := range kept {
			if iou(k.Rect, r) > o.NMS {
				ok = false
				break
			}
		}
		for _, e := range o.Exclude {
			if ok && iou(e, r) > o.ExcludeIoU {
				ok = false
			}
		}
		if ok {
			kept = append(kept, Box{Rect: r, Score: c.Score})
			if len(kept) == o.Max {
				break
			}
		}
	}
	return kept, nil
}

// grid is the quantised frame with an integral histogram: sums[b] holds,
// at (x, y), the count of cells of bin b above and left of it.
type grid struct {
	w, h int
	// cellAspect is a cell's height over its width in image pixels, so a
	// window's aspect is kept in image space.
	cellAspect float64
	sx, sy     float64 // image pixels per cell
	sums       [][]int32
	edges      []float64 // integral image of the cells' luminance gradient
}

func (g *grid) edgeSum(r image.Rectangle) float64 {
	w := g.w + 1
	s := g.edges
	return s[r.Max.Y*w+r.Max.X] - s[r.Min.Y*w+r.Max.X] - s[r.Max.Y*w+r.Min.X] + s[r.Min.Y*w+r.Min.X]
}

func newGrid(img image.Image, long int) *grid {
	b := img.Bounds()
	w, h := long, long
	if b.Dx() >= b.Dy() {
		h = max(1, int(math.Round(float64(long)*float64(b.Dy())/float64(b.Dx()))))
	} else {
		w = max(1, int(math.Round(float64(long)*float64(b.Dx())/float64(b.Dy()))))
	}
	w, h = min(w, b.Dx()), min(h, b.Dy())
	g := &grid{w: w, h: h, sx: float64(b.Dx()) / float64(w), sy: float64(b.Dy()) / float64(h)}
	g.cellAspect = g.sy / g.sx
	bins := make([]uint8, w*h)
	lum := make([]float64, w*h)
	rgba, _ := img.(*image.RGBA)
	for cy := range h {
		y0, y1 := b.Min.Y+int(float64(cy)*g.sy), b.Min.Y+int(float64(cy+1)*g.sy)
		for cx := range w {
			x0, x1 := b.Min.X+int(float64(cx)*g.sx), b.Min.X+int(float64(cx+1)*g.sx)
			// Box filter over the cell, on a sparse lattice of at most
			// 4x4 pixels: the grid only needs the cell's mean colour.
			var r, gg, bb, n uint32
			stepX, stepY := max(1, (x1-x0)/4), max(1, (y1-y0)/4)
			for y := y0; y < max(y1, y0+1); y += stepY {
				for x := x0; x < max(x1, x0+1); x += stepX {
					var pr, pg, pb uint32
					if rgba != nil {
						i := rgba.PixOffset(x, y)
						pr, pg, pb = uint32(rgba.Pix[i]), uint32(rgba.Pix[i+1]), uint32(rgba.Pix[i+2])
					} else {
						R, G, B, _ := img.At(x, y).RGBA()
						pr, pg, pb = R>>8, G>>8, B>>8
					}
					r, gg, bb, n = r+pr, gg+pg, bb+pb, n+1
				}
			}
			lum[cy*w+cx] = float64(r+gg+bb) / float64(3*n)
			q := func(v uint32) int { return min(levels-1, int(v/n)*levels/256) }
			bins[cy*w+cx] = uint8((q(r)*levels+q(gg))*levels + q(bb))
		}
	}
	stride := (w + 1) * (h + 1)
	g.edges = make([]float64, stride)
	at := func(x, y int) float64 { return lum[min(h-1, max(0, y))*w+min(w-1, max(0, x))] }
	for y := range h {
		for x := range w {
			e := math.Abs(at(x+1, y)-at(x-1, y)) + math.Abs(at(x, y+1)-at(x, y-1))
			g.edges[(y+1)*(w+1)+x+1] = e + g.edges[y*(w+1)+x+1] + g.edges[(y+1)*(w+1)+x] - g.edges[y*(w+1)+x]
		}
	}
	g.sums = make([][]int32, nbins)
	for k := range g.sums {
		g.sums[k] = make([]int32, stride)
	}
	for y := range h {
		for x := range w {
			k := int(bins[y*w+x])
			for b := range nbins {
				s := g.sums[b]
				v := s[y*(w+1)+x+1] + s[(y+1)*(w+1)+x] - s[y*(w+1)+x]
				if b == k {
					v++
				}
				s[(y+1)*(w+1)+x+1] = v
			}
		}
	}
	return g
}

// histogram fills dst with the bin counts of r (in cells) and returns the
// number of cells.
func (g *grid) histogram(r image.Rectangle, dst []float64) float64 {
	w := g.w + 1
	a, bb, c, d := r.Min.Y*w+r.Min.X, r.Min.Y*w+r.Max.X, r.Max.Y*w+r.Min.X, r.Max.Y*w+r.Max.X
	for k, s := range g.sums {
		dst[k] = float64(s[d] - s[bb] - s[c] + s[a])
	}
	return float64(r.Dx() * r.Dy())
}

// toImage maps a rectangle of cells to image pixels.
func (g *grid) toImage(r image.Rectangle, b image.Rectangle) image.Rectangle {
	return image.Rect(
		b.Min.X+int(math.Round(float64(r.Min.X)*g.sx)), b.Min.Y+int(math.Round(float64(r.Min.Y)*g.sy)),
		b.Min.X+int(math.Round(float64(r.Max.X)*g.sx)), b.Min.Y+int(math.Round(float64(r.Max.Y)*g.sy)),
	).Intersect(b)
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	return ia / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ia)
}
