package vision

import (
	"image"
	"math"
	"slices"
	"sync"

	"golang.org/x/image/draw"
)

// scaleBiLinear draws the opaque src's rectangle sr scaled into dst's
// rectangle dr with draw.Src, as x/image/draw's BiLinear.Scale does, to
// the bit: the same tent-kernel weights, summed in the same order in
// float64 and rounded the same way. The embedders were measured with
// BiLinear's output (a resampler of nearly the same values moved
// borderline tracks across the match gate), so this keeps its values and
// only its speed changes: x/image/draw walks the destination column by
// column with an index computation per tap; this walks rows, converts
// bytes by table, reuses its buffers and leaves out the alpha channel. An
// opaque source's alpha sums are never below its colour sums (rounding is
// monotone), so BiLinear's clamp of colour to alpha never acts, and its
// alpha comes out 0xff. opaque says whether src is opaque: the caller
// has checked it already, and another check would scan the pixels again.
// Translucent sources, other image types and rectangles outside the
// images fall back to BiLinear.
func scaleBiLinear(dst *image.RGBA, dr image.Rectangle, src image.Image, sr image.Rectangle, opaque bool) {
	s, ok := src.(*image.RGBA)
	if !ok || !opaque || !sr.In(s.Bounds()) || !dr.In(dst.Bounds()) || dr.Empty() || sr.Empty() {
		draw.BiLinear.Scale(dst, dr, src, sr, draw.Src, nil)
		return
	}
	dw, sh := dr.Dx(), sr.Dy()
	hz, vt := newDistrib(dw, sr.Dx()), newDistrib(dr.Dy(), sh)

	buf := scaleBufs.Get().(*scaleBuf)
	defer scaleBufs.Put(buf)
	// tmp is the source's rows scaled horizontally: red, green and blue
	// of each pixel as fractions of 0xffff.
	buf.tmp = slices.Grow(buf.tmp[:0], 3*dw*sh)[:3*dw*sh]
	tmp := buf.tmp
	for y := range sh {
		row := s.Pix[s.PixOffset(sr.Min.X, sr.Min.Y+y):]
		out := tmp[3*dw*y : 3*dw*(y+1)]
		for x, src := range hz.sources {
			var pr, pg, pb float64
			for _, c := range hz.contribs[src.i:src.j] {
				p := row[4*c.coord : 4*c.coord+3 : 4*c.coord+3]
				pr += float64(byteFFFF[p[0]] * c.weight)
				pg += float64(byteFFFF[p[1]] * c.weight)
				pb += float64(byteFFFF[p[2]] * c.weight)
			}
			o := out[3*x : 3*x+3 : 3*x+3]
			o[0], o[1], o[2] = pr*src.invTotalWeightFFFF, pg*src.invTotalWeightFFFF, pb*src.invTotalWeightFFFF
		}
	}
	buf.acc = slices.Grow(buf.acc[:0], 3*dw)[:3*dw]
	acc := buf.acc
	for y, src := range vt.sources {
		clear(acc)
		for _, c := range vt.contribs[src.i:src.j] {
			in := tmp[3*dw*c.coord : 3*dw*(c.coord+1)]
			in = in[:len(acc)]
			w := c.weight
			for i, v := range in {
				acc[i] += float64(v * w)
			}
		}
		d := dst.Pix[dst.PixOffset(dr.Min.X, dr.Min.Y+y):]
		d = d[:4*dw]
		for x := range dw {
			a := acc[3*x : 3*x+3 : 3*x+3]
			p := d[4*x : 4*x+4 : 4*x+4]
			p[0] = uint8(ftou(a[0]*src.invTotalWeight) >> 8)
			p[1] = uint8(ftou(a[1]*src.invTotalWeight) >> 8)
			p[2] = uint8(ftou(a[2]*src.invTotalWeight) >> 8)
			p[3] = 0xff
		}
	}
}

// byteFFFF is a byte's value scaled to 0..0xffff, as a float64.
var byteFFFF = func() (t [256]float64) {
	for i := range t {
		t[i] = float64(uint32(i) * 0x101)
	}
	return t
}()

type scaleBuf struct{ tmp, acc []float64 }

var scaleBufs = sync.Pool{New: func() any { return new(scaleBuf) }}

// distrib is, per destination column (or row), its source columns and
// their tent-kernel weights, as x/image/draw computes them.
type distrib struct {
	sources  []distribSource
	contribs []contrib
}

type distribSource struct {
	i, j               int
	invTotalWeight     float64
	invTotalWeightFFFF float64
}

type contrib struct {
	coord  int
	weight float64
}

// newDistrib distributes sw source columns over dw destination columns
// with BiLinear's kernel (support 1, broadened when shrinking so that
// every source column is visited), as x/image/draw's newDistrib.
func newDistrib(dw, sw int) distrib {
	scale := float64(sw) / float64(dw)
	halfWidth, argScale := 1.0, 1.0
	if scale > 1 {
		halfWidth *= scale
		argScale = 1 / scale
	}
	sources := make([]distribSource, dw)
	contribs := make([]contrib, 0, dw*(int(2*halfWidth)+2))
	for x := range sources {
		center := float64((float64(x)+0.5)*scale) - 0.5
		lo := max(int(math.Floor(center-halfWidth)), 0)
		hi := int(math.Ceil(center + halfWidth))
		if hi > sw {
			hi = max(sw, lo)
		}
		total := 0.0
		first := len(contribs)
		for coord := lo; coord < hi; coord++ {
			t := (center - float64(coord)) * argScale
			if t < 0 {
				t = -t
			}
			if t >= 1 {
				continue
			}
			w := 1 - t
			if w == 0 {
				continue
			}
			total += w
			contribs = append(contribs, contrib{coord, w})
		}
		total = 1 / total
		sources[x] = distribSource{i: first, j: len(contribs), invTotalWeight: total, invTotalWeightFFFF: total / 0xffff}
	}
	return distrib{sources, contribs}
}

// ftou converts [0, 1] to [0, 0xffff] as x/image/draw does.
func ftou(f float64) uint16 {
	i := int32(float64(0xffff*f) + 0.5)
	if i > 0xffff {
		return 0xffff
	}
	if i > 0 {
		return uint16(i)
	}
	return 0
}
