package gen

// Re-shot reels: lookbook reels (shots, layouts, transitions and grading
// planned alike, with more small photos over footage) where every photo is
// "re-shot" before it is drawn, as a video would show the garment rather
// than the catalog photograph: cut to the garment region, warped
// non-rigidly, tilted in perspective, relit, partly covered, blurred,
// JPEG-compressed and, half the time, mirrored.
// Each transformation's strength is drawn per photo from 0..1 and recorded
// in the truth item, so a report can show accuracy against strength.

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
)

// ReshotVersion names the re-shot generator in ground truth files; bump it
// when the same seed would produce a different reel.
const ReshotVersion = "vitrine-eval-reshot/2"

// Transformations of the re-shot set: the keys of a truth item's
// strengths. Scale is measured, not drawn: from 0 when the item's box
// (median over its frames) covers the whole frame to 1 when it covers a
// fifth of the frame's width and height or less, linear in the square root
// of its share of the frame.
const (
	ReshotWarp      = "warp"      // smooth random displacement, like folds or a changed pose
	ReshotTilt      = "tilt"      // perspective keystone and a small rotation
	ReshotRelight   = "relight"   // a brightness gradient and a colour cast
	ReshotOcclusion = "occlusion" // one or two blobs (hands, hair, a bag) over the garment
	ReshotBlur      = "blur"      // Gaussian blur
	ReshotJPEG      = "jpeg"      // JPEG compression
	ReshotMirror    = "mirror"    // 1 when mirrored left to right, else 0
	ReshotScale     = "scale"     // how small the item is on screen
)

// ReshotTransforms lists the transformations in the order a report shows
// them.
var ReshotTransforms = []string{ReshotWarp, ReshotRelight, ReshotOcclusion, ReshotScale, ReshotMirror, ReshotTilt, ReshotBlur, ReshotJPEG}

// What strength 1 means.
const (
	reshotPad      = 0.04 // the garment region is padded as the catalog pads its main item
	reshotWarpAmp  = 0.05 // displacement at a control point, fraction of sqrt(w·h)
	reshotKeyX     = 0.30 // keystone: one edge up to 30 % shorter than the opposite one
	reshotKeyY     = 0.20
	reshotRotDeg   = 10   // rotation, degrees
	reshotGradient = 0.45 // brightness ±45 % from one side to the other
	reshotCast     = 0.25 // colour gains 1 ± 0.25
	reshotCover    = 0.30 // blobs cover up to 30 % of the garment box
	reshotBlurPx   = 2.5  // Gaussian sigma, pixels of the (at most 768 px high) photo
	reshotJPEGMinQ = 20   // JPEG quality 95 at strength 0+, 20 at 1
	reshotSmall    = 0.2  // scale 1: the box spans a fifth of the frame (square root of its share)

	reshotGX, reshotGY = 4, 6 // warp control points across and down
)

var reshotVariant = reelVariant{prefix: "reshot", version: ReshotVersion, mix: reshotMix, prepare: prepareReshots, finish: measureScale}

// reshotMix shows more photos small over footage than the lookbook does,
// so the scale curve has items at every strength: full, split and
// picture-in-picture 20 % each, overlay 30 %, footage and card 5 % each.
var reshotMix = layoutMix{0.2, 0.2, 0.2, 0.3, 0.05, 0.05}

// Reshot writes outDir/name.mp4 and outDir/name.gt.json: a lookbook-like
// reel with every photo re-shot, and its ground truth, whose items carry
// their transformations' strengths.
func Reshot(ctx context.Context, cfg LookbookConfig, outDir, name string) (*Result, error) {
	return writeReel(ctx, cfg, outDir, name, reshotVariant)
}

// ReshotSet writes n reels named reshot-<seed> with seeds cfg.Seed,
// cfg.Seed+1, …, keeping reels already written as LookbookSet does.
func ReshotSet(ctx context.Context, cfg LookbookConfig, outDir string, n int) ([]*Result, error) {
	return reelSet(ctx, cfg, outDir, n, reshotVariant)
}

// reshotPlan is every random choice of one re-shot photo: the strengths
// and the unit-sized shapes they scale.
type reshotPlan struct {
	warp, tilt, relight, occlusion, blur, jpeg float64
	mirror                                     bool

	field      [reshotGY][reshotGX][2]float64 // warp displacements, -1..1
	kx, ky     float64                        // keystone, -1..1
	rot        float64                        // rotation, -1..1
	lightAngle float64                        // direction the light falls from, radians
	cast       [3]float64                     // colour cast, largest |component| 1
	blobs      []blobPlan
}

// blobPlan is one occluder: a wobbly ellipse placed in the garment box.
type blobPlan struct {
	u, v   float64 // centre, fractions of the garment box
	share  float64 // share of the occlusion strength
	aspect float64 // height over width
	angle  float64
	lobes  int
	wobble float64 // radius varies by ±wobble
	phase  float64
	colour [3]uint8
}

// Occluder colours: skin, hair, bags.
var blobColours = [][3]uint8{
	{224, 172, 140}, {198, 134, 96}, {141, 85, 54}, {250, 214, 182},
	{35, 25, 20}, {72, 48, 32}, {150, 100, 60}, {22, 22, 24}, {190, 170, 140},
}

// planReshot draws a re-shot: each strength uniform in 0..1 (rounded to
// 0.001, as the truth records it), mirrored half the time. It always
// draws the same number of values, so strengths never shift later choices.
func planReshot(r *rand.Rand) reshotPlan {
	s := func() float64 { return math.Round(r.Float64()*1000) / 1000 }
	p := reshotPlan{warp: s(), tilt: s(), relight: s(), occlusion: s(), blur: s(), jpeg: s(), mirror: r.Float64() < 0.5}
	for y := range reshotGY {
		for x := range reshotGX {
			p.field[y][x] = [2]float64{uniform(r, -1, 1), uniform(r, -1, 1)}
		}
	}
	p.kx, p.ky, p.rot = uniform(r, -1, 1), uniform(r, -1, 1), uniform(r, -1, 1)
	p.lightAngle = uniform(r, 0, 2*math.Pi)
	big := 0.0
	for k := range 3 {
		p.cast[k] = uniform(r, -1, 1)
		big = math.Max(big, math.Abs(p.cast[k]))
	}
	for k := range 3 {
		p.cast[k] /= big
	}
	n := 1 + r.IntN(2)
	for i := range n {
		b := blobPlan{
			u: uniform(r, 0.15, 0.85), v: uniform(r, 0.15, 0.85),
			aspect: uniform(r, 0.6, 1.6), angle: uniform(r, 0, math.Pi),
			lobes: 2 + r.IntN(3), wobble: uniform(r, 0.1, 0.25), phase: uniform(r, 0, 2*math.Pi),
			colour: blobColours[r.IntN(len(blobColours))],
		}
		b.share = 1 / float64(n)
		if n == 2 {
			b.share = []float64{0.6, 0.4}[i]
		}
		p.blobs = append(p.blobs, b)
	}
	return p
}

// strengths returns the plan's strengths as a truth item records them.
func (p *reshotPlan) strengths() map[string]float64 {
	m := map[string]float64{
		ReshotWarp: p.warp, ReshotTilt: p.tilt, ReshotRelight: p.relight,
		ReshotOcclusion: p.occlusion, ReshotBlur: p.blur, ReshotJPEG: p.jpeg, ReshotMirror: 0,
	}
	if p.mirror {
		m[ReshotMirror] = 1
	}
	return m
}

// prepareReshots re-shoots the photo of every panel of a planned reel.
func prepareReshots(r *rand.Rand, shots []*lbShot) error {
	return reshootPanels(r, shots, nil)
}

// reshootPanels re-shoots every panel's photo; tweak, when set, may change
// each plan first (tests turn transformations off with it).
func reshootPanels(r *rand.Rand, shots []*lbShot, tweak func(*reshotPlan)) error {
	for _, sp := range shots {
		for _, p := range sp.panels {
			plan := planReshot(r)
			if tweak != nil {
				tweak(&plan)
			}
			photo, err := loadPhoto(p.product.Image)
			if err != nil {
				return err
			}
			info, err := photoInfoOf(p.product.Image)
			if err != nil {
				return err
			}
			fg := image.Rect(int(math.Round(info.FG.X0*float64(info.W))), int(math.Round(info.FG.Y0*float64(info.H))),
				int(math.Round(info.FG.X1*float64(info.W))), int(math.Round(info.FG.Y1*float64(info.H))))
			img, box, occluded, err := plan.apply(photo, fg)
			if err != nil {
				return fmt.Errorf("gen: re-shoot %s: %w", p.product.ID, err)
			}
			w, h := float64(img.Rect.Dx()), float64(img.Rect.Dy())
			p.photo = img
			p.info = photoInfo{W: img.Rect.Dx(), H: img.Rect.Dy(), FG: fgBox{
				X0: float64(box.Min.X) / w, Y0: float64(box.Min.Y) / h, X1: float64(box.Max.X) / w, Y1: float64(box.Max.Y) / h, Measured: true,
			}}
			p.occluded = occluded
			p.strengths = plan.strengths()
		}
	}
	return nil
}

// measureScale records how small each re-shot item is on screen.
func measureScale(_ LookbookConfig, shots []*lbShot) {
	for _, sp := range shots {
		for _, p := range sp.panels {
			if p.strengths == nil || len(p.boxes) == 0 {
				continue
			}
			areas := make([]float64, len(p.boxes))
			for i, b := range p.boxes {
				areas[i] = b.W * b.H
			}
			slices.Sort(areas)
			s := (1 - math.Sqrt(areas[len(areas)/2])) / (1 - reshotSmall)
			p.strengths[ReshotScale] = math.Round(math.Max(0, math.Min(1, s))*1000) / 1000
		}
	}
}

// apply re-shoots a photo whose garment region is fg (pixels) and returns
// the new photo, the garment's box in it and the share of that box the
// occluders hide. The new photo is the padded garment region; what the
// tilt and warp bring in from outside it is the photo around it.
func (p *reshotPlan) apply(photo *image.RGBA, fg image.Rectangle) (*image.RGBA, image.Rectangle, float64, error) {
	bounds := photo.Rect
	fg = fg.Intersect(bounds)
	if fg.Dx() < 8 || fg.Dy() < 8 {
		return nil, image.Rectangle{}, 0, fmt.Errorf("garment region %v too small", fg)
	}
	dx, dy := int(float64(fg.Dx())*reshotPad), int(float64(fg.Dy())*reshotPad)
	canvas := image.Rect(fg.Min.X-dx, fg.Min.Y-dy, fg.Max.X+dx, fg.Max.Y+dy).Intersect(bounds)
	w, h := canvas.Dx(), canvas.Dy()
	garment := fg.Sub(canvas.Min)
	src := toSprite(photo)

	// Geometry, by inverse mapping: output pixel -> tilt -> mirror -> warp
	// -> photo.
	var inv homography
	tilted := p.tilt > 0
	if tilted {
		q := keystone(float64(w)/2, float64(h)/2, float64(w), float64(h), p.kx*p.tilt*reshotKeyX, p.ky*p.tilt*reshotKeyY, p.rot*p.tilt*reshotRotDeg*math.Pi/180)
		H, err := quadHomography(float64(w), float64(h), q)
		if err != nil {
			return nil, image.Rectangle{}, 0, err
		}
		inv = H.inverse()
	}
	amp := p.warp * reshotWarpAmp * math.Sqrt(float64(w*h))
	out := &sprite{w: w, h: h, pix: make([]float32, 4*w*h)}
	box := image.Rectangle{Min: image.Pt(w, h)}
	for y := range h {
		for x := range w {
			u, v := float64(x)+0.5, float64(y)+0.5
			if tilted {
				u, v = inv.apply(u, v)
			}
			if p.mirror {
				u = float64(w) - u
			}
			if amp > 0 {
				dx, dy := p.displacement(u/float64(w), v/float64(h))
				u, v = u+amp*dx, v+amp*dy
			}
			if image.Pt(int(math.Floor(u)), int(math.Floor(v))).In(garment) {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
			// Pixel centres to sample coordinates, clamped to the photo.
			su := math.Max(0, math.Min(float64(src.w-1), u+float64(canvas.Min.X)-0.5))
			sv := math.Max(0, math.Min(float64(src.h-1), v+float64(canvas.Min.Y)-0.5))
			c, _ := src.sample(su, sv)
			o := 4 * (y*w + x)
			copy(out.pix[o:o+3], c[:3])
			out.pix[o+3] = 1
		}
	}
	if box.Empty() {
		return nil, image.Rectangle{}, 0, fmt.Errorf("the garment left the frame")
	}
	occluded := p.occlude(out, box)
	p.relightSprite(out)
	if sigma := p.blur * reshotBlurPx; sigma > 0.2 {
		out.blur(sigma)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		for k := range 3 {
			img.Pix[4*i+k] = uint8(math.Round(255 * math.Max(0, math.Min(1, float64(out.pix[4*i+k])))))
		}
		img.Pix[4*i+3] = 255
	}
	if p.jpeg > 0 {
		q := int(math.Round(95 - (95-reshotJPEGMinQ)*p.jpeg))
		if err := jpegRoundTrip(img, q); err != nil {
			return nil, image.Rectangle{}, 0, err
		}
	}
	return img, box, occluded, nil
}

// toSprite converts an opaque photo to a sprite.
func toSprite(img *image.RGBA) *sprite {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	s := &sprite{w: w, h: h, pix: make([]float32, 4*w*h)}
	for y := range h {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):]
		for x := range w {
			o := 4 * (y*w + x)
			for k := range 3 {
				s.pix[o+k] = float32(row[4*x+k]) / 255
			}
			s.pix[o+3] = 1
		}
	}
	return s
}

// displacement interpolates the warp field (Catmull-Rom across the
// control points) at (fx, fy), fractions of the photo.
func (p *reshotPlan) displacement(fx, fy float64) (float64, float64) {
	gx := math.Max(0, math.Min(reshotGX-1, fx*(reshotGX-1)))
	gy := math.Max(0, math.Min(reshotGY-1, fy*(reshotGY-1)))
	ix, iy := min(int(gx), reshotGX-2), min(int(gy), reshotGY-2)
	tx, ty := gx-float64(ix), gy-float64(iy)
	wx, wy := catmullRom(tx), catmullRom(ty)
	var d [2]float64
	for j := range 4 {
		yy := min(max(iy-1+j, 0), reshotGY-1)
		for i := range 4 {
			xx := min(max(ix-1+i, 0), reshotGX-1)
			f := p.field[yy][xx]
			d[0] += wx[i] * wy[j] * f[0]
			d[1] += wx[i] * wy[j] * f[1]
		}
	}
	return d[0], d[1]
}

// catmullRom returns the weights of the four control points around t in
// 0..1.
func catmullRom(t float64) [4]float64 {
	t2, t3 := t*t, t*t*t
	return [4]float64{
		(-t3 + 2*t2 - t) / 2,
		(3*t3 - 5*t2 + 2) / 2,
		(-3*t3 + 4*t2 + t) / 2,
		(t3 - t2) / 2,
	}
}

// occlude paints the blobs over the garment box and returns the share of
// the box they hide.
func (p *reshotPlan) occlude(s *sprite, box image.Rectangle) float64 {
	if p.occlusion <= 0 {
		return 0
	}
	bw, bh := float64(box.Dx()), float64(box.Dy())
	cover := make([]float32, s.w*s.h)
	for _, b := range p.blobs {
		area := p.occlusion * reshotCover * b.share * bw * bh
		rx := math.Sqrt(area / (math.Pi * b.aspect))
		ry := rx * b.aspect
		cx, cy := float64(box.Min.X)+b.u*bw, float64(box.Min.Y)+b.v*bh
		reach := (1 + b.wobble) * math.Max(rx, ry)
		sin, cos := math.Sincos(b.angle)
		for y := max(0, int(cy-reach-2)); y < min(s.h, int(cy+reach+2)); y++ {
			for x := max(0, int(cx-reach-2)); x < min(s.w, int(cx+reach+2)); x++ {
				dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
				lx, ly := dx*cos+dy*sin, -dx*sin+dy*cos
				theta := math.Atan2(ly/ry, lx/rx)
				rad := 1 + b.wobble*math.Sin(float64(b.lobes)*theta+b.phase)
				// Signed distance in pixels, roughly: a 1.5 px soft edge.
				d := (math.Hypot(lx/rx, ly/ry) - rad) * math.Min(rx, ry)
				a := float32(math.Max(0, math.Min(1, 0.5-d/1.5)))
				if a <= 0 {
					continue
				}
				i := y*s.w + x
				for k := range 3 {
					s.pix[4*i+k] = s.pix[4*i+k]*(1-a) + a*float32(b.colour[k])/255
				}
				cover[i] = max(cover[i], a)
			}
		}
	}
	var hidden float64
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			hidden += float64(cover[y*s.w+x])
		}
	}
	return round6(hidden / (bw * bh))
}

// relightSprite multiplies the photo by a brightness gradient falling
// across it from p.lightAngle and by per-channel colour gains.
func (p *reshotPlan) relightSprite(s *sprite) {
	if p.relight <= 0 {
		return
	}
	g := p.relight * reshotGradient
	var gain [3]float64
	for k := range 3 {
		gain[k] = 1 + p.relight*reshotCast*p.cast[k]
	}
	sin, cos := math.Sincos(p.lightAngle)
	for y := range s.h {
		for x := range s.w {
			ramp := 2*((float64(x)+0.5)/float64(s.w)-0.5)*cos + 2*((float64(y)+0.5)/float64(s.h)-0.5)*sin
			f := 1 + g*math.Max(-1, math.Min(1, ramp))
			o := 4 * (y*s.w + x)
			for k := range 3 {
				s.pix[o+k] = float32(float64(s.pix[o+k]) * f * gain[k])
			}
		}
	}
}
