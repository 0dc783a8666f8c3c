package gen

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
)

// renderLookbook draws and encodes every frame of a planned reel and
// returns the hash of the raw frames.
func renderLookbook(ctx context.Context, cfg LookbookConfig, shots []*lbShot, outPath string) (string, error) {
	fw, fh := cfg.Width, cfg.Height
	noise := noiseTable(cfg.Seed, 3*fw*fh+3*noiseOffsets)
	seq := make([]*timing, len(shots))
	for i, sp := range shots {
		seq[i] = &sp.timing
	}
	return encodeSequence(ctx, cfg.FFmpeg, fw, fh, cfg.FPS, cfg.CRF, outPath, seq, func(i int) (shotSource, error) {
		sp := shots[i]
		src := &lookbookSource{fw: fw, fh: fh, sp: sp, noise: noise, grade: newGrade(sp.grade, sp.noise)}
		src.photos = make([]*image.RGBA, len(sp.panels))
		for k, p := range sp.panels {
			if p.drop {
				continue
			}
			img := p.photo
			if img == nil {
				var err error
				if img, err = loadPhoto(p.product.Image); err != nil {
					return nil, err
				}
			}
			src.photos[k] = prescale(img, p, sp.frames, fw, fh)
		}
		if sp.bg.Path != "" {
			frames, err := decodeFrames(ctx, cfg.FFmpeg, fw, fh, cfg.FPS, sp.bg.Path, sp.ss, sp.frames)
			if err != nil {
				return nil, err
			}
			src.footage = frames
		} else {
			src.base = cardFrame(fw, fh, sp.fill, sp.layout == layoutCard)
		}
		return src, nil
	})
}

// lookbookSource draws the frames of one lookbook shot.
type lookbookSource struct {
	fw, fh  int
	sp      *lbShot
	photos  []*image.RGBA // per panel, nil when dropped
	footage *frameReader
	base    []byte // the frame under the photos when there is no footage
	noise   []int8
	grade   grade
}

func (s *lookbookSource) frame(local int) ([]byte, error) {
	var f []byte
	if s.footage != nil {
		var err error
		if f, err = s.footage.next(); err != nil {
			return nil, err
		}
	} else {
		f = append([]byte(nil), s.base...)
	}
	for k, p := range s.sp.panels {
		if p.drop {
			continue
		}
		r, ok := p.rect(local, s.sp.frames, s.fw, s.fh)
		if !ok {
			continue
		}
		photo, border := p.region(r, s.fw, s.fh)
		if p.border > 0 {
			fillRGB(f, s.fw, border, p.borderColour)
		}
		drawScaled(f, s.fw, s.photos[k], r, photo)
	}
	s.grade.apply(f, s.noise, s.sp.outStart+local)
	return f, nil
}

func (s *lookbookSource) close() error {
	if s.footage != nil {
		return s.footage.close()
	}
	return nil
}

// prescale shrinks a photo (Catmull-Rom) that the panel shows at under
// 0.8 of its size, so that bilinear sampling does not alias.
func prescale(img *image.RGBA, p *lbPanel, frames, fw, fh int) *image.RGBA {
	pw := float64(img.Rect.Dx())
	scale := 0.0
	for _, local := range []int{0, frames - 1} {
		if r, ok := p.rect(local, frames, fw, fh); ok {
			scale = math.Max(scale, (r[2]-r[0])/pw)
		} else if !p.cover {
			// Not yet shown at the first frame: measure it at rest.
			r, _ := p.rect(p.slideAt, frames, fw, fh)
			scale = math.Max(scale, (r[2]-r[0])/pw)
		}
	}
	if scale <= 0 || scale >= 0.8 {
		return img
	}
	w := max(2, int(math.Ceil(pw*scale)))
	h := max(2, int(math.Ceil(float64(img.Rect.Dy())*scale)))
	return resizeRGBA(img, w, h)
}

// drawScaled draws img, stretched to the rectangle r (pixels, x0, y0, x1,
// y1), onto the pixels of dst (an RGB frame fw wide) in clip, sampling
// bilinearly. Only axis-aligned placements are needed here, so it is much
// faster than composite.
func drawScaled(dst []byte, fw int, img *image.RGBA, r [4]float64, clip image.Rectangle) {
	if clip.Empty() {
		return
	}
	iw, ih := img.Rect.Dx(), img.Rect.Dy()
	type tap struct {
		i0, i1 int
		f      int32 // weight of i1, 0..256
	}
	taps := func(lo, hi int, r0, r1 float64, n int) []tap {
		k := float64(n) / (r1 - r0)
		out := make([]tap, hi-lo)
		for x := lo; x < hi; x++ {
			u := (float64(x)+0.5-r0)*k - 0.5
			u = math.Max(0, math.Min(float64(n-1), u))
			i0 := int(u)
			out[x-lo] = tap{i0, min(i0+1, n-1), int32(math.Round((u - float64(i0)) * 256))}
		}
		return out
	}
	xs := taps(clip.Min.X, clip.Max.X, r[0], r[2], iw)
	ys := taps(clip.Min.Y, clip.Max.Y, r[1], r[3], ih)
	stride := img.Stride
	for y := clip.Min.Y; y < clip.Max.Y; y++ {
		ty := ys[y-clip.Min.Y]
		row0 := img.Pix[ty.i0*stride:]
		row1 := img.Pix[ty.i1*stride:]
		fy := ty.f
		o := 3 * (y*fw + clip.Min.X)
		for _, tx := range xs {
			a, b := 4*tx.i0, 4*tx.i1
			fx := tx.f
			for c := range 3 {
				top := int32(row0[a+c])*(256-fx) + int32(row0[b+c])*fx
				bot := int32(row1[a+c])*(256-fx) + int32(row1[b+c])*fx
				dst[o+c] = uint8((top*(256-fy) + bot*fy + 1<<15) >> 16)
			}
			o += 3
		}
	}
}

// fillRGB paints a rectangle of an RGB frame fw wide.
func fillRGB(dst []byte, fw int, r image.Rectangle, c [3]uint8) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := 3 * (y*fw + x)
			dst[o], dst[o+1], dst[o+2] = c[0], c[1], c[2]
		}
	}
}

// cardFrame is a frame of colour c; a colour card is lit from above (6 %
// lighter at the top, 6 % darker at the bottom).
func cardFrame(fw, fh int, c [3]uint8, lit bool) []byte {
	f := make([]byte, 3*fw*fh)
	for y := range fh {
		k := 1.0
		if lit && fh > 1 {
			k = 1.06 - 0.12*float64(y)/float64(fh-1)
		}
		var row [3]uint8
		for i := range 3 {
			row[i] = uint8(math.Round(math.Min(255, float64(c[i])*k)))
		}
		fillRGB(f, fw, image.Rect(0, y, fw, y+1), row)
	}
	return f
}

// noiseOffsets is the number of distinct offsets into the noise table a
// frame's noise starts at.
const noiseOffsets = 1024

// noiseTable returns n Gaussian values with standard deviation 32 (clipped
// to ±127), from a stream of its own so that planning does not depend on
// the frame size.
func noiseTable(seed uint64, n int) []int8 {
	r := rand.New(rand.NewPCG(seed^0x6e6f697365, seed+1))
	t := make([]int8, n)
	for i := range t {
		t[i] = int8(math.Max(-127, math.Min(127, math.Round(r.NormFloat64()*32))))
	}
	return t
}

// grade is a shot's colour grading (a look's brightness, contrast,
// saturation and colour cast, which are all linear in RGB) and noise, in
// 2^-14 fixed point.
type grade struct {
	m     [3][3]int32
	off   [3]int32
	noise int32 // per unit of the noise table
}

func newGrade(lk look, sigma float64) grade {
	const one = 1 << 14
	lumaW := [3]float64{0.299, 0.587, 0.114}
	var g grade
	for k := range 3 {
		for j := range 3 {
			v := (1 - lk.Saturation) * lumaW[j]
			if j == k {
				v += lk.Saturation
			}
			g.m[k][j] = int32(math.Round(lk.Gain[k] * lk.Contrast * v * one))
		}
		g.off[k] = int32(math.Round(lk.Gain[k]*255*(0.5*(1-lk.Contrast)+lk.Brightness)*one)) + one/2
	}
	g.noise = int32(math.Round(sigma / 32 * one))
	return g
}

// apply grades an RGB frame in place and adds the noise of output frame n.
func (g grade) apply(f []byte, noise []int8, n int) {
	nz := noise[3*((n*7919)%noiseOffsets):]
	for i := 0; i+2 < len(f); i += 3 {
		r, gr, b := int32(f[i]), int32(f[i+1]), int32(f[i+2])
		for k := range 3 {
			v := (g.m[k][0]*r + g.m[k][1]*gr + g.m[k][2]*b + g.off[k] + int32(nz[i+k])*g.noise) >> 14
			f[i+k] = uint8(min(255, max(0, v)))
		}
	}
}
