// Package augment makes synthetic views of a catalog image: the same
// product as a video might show it, framed differently, tilted, folded,
// mirrored, lit by another light, partly covered, small and soft. The
// views train the catalog's learned projection (internal/project), which
// learns which directions of the embedding such changes move and which
// they leave alone.
//
// A view is one inverse-mapped pass over the source (crop, affine tilt,
// smooth displacement, mirror, bilinear sampling), then per-pixel light
// (channel gains and a gradient), then blobs of flat colour, then a
// down-and-up resample for softness. Everything is drawn from the caller's
// random source, so a seed gives the same views every time.
package augment

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// Params bounds the strength of each change; a view draws every change
// uniformly between none and its bound.
type Params struct {
	// Crop is the largest share of the width and of the height cut away.
	Crop float64
	// Rotate is the largest tilt in degrees, Shear the largest shear.
	Rotate, Shear float64
	// Warp is the largest smooth displacement, as a share of the size.
	Warp float64
	// Mirror is the probability of a left-right mirror.
	Mirror float64
	// Gain is the largest change of each colour channel's gain (0.2:
	// 0.8..1.2); Gradient the largest fall of light across the view.
	Gain, Gradient float64
	// Cover is the largest share of the view covered by up to two blobs.
	Cover float64
	// Soften is the smallest scale of the down-and-up resample (1: none).
	Soften float64
	// Size is the longest side of a view (the embedders resize to about
	// 224 anyway; larger views only cost time).
	Size int
}

// Default are the strengths vitrine trains with: about what separates a
// product in a fashion reel from its catalog photo.
func Default() Params {
	return Params{Crop: 0.25, Rotate: 10, Shear: 0.12, Warp: 0.04, Mirror: 0.5,
		Gain: 0.25, Gradient: 0.45, Cover: 0.2, Soften: 0.35, Size: 256}
}

// View returns one synthetic view of src drawn with rng.
func View(src image.Image, p Params, rng *rand.Rand) *image.RGBA {
	sb := src.Bounds()
	if sb.Empty() {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	// The part of the source kept, as a window in source pixels.
	cw := float64(sb.Dx()) * (1 - p.Crop*rng.Float64())
	ch := float64(sb.Dy()) * (1 - p.Crop*rng.Float64())
	cx := float64(sb.Min.X) + (float64(sb.Dx())-cw)*rng.Float64()
	cy := float64(sb.Min.Y) + (float64(sb.Dy())-ch)*rng.Float64()

	scale := 1.0
	if p.Size > 0 && max(cw, ch) > float64(p.Size) {
		scale = float64(p.Size) / max(cw, ch)
	}
	ow, oh := max(1, int(cw*scale+0.5)), max(1, int(ch*scale+0.5))
	// Softness: the view is drawn at a fraction of its size and scaled
	// up, which also makes the soft views cheap.
	f := 1.0
	if p.Soften > 0 && p.Soften < 1 {
		f = p.Soften + (1-p.Soften)*rng.Float64()
	}
	w, h := max(1, int(float64(ow)*f)), max(1, int(float64(oh)*f))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))

	// Inverse map from a view pixel (centred, in units of the view's half
	// size) to the kept window: a smooth displacement of two random
	// sinusoids per axis (of the undisplaced coordinates), then tilt and
	// shear about the centre.
	theta := (2*rng.Float64() - 1) * p.Rotate * math.Pi / 180
	shear := (2*rng.Float64() - 1) * p.Shear
	cosT, sinT := math.Cos(theta), math.Sin(theta)
	type wave struct{ ax, ay, fx, fy, ph float64 }
	waves := make([]wave, 4)
	for i := range waves {
		waves[i] = wave{ax: (2*rng.Float64() - 1) * p.Warp, fx: 0.5 + 1.5*rng.Float64(),
			fy: 0.5 + 1.5*rng.Float64(), ph: 2 * math.Pi * rng.Float64()}
	}
	mirror := rng.Float64() < p.Mirror

	// Light: per-channel gains and a linear gradient in a random direction.
	var gain [3]float64
	for i := range gain {
		gain[i] = 1 + (2*rng.Float64()-1)*p.Gain
	}
	gdir := 2 * math.Pi * rng.Float64()
	gx, gy := math.Cos(gdir), math.Sin(gdir)
	fall := p.Gradient * rng.Float64()

	// Blobs of flat colour (ellipses), up to Cover of the area in all.
	type blob struct {
		x, y, rx, ry float64
		c            [3]uint8
	}
	var blobs []blob
	if p.Cover > 0 {
		n := 1 + rng.IntN(2)
		share := p.Cover * rng.Float64() / float64(n)
		for range n {
			// An ellipse of area share*w*h: pi*rx*ry = share*w*h.
			asp := 0.5 + rng.Float64()
			r := math.Sqrt(share * float64(w*h) / math.Pi)
			blobs = append(blobs, blob{x: float64(w) * rng.Float64(), y: float64(h) * rng.Float64(),
				rx: r * asp, ry: r / asp,
				c: [3]uint8{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))}})
		}
	}

	// The displacement of each wave, sin(fx*pi*u + fy*pi*v + ph), split by
	// the angle-sum rule into per-column and per-row tables: four
	// multiplications per wave and pixel instead of a sine.
	type table struct{ sx, cx, sy, cy []float64 }
	tabs := make([]table, len(waves))
	for i, wv := range waves {
		tb := table{sx: make([]float64, w), cx: make([]float64, w), sy: make([]float64, h), cy: make([]float64, h)}
		for x := range w {
			u := 2*(float64(x)+0.5)/float64(w) - 1
			if mirror {
				u = -u
			}
			tb.sx[x], tb.cx[x] = math.Sincos(wv.fx * math.Pi * u)
		}
		for y := range h {
			v := 2*(float64(y)+0.5)/float64(h) - 1
			tb.sy[y], tb.cy[y] = math.Sincos(wv.fy*math.Pi*v + wv.ph)
		}
		tabs[i] = tb
	}
	for y := range h {
		v0 := 2*(float64(y)+0.5)/float64(h) - 1
		for x := range w {
			// Centred coordinates in -1..1.
			u := 2*(float64(x)+0.5)/float64(w) - 1
			if mirror {
				u = -u
			}
			v := v0
			for i, wv := range waves {
				tb := &tabs[i]
				d := wv.ax * (tb.sx[x]*tb.cy[y] + tb.cx[x]*tb.sy[y])
				if i%2 == 0 {
					u += d
				} else {
					v += d
				}
			}
			su := cosT*u - sinT*v + shear*v
			sv := sinT*u + cosT*v
			sx := cx + (su+1)/2*cw
			sy := cy + (sv+1)/2*ch
			r, g, b := bilinear(src, sx-0.5, sy-0.5)
			light := 1 - fall*(0.5+0.5*(gx*u+gy*v))
			i := dst.PixOffset(x, y)
			dst.Pix[i+0] = clamp8(r * gain[0] * light)
			dst.Pix[i+1] = clamp8(g * gain[1] * light)
			dst.Pix[i+2] = clamp8(b * gain[2] * light)
			dst.Pix[i+3] = 255
			for _, bl := range blobs {
				dx, dy := (float64(x)-bl.x)/bl.rx, (float64(y)-bl.y)/bl.ry
				if dx*dx+dy*dy <= 1 {
					dst.Pix[i+0], dst.Pix[i+1], dst.Pix[i+2] = bl.c[0], bl.c[1], bl.c[2]
				}
			}
		}
	}
	if w != ow || h != oh {
		dst = resample(dst, ow, oh)
	}
	return dst
}

// bilinear samples src at (x, y) in pixel-centre coordinates, clamping to
// its edge, and returns 0..255 channels.
func bilinear(src image.Image, x, y float64) (r, g, b float64) {
	sb := src.Bounds()
	x = min(max(x, float64(sb.Min.X)), float64(sb.Max.X-1))
	y = min(max(y, float64(sb.Min.Y)), float64(sb.Max.Y-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, sb.Max.X-1), min(y0+1, sb.Max.Y-1)
	fx, fy := x-float64(x0), y-float64(y0)
	var c [4][3]float64
	for i, p := range [4]image.Point{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
		c[i] = rgb(src, p.X, p.Y)
	}
	mix := func(k int) float64 {
		top := c[0][k]*(1-fx) + c[1][k]*fx
		bot := c[2][k]*(1-fx) + c[3][k]*fx
		return top*(1-fy) + bot*fy
	}
	return mix(0), mix(1), mix(2)
}

// rgb reads one pixel as 0..255 channels, fast for the image types the
// decoders return.
func rgb(src image.Image, x, y int) [3]float64 {
	switch s := src.(type) {
	case *image.RGBA:
		i := s.PixOffset(x, y)
		return [3]float64{float64(s.Pix[i]), float64(s.Pix[i+1]), float64(s.Pix[i+2])}
	case *image.YCbCr:
		yi, ci := s.YOffset(x, y), s.COffset(x, y)
		r, g, b := color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
		return [3]float64{float64(r), float64(g), float64(b)}
	}
	r, g, b, _ := src.At(x, y).RGBA()
	return [3]float64{float64(r >> 8), float64(g >> 8), float64(b >> 8)}
}

// resample scales src to w x h by bilinear sampling.
func resample(src *image.RGBA, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sx := float64(src.Bounds().Dx()) / float64(w)
	sy := float64(src.Bounds().Dy()) / float64(h)
	for y := range h {
		for x := range w {
			r, g, b := bilinear(src, (float64(x)+0.5)*sx-0.5, (float64(y)+0.5)*sy-0.5)
			i := dst.PixOffset(x, y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = clamp8(r), clamp8(g), clamp8(b), 255
		}
	}
	return dst
}

func clamp8(v float64) uint8 {
	return uint8(min(max(v+0.5, 0), 255))
}
