package match

import (
	"image"
	"math"
)

// Colour histogram layout: hue bins for saturated pixels plus grey-level
// bins for unsaturated ones, so white, grey and black garments are told
// apart and hue is not noise for them.
const (
	hueBins   = 12
	satBins   = 2
	valBins   = 3
	greyBins  = 4
	ColourDim = hueBins*satBins*valBins + greyBins // length of a colour histogram
)

// ColourHistogram returns an L1-normalised HSV histogram of the pixels in r,
// weighted towards the centre of the box (the item, not the background at
// its corners). Near-white pixels are skipped when skipWhite is set, for
// packshots on a white background. It returns nil when r holds no pixels.
func ColourHistogram(img image.Image, r image.Rectangle, skipWhite bool) []float32 {
	r = r.Intersect(img.Bounds())
	if r.Empty() {
		return nil
	}
	step := max(1, max(r.Dx(), r.Dy())/96)
	h := make([]float64, ColourDim)
	cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
	hw, hh := float64(r.Dx())/2, float64(r.Dy())/2
	var total float64
	for y := r.Min.Y; y < r.Max.Y; y += step {
		for x := r.Min.X; x < r.Max.X; x += step {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			rf, gf, bf := float64(cr)/65535, float64(cg)/65535, float64(cb)/65535
			if skipWhite && rf > 0.92 && gf > 0.92 && bf > 0.92 {
				continue
			}
			dx, dy := (float64(x)-cx)/hw, (float64(y)-cy)/hh
			w := math.Max(0.1, 1-0.7*(dx*dx+dy*dy))
			addColour(h, rf, gf, bf, w)
			total += w
		}
	}
	if total == 0 {
		return nil
	}
	out := make([]float32, ColourDim)
	for i, v := range h {
		out[i] = float32(v / total)
	}
	return out
}

// addColour adds weight w for one pixel, split linearly between the two
// nearest bins along each axis so that a small colour change moves the
// histogram a little instead of jumping to another bin.
func addColour(h []float64, r, g, b, w float64) {
	mx := math.Max(r, math.Max(g, b))
	mn := math.Min(r, math.Min(g, b))
	v := mx
	s := 0.0
	if mx > 0 {
		s = (mx - mn) / mx
	}
	// Chromatic weight ramps in between saturation 0.15 and 0.25 (and value
	// 0.1 and 0.2) so nearly grey pixels split between the grey and hue bins.
	chroma := clamp01((s-0.15)/0.1) * clamp01((v-0.1)/0.1)
	if g := w * (1 - chroma); g > 0 {
		base := hueBins * satBins * valBins
		gi, gf := split(v*greyBins-0.5, greyBins, false)
		h[base+gi] += g * (1 - gf)
		h[base+min(gi+1, greyBins-1)] += g * gf
	}
	if chroma == 0 || mx == mn {
		return
	}
	var hue float64
	switch {
	case mx == r:
		hue = math.Mod((g-b)/(mx-mn), 6)
	case mx == g:
		hue = (b-r)/(mx-mn) + 2
	default:
		hue = (r-g)/(mx-mn) + 4
	}
	if hue < 0 {
		hue += 6
	}
	hi, hf := split(hue/6*hueBins-0.5, hueBins, true)
	si, sf := split((s-0.2)/0.8*satBins-0.5, satBins, false)
	vi, vf := split((v-0.15)/0.85*valBins-0.5, valBins, false)
	cw := w * chroma
	for dh := 0; dh < 2; dh++ {
		hw := hf
		if dh == 0 {
			hw = 1 - hf
		}
		hb := (hi + dh) % hueBins
		for ds := 0; ds < 2; ds++ {
			sw := sf
			if ds == 0 {
				sw = 1 - sf
			}
			sb := min(si+ds, satBins-1)
			for dv := 0; dv < 2; dv++ {
				vw := vf
				if dv == 0 {
					vw = 1 - vf
				}
				vb := min(vi+dv, valBins-1)
				h[(hb*satBins+sb)*valBins+vb] += cw * hw * sw * vw
			}
		}
	}
}

// split turns a continuous bin coordinate x (bin centres at integers) into
// a lower bin index and the fraction of weight for the next bin. Circular
// axes wrap; others clamp at both ends.
func split(x float64, n int, circular bool) (int, float64) {
	if circular {
		x = math.Mod(x+float64(n), float64(n))
		i := int(x)
		return i % n, x - float64(i)
	}
	if x <= 0 {
		return 0, 0
	}
	if x >= float64(n-1) {
		return n - 1, 0
	}
	i := int(x)
	return i, x - float64(i)
}

// HistogramIntersection returns the overlap of two L1-normalised
// histograms, in 0..1, or NaN when either is missing or they differ in size.
func HistogramIntersection(a, b []float32) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return math.NaN()
	}
	var s float64
	for i := range a {
		s += math.Min(float64(a[i]), float64(b[i]))
	}
	return s
}
