package gen

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	_ "image/png" // product images may be PNG
	"math"
	"os"

	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// sprite is a product image with an alpha mask, float RGBA in 0..1.
type sprite struct {
	w, h int
	pix  []float32 // r, g, b, a per pixel
}

// look holds the photometric changes applied to one product appearance.
type look struct {
	Brightness  float64    // added, -1..1
	Contrast    float64    // multiplier around mid-grey
	Saturation  float64    // multiplier of the distance to grey
	Gain        [3]float64 // per-channel colour cast
	JPEGQuality int        // 0: no JPEG round trip
	BlurSigma   float64    // Gaussian blur in source pixels
}

// loadSprite decodes a product image, cuts it out of its near-white
// background and applies lk.
func loadSprite(path string, lk look) (*sprite, error) {
	rgba, err := readImage(path)
	if err != nil {
		return nil, err
	}
	w, h := rgba.Bounds().Dx(), rgba.Bounds().Dy()
	alpha := whiteMask(rgba)
	recolour(rgba, lk)
	if lk.JPEGQuality > 0 {
		if err := jpegRoundTrip(rgba, lk.JPEGQuality); err != nil {
			return nil, err
		}
	}
	s := &sprite{w: w, h: h, pix: make([]float32, 4*w*h)}
	for i := 0; i < w*h; i++ {
		s.pix[4*i] = float32(rgba.Pix[4*i]) / 255
		s.pix[4*i+1] = float32(rgba.Pix[4*i+1]) / 255
		s.pix[4*i+2] = float32(rgba.Pix[4*i+2]) / 255
		s.pix[4*i+3] = alpha[i]
	}
	if lk.BlurSigma > 0.2 {
		s.blur(lk.BlurSigma)
	}
	return s, nil
}

// jpegRoundTrip replaces img by its JPEG encoding at quality q, decoded.
func jpegRoundTrip(img *image.RGBA, q int) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return fmt.Errorf("gen: jpeg round trip: %w", err)
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		return fmt.Errorf("gen: jpeg round trip: %w", err)
	}
	draw.Draw(img, img.Bounds(), dec, dec.Bounds().Min, draw.Src)
	return nil
}

// readImage decodes a product image to RGBA with its origin at (0, 0).
func readImage(path string) (*image.RGBA, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gen: read product image: %w", err)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gen: decode product image %s: %w", path, err)
	}
	rgba := image.NewRGBA(img.Bounds().Sub(img.Bounds().Min))
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	if w, h := rgba.Bounds().Dx(), rgba.Bounds().Dy(); w < 8 || h < 8 {
		return nil, fmt.Errorf("gen: product image %s is too small (%dx%d)", path, w, h)
	}
	return rgba, nil
}

// whiteMask separates a packshot from its white background: near-white
// pixels connected to the image border are background, then the mask is
// softened over a couple of pixels so the cut-out edge blends. When nearly
// nothing (or nearly everything) is background the image is not a packshot
// on white, and the whole image is kept.
func whiteMask(img *image.RGBA) []float32 {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	const tol = 22 // distance from pure white still counted as background
	bg, _ := imageio.BorderWhite(img, tol)
	n := 0
	a := make([]float32, w*h)
	for i, b := range bg {
		if !b {
			a[i] = 1
			n++
		}
	}
	if frac := float64(n) / float64(w*h); frac > 0.97 || frac < 0.03 {
		for i := range a {
			a[i] = 1
		}
		return a
	}
	for range 2 {
		a = boxBlur3(a, w, h)
	}
	return a
}

func boxBlur3(a []float32, w, h int) []float32 {
	out := make([]float32, len(a))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float32
			var n int
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx >= 0 && xx < w && yy >= 0 && yy < h {
						s += a[yy*w+xx]
						n++
					}
				}
			}
			out[y*w+x] = s / float32(n)
		}
	}
	return out
}

// recolour applies brightness, contrast, saturation and colour cast.
func recolour(img *image.RGBA, lk look) {
	for i := 0; i+3 < len(img.Pix); i += 4 {
		var c [3]float64
		for k := range 3 {
			c[k] = float64(img.Pix[i+k]) / 255
		}
		grey := 0.299*c[0] + 0.587*c[1] + 0.114*c[2]
		for k := range 3 {
			v := grey + (c[k]-grey)*lk.Saturation
			v = (v-0.5)*lk.Contrast + 0.5 + lk.Brightness
			v *= lk.Gain[k]
			img.Pix[i+k] = uint8(math.Round(255 * math.Max(0, math.Min(1, v))))
		}
	}
}

// blur applies a separable Gaussian blur to colour and alpha.
func (s *sprite) blur(sigma float64) {
	r := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*r+1)
	var sum float32
	for i := -r; i <= r; i++ {
		k[i+r] = float32(math.Exp(-float64(i*i) / (2 * sigma * sigma)))
		sum += k[i+r]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float32, len(s.pix))
	pass := func(dst, src []float32, dx, dy int) {
		for y := 0; y < s.h; y++ {
			for x := 0; x < s.w; x++ {
				var acc [4]float32
				for i := -r; i <= r; i++ {
					xx := min(max(x+i*dx, 0), s.w-1)
					yy := min(max(y+i*dy, 0), s.h-1)
					o := 4 * (yy*s.w + xx)
					for c := range 4 {
						acc[c] += k[i+r] * src[o+c]
					}
				}
				copy(dst[4*(y*s.w+x):], acc[:])
			}
		}
	}
	pass(tmp, s.pix, 1, 0)
	pass(s.pix, tmp, 0, 1)
}

// homography maps source points to destination points: dst ~ H·src.
type homography [9]float64

// quadHomography returns the homography taking the corners (0,0), (w,0),
// (w,h), (0,h) to q[0..3].
func quadHomography(w, h float64, q [4][2]float64) (homography, error) {
	src := [4][2]float64{{0, 0}, {w, 0}, {w, h}, {0, h}}
	var a [8][9]float64
	for i := range 4 {
		x, y, u, v := src[i][0], src[i][1], q[i][0], q[i][1]
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	// Gauss-Jordan elimination with partial pivoting on the 8x9 system.
	for c := range 8 {
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return homography{}, fmt.Errorf("gen: degenerate quad %v", q)
		}
		a[c], a[p] = a[p], a[c]
		for r := range 8 {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for k := c; k < 9; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	var H homography
	for i := range 8 {
		H[i] = a[i][8] / a[i][i]
	}
	H[8] = 1
	return H, nil
}

func (H homography) apply(x, y float64) (float64, float64) {
	d := H[6]*x + H[7]*y + H[8]
	return (H[0]*x + H[1]*y + H[2]) / d, (H[3]*x + H[4]*y + H[5]) / d
}

func (H homography) inverse() homography {
	a, b, c, d, e, f, g, h, i := H[0], H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
	det := a*(e*i-f*h) - b*(d*i-f*g) + c*(d*h-e*g)
	inv := homography{
		e*i - f*h, c*h - b*i, b*f - c*e,
		f*g - d*i, a*i - c*g, c*d - a*f,
		d*h - e*g, b*g - a*h, a*e - b*d,
	}
	for k := range inv {
		inv[k] /= det
	}
	return inv
}

// composite draws s onto an RGB frame through the quad q and returns the
// pixel bounding box of the drawn product (alpha >= 0.5), ok=false when no
// such pixel lies in the frame.
func composite(frame []byte, fw, fh int, s *sprite, q [4][2]float64) (image.Rectangle, bool, error) {
	H, err := quadHomography(float64(s.w), float64(s.h), q)
	if err != nil {
		return image.Rectangle{}, false, err
	}
	inv := H.inverse()
	x0, y0, x1, y1 := q[0][0], q[0][1], q[0][0], q[0][1]
	for _, p := range q[1:] {
		x0, y0 = math.Min(x0, p[0]), math.Min(y0, p[1])
		x1, y1 = math.Max(x1, p[0]), math.Max(y1, p[1])
	}
	bx0, by0 := max(0, int(math.Floor(x0))), max(0, int(math.Floor(y0)))
	bx1, by1 := min(fw, int(math.Ceil(x1))+1), min(fh, int(math.Ceil(y1))+1)
	box := image.Rectangle{Min: image.Pt(fw, fh)}
	found := false
	for y := by0; y < by1; y++ {
		for x := bx0; x < bx1; x++ {
			u, v := inv.apply(float64(x)+0.5, float64(y)+0.5)
			c, ok := s.sample(u-0.5, v-0.5)
			if !ok || c[3] <= 0 {
				continue
			}
			a := c[3]
			o := 3 * (y*fw + x)
			for k := range 3 {
				bg := float32(frame[o+k]) / 255
				frame[o+k] = uint8(math.Round(float64(255 * (a*c[k] + (1-a)*bg))))
			}
			if a >= 0.5 {
				found = true
				box.Min.X, box.Min.Y = min(box.Min.X, x), min(box.Min.Y, y)
				box.Max.X, box.Max.Y = max(box.Max.X, x+1), max(box.Max.Y, y+1)
			}
		}
	}
	return box, found, nil
}

// sample reads s bilinearly at (u, v) in pixel-centre coordinates.
func (s *sprite) sample(u, v float64) ([4]float32, bool) {
	if u < -0.5 || v < -0.5 || u > float64(s.w)-0.5 || v > float64(s.h)-0.5 {
		return [4]float32{}, false
	}
	u = math.Max(0, math.Min(float64(s.w-1), u))
	v = math.Max(0, math.Min(float64(s.h-1), v))
	x0, y0 := int(u), int(v)
	x1, y1 := min(x0+1, s.w-1), min(y0+1, s.h-1)
	fx, fy := float32(u-float64(x0)), float32(v-float64(y0))
	var out [4]float32
	for c := range 4 {
		p00 := s.pix[4*(y0*s.w+x0)+c]
		p10 := s.pix[4*(y0*s.w+x1)+c]
		p01 := s.pix[4*(y1*s.w+x0)+c]
		p11 := s.pix[4*(y1*s.w+x1)+c]
		out[c] = (p00*(1-fx)+p10*fx)*(1-fy) + (p01*(1-fx)+p11*fx)*fy
	}
	return out, true
}

// fillRect paints an opaque rectangle (an occluder) onto an RGB frame.
func fillRect(frame []byte, fw, fh int, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(image.Rect(0, 0, fw, fh))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := 3 * (y*fw + x)
			frame[o], frame[o+1], frame[o+2] = c.R, c.G, c.B
		}
	}
}
