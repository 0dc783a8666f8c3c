package match

import (
	"image"
	"math"
	"sort"
)

// CropInfo describes one detection of a track as a candidate crop to embed.
type CropInfo struct {
	T         float64 // time in seconds
	Score     float64 // detection confidence 0..1
	AreaFrac  float64 // box area over frame area
	Sharpness float64 // variance of the Laplacian of the crop (see Sharpness)
	// EdgeCut is the fraction of the box perimeter lying on the frame
	// border: a box cut by the frame edge shows only part of the item.
	EdgeCut float64
	// Occlusion is the largest fraction of the box covered by another
	// detection of the same frame.
	Occlusion float64
}

// Quality scores a crop for matching: large, sharp, confidently detected,
// whole and unoccluded crops score high. The result is in 0..1.
func Quality(c CropInfo) float64 {
	// Sharpness saturates: past ~200 (grey levels squared) more edges do
	// not make a crop more useful, and noise also raises the variance.
	sharp := 1 - math.Exp(-c.Sharpness/120)
	// Area on a log scale: a box of 1% of the frame is small, 25% large.
	area := clamp01((math.Log10(math.Max(c.AreaFrac, 1e-5)) + 2.5) / 2)
	q := 0.35*sharp + 0.3*area + 0.2*clamp01(c.Score) + 0.15
	// Below about 0.2% of the frame a crop is a few dozen pixels across:
	// too small to embed, whatever else it has going for it.
	q *= math.Sqrt(clamp01(c.AreaFrac / 0.002))
	q *= 1 - 0.6*clamp01(c.EdgeCut)
	q *= 1 - 0.8*clamp01(c.Occlusion)
	return clamp01(q)
}

// SelectCrops returns the indices of up to k crops to embed, best quality
// first, spread over time: a crop closer than minGap seconds to an already
// chosen one is taken only when nothing else is left.
func SelectCrops(cs []CropInfo, k int, minGap float64) []int {
	if k <= 0 || len(cs) == 0 {
		return nil
	}
	order := make([]int, len(cs))
	q := make([]float64, len(cs))
	for i := range cs {
		order[i] = i
		q[i] = Quality(cs[i])
	}
	sort.SliceStable(order, func(a, b int) bool { return q[order[a]] > q[order[b]] })
	var out, later []int
	for _, i := range order {
		if len(out) == k {
			break
		}
		near := false
		for _, j := range out {
			if math.Abs(cs[i].T-cs[j].T) < minGap {
				near = true
				break
			}
		}
		if near {
			later = append(later, i)
			continue
		}
		out = append(out, i)
	}
	for _, i := range later {
		if len(out) == k {
			break
		}
		out = append(out, i)
	}
	return out
}

// EdgeCut returns the fraction of the perimeter of box r that lies on the
// border of a frame of size w x h (within tol pixels).
func EdgeCut(r image.Rectangle, w, h, tol int) float64 {
	bw, bh := float64(r.Dx()), float64(r.Dy())
	if bw <= 0 || bh <= 0 {
		return 0
	}
	var on float64
	if r.Min.X <= tol {
		on += bh
	}
	if r.Max.X >= w-tol {
		on += bh
	}
	if r.Min.Y <= tol {
		on += bw
	}
	if r.Max.Y >= h-tol {
		on += bw
	}
	return on / (2 * (bw + bh))
}

// Occlusion returns the largest fraction of r covered by any of others.
func Occlusion(r image.Rectangle, others []image.Rectangle) float64 {
	a := float64(r.Dx() * r.Dy())
	if a <= 0 {
		return 0
	}
	var worst float64
	for _, o := range others {
		in := r.Intersect(o)
		if in.Empty() || in == r && o == r {
			continue
		}
		worst = math.Max(worst, float64(in.Dx()*in.Dy())/a)
	}
	return worst
}

// Sharpness returns the variance of the 4-neighbour Laplacian of the grey
// levels (0..255) inside r, sampled on at most about 128x128 points so the
// cost does not grow with the crop size.
func Sharpness(img image.Image, r image.Rectangle) float64 {
	r = r.Intersect(img.Bounds())
	if r.Dx() < 3 || r.Dy() < 3 {
		return 0
	}
	step := max(1, max(r.Dx(), r.Dy())/128)
	grey := func(x, y int) float64 {
		cr, cg, cb, _ := img.At(x, y).RGBA()
		return (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 257
	}
	if rgba, ok := img.(*image.RGBA); ok {
		// The detect step's frames: read the pixels directly (the same
		// values as At, without its interface call per sample).
		grey = func(x, y int) float64 {
			i := rgba.PixOffset(x, y)
			p := rgba.Pix[i : i+3 : i+3]
			return (0.299*float64(uint32(p[0])*0x101) + 0.587*float64(uint32(p[1])*0x101) + 0.114*float64(uint32(p[2])*0x101)) / 257
		}
	}
	var sum, sum2, n float64
	for y := r.Min.Y + step; y < r.Max.Y-step; y += step {
		for x := r.Min.X + step; x < r.Max.X-step; x += step {
			l := grey(x-step, y) + grey(x+step, y) + grey(x, y-step) + grey(x, y+step) - 4*grey(x, y)
			sum += l
			sum2 += l * l
			n++
		}
	}
	if n == 0 {
		return 0
	}
	m := sum / n
	return sum2/n - m*m
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}
