// Package shots finds shot boundaries in a stream of small decoded frames:
// hard cuts, gradual transitions (fades through black and dissolves) and
// black segments, with thresholds that adapt to the local content.
//
// The Detector is fed frame by frame. It keeps a short ring of tiny colour
// grids for the dissolve test and a few numbers per frame for the whole video,
// so memory stays small for long videos; Result runs the decisions.
package shots

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Transition says how a shot begins.
type Transition string

// Transition kinds; the values are those of the vitrine.shoppable/v1 schema.
const (
	None     Transition = "none" // the first shot
	Cut      Transition = "cut"
	Fade     Transition = "fade" // through black
	Dissolve Transition = "dissolve"
)

// Gradual reports whether t spans several frames.
func (t Transition) Gradual() bool { return t == Fade || t == Dissolve }

// Frame is one decoded RGB24 frame. It has the same fields as media.Frame, so
// a media frame converts with shots.Frame(f).
type Frame struct {
	Index  int
	PTS    float64
	Width  int
	Height int
	Pix    []byte
}

// Shot is a run of frames between two boundaries. Frames are the Index values
// of the frames fed to the detector; EndFrame is exclusive.
type Shot struct {
	Index      int        `json:"index"`
	StartFrame int        `json:"start_frame"`
	EndFrame   int        `json:"end_frame"`
	Start      float64    `json:"start_s"`
	End        float64    `json:"end_s"`
	Transition Transition `json:"transition"`
	// TransitionStart..TransitionEnd (inclusive frames) is the incoming
	// gradual transition; both equal StartFrame for a cut and the first shot.
	TransitionStart int `json:"transition_start"`
	TransitionEnd   int `json:"transition_end"`
	// Black marks a shot made (almost) only of black frames, such as a
	// black hold between two cuts; it shows nothing to analyse.
	Black bool `json:"black,omitempty"`
}

// Boundary is the start of a shot other than the first.
type Boundary struct {
	Frame      int        `json:"frame"` // first frame of the new shot
	Time       float64    `json:"time_s"`
	Transition Transition `json:"transition"`
	// SpanStart..SpanEnd (inclusive) are the frames of a gradual transition.
	SpanStart int     `json:"span_start"`
	SpanEnd   int     `json:"span_end"`
	Score     float64 `json:"score"` // strength of the evidence, for ranking
}

// Segment is a run of frames, used for black segments. EndFrame is exclusive.
type Segment struct {
	StartFrame int     `json:"start_frame"`
	EndFrame   int     `json:"end_frame"`
	Start      float64 `json:"start_s"`
	End        float64 `json:"end_s"`
}

// Result is the outcome of detection over a whole video.
type Result struct {
	Shots      []Shot     `json:"shots"`
	Boundaries []Boundary `json:"boundaries"`
	Black      []Segment  `json:"black"`
	Frames     int        `json:"frames"`
	Duration   float64    `json:"duration_s"`
}

// Config tunes the detector. Zero fields take the defaults shown.
type Config struct {
	// FPS is the nominal frame rate, used to turn the time settings into
	// frames. Default 25.
	FPS float64
	// CutRatio: a frame difference must be this many times the mean of its
	// neighbours to be a cut. Default 3.
	CutRatio float64
	// CutMin is the smallest content change (0..1) that can be a cut. Default 0.10.
	CutMin float64
	// CutWindow is the number of neighbour frames on each side forming the
	// adaptive baseline. Default 3.
	CutWindow int
	// MinShot is the shortest shot in seconds; closer boundaries keep the
	// stronger. Default 0.3.
	MinShot float64
	// BlackLuma is the mean luma (0..255) under which a flat frame is black.
	// Default 20.
	BlackLuma float64
	// BlackStd is the luma standard deviation under which a dark frame is
	// flat. Default 12.
	BlackStd float64
	// DissolveMin is the smallest change (0..1) across a dissolve. Default 0.05.
	DissolveMin float64
	// DissolveLinear is the largest ratio between the error of the
	// linear-blend model and the change across the window. Default 0.3.
	DissolveLinear float64
	// MaxTransition is the longest gradual transition in seconds. Default 3.
	MaxTransition float64
}

func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.FPS, 25)
	def(&c.CutRatio, 3)
	def(&c.CutMin, 0.10)
	def(&c.MinShot, 0.3)
	def(&c.BlackLuma, 20)
	def(&c.BlackStd, 12)
	def(&c.DissolveMin, 0.05)
	def(&c.DissolveLinear, 0.3)
	def(&c.MaxTransition, 3)
	if c.CutWindow <= 0 {
		c.CutWindow = 3
	}
	return c
}

// Grid size of the colour thumbnails used for pixel differences.
const (
	gridW     = 24
	gridH     = 24
	gridCells = gridW * gridH
	histBins  = 8 * 4 * 4
)

// dissolveSpans are the half-window lengths, in seconds, of the linear-blend
// test; several cover short and long dissolves.
var dissolveSpans = []float64{0.12, 0.25, 0.45}

// Detector accumulates per-frame features. Use NewDetector.
type Detector struct {
	cfg  Config
	ks   []int // dissolve half-windows in frames
	kmax int

	ring     [][]float32 // colour grids of the last 2*kmax+2 frames, by frame number mod len
	prevHist []float32
	hist     []float32

	index []int
	pts   []float64
	luma  []float32 // mean luma 0..255
	lstd  []float32 // luma std 0..255
	diff  []float32 // content change from the previous frame, 0..1
	pdiff []float32 // grid pixel change from the previous frame, 0..1
	skip  []float32 // pixel change between the previous and the next frame (flash test)
	dk    [][]float32
	ek    [][]float32
	n     int
	w, h  int
}

// NewDetector returns a detector for a stream at cfg.FPS.
func NewDetector(cfg Config) *Detector {
	cfg = cfg.withDefaults()
	d := &Detector{cfg: cfg}
	for _, s := range dissolveSpans {
		k := max(2, int(math.Round(s*cfg.FPS)))
		if len(d.ks) == 0 || k > d.ks[len(d.ks)-1] {
			d.ks = append(d.ks, k)
		}
	}
	d.kmax = d.ks[len(d.ks)-1]
	d.ring = make([][]float32, 2*d.kmax+2)
	for i := range d.ring {
		d.ring[i] = make([]float32, gridCells*3)
	}
	d.dk = make([][]float32, len(d.ks))
	d.ek = make([][]float32, len(d.ks))
	d.prevHist = make([]float32, histBins)
	d.hist = make([]float32, histBins)
	return d
}

// ErrBadFrame is returned by Add for frames whose size or data is unusable.
var ErrBadFrame = errors.New("shots: bad frame")

// Add feeds the next frame. All frames of a stream must have the same size.
func (d *Detector) Add(f Frame) error {
	if f.Width <= 0 || f.Height <= 0 || len(f.Pix) < f.Width*f.Height*3 {
		return fmt.Errorf("%w: %dx%d with %d bytes", ErrBadFrame, f.Width, f.Height, len(f.Pix))
	}
	if d.n == 0 {
		d.w, d.h = f.Width, f.Height
	} else if f.Width != d.w || f.Height != d.h {
		return fmt.Errorf("%w: size changed from %dx%d to %dx%d at frame %d", ErrBadFrame, d.w, d.h, f.Width, f.Height, f.Index)
	}
	i := d.n
	g := d.ring[i%len(d.ring)]
	mean, std := features(f, g, d.hist)
	d.index = append(d.index, f.Index)
	d.pts = append(d.pts, f.PTS)
	d.luma = append(d.luma, float32(mean))
	d.lstd = append(d.lstd, float32(std))
	d.skip = append(d.skip, 0)
	for k := range d.ks {
		d.dk[k] = append(d.dk[k], 0)
		d.ek[k] = append(d.ek[k], 0)
	}
	if i == 0 {
		d.diff = append(d.diff, 0)
		d.pdiff = append(d.pdiff, 0)
	} else {
		prev := d.ring[(i-1)%len(d.ring)]
		pd := gridDiff(prev, g)
		hd := histDiff(d.prevHist, d.hist)
		d.diff = append(d.diff, float32(0.5*math.Min(1, 3*pd)+0.5*hd))
		d.pdiff = append(d.pdiff, float32(pd))
		if i >= 2 {
			d.skip[i-1] = float32(gridDiff(d.ring[(i-2)%len(d.ring)], g))
		}
	}
	for j, k := range d.ks {
		c := i - k
		if c-k < 0 {
			continue
		}
		a, m, b := d.ring[(c-k)%len(d.ring)], d.ring[c%len(d.ring)], g
		d.dk[j][c], d.ek[j][c] = blend(a, m, b)
	}
	d.prevHist, d.hist = d.hist, d.prevHist
	d.n++
	return nil
}

// features fills the colour grid g (Y, Cb, Cr in 0..1 per cell) and the
// normalised YCbCr histogram h of f, and returns the mean and standard
// deviation of luma on a 0..255 scale.
func features(f Frame, g, h []float32) (mean, std float64) {
	clear(g)
	clear(h)
	var cnt [gridCells]int32
	// Sample at most about 40k pixels so large frames cost the same.
	step := 1
	for (f.Width/step)*(f.Height/step) > 40000 {
		step++
	}
	// The soft histogram costs most; a few thousand pixels are plenty.
	hstep := step
	for (f.Width/hstep)*(f.Height/hstep) > 4000 {
		hstep++
	}
	var sum, sum2 float64
	var hn float32
	n := 0
	for y := 0; y < f.Height; y += step {
		gy := y * gridH / f.Height
		row := f.Pix[y*f.Width*3:]
		for x := 0; x < f.Width; x += step {
			p := row[x*3 : x*3+3]
			r, gg, b := float32(p[0]), float32(p[1]), float32(p[2])
			yy := 0.299*r + 0.587*gg + 0.114*b
			cb := 128 - 0.168736*r - 0.331264*gg + 0.5*b
			cr := 128 + 0.5*r - 0.418688*gg - 0.081312*b
			c := gy*gridW + x*gridW/f.Width
			g[c*3] += yy
			g[c*3+1] += cb
			g[c*3+2] += cr
			cnt[c]++
			if y%hstep == 0 && x%hstep == 0 {
				softBin(h, yy, cb, cr)
				hn++
			}
			sum += float64(yy)
			sum2 += float64(yy) * float64(yy)
			n++
		}
	}
	for c := range gridCells {
		if cnt[c] > 0 {
			s := 1 / (255 * float32(cnt[c]))
			g[c*3] *= s
			g[c*3+1] *= s
			g[c*3+2] *= s
		}
	}
	inv := 1 / hn
	for b := range h {
		h[b] *= inv
	}
	mean = sum / float64(n)
	std = math.Sqrt(math.Max(0, sum2/float64(n)-mean*mean))
	return mean, std
}

// softBin adds a pixel to the 8x4x4 YCbCr histogram h, splitting it
// between the two nearest bins of each channel so that a flat colour drifting
// across a bin edge changes the histogram smoothly, not in a jump.
func softBin(h []float32, y, cb, cr float32) {
	y0, fy := split(y, 8)
	b0, fb := split(cb, 4)
	r0, fr := split(cr, 4)
	wy := [2]float32{1 - fy, fy}
	wb := [2]float32{1 - fb, fb}
	wr := [2]float32{1 - fr, fr}
	yi := [2]int{y0, min(y0+1, 7)}
	bi := [2]int{b0, min(b0+1, 3)}
	ri := [2]int{r0, min(r0+1, 3)}
	for dy := range 2 {
		for db := range 2 {
			w := wy[dy] * wb[db]
			base := yi[dy]<<4 | bi[db]<<2
			h[base|ri[0]] += w * wr[0]
			h[base|ri[1]] += w * wr[1]
		}
	}
}

// split places v (0..255) on n bins with centres at (i+0.5)*256/n and
// returns the lower bin and the weight of the upper one.
func split(v float32, n int) (int, float32) {
	p := v*float32(n)/256 - 0.5
	if p <= 0 {
		return 0, 0
	}
	i := int(p)
	if i >= n-1 {
		return n - 1, 0
	}
	return i, p - float32(i)
}

// gridDiff is the mean absolute difference of two grids, luma weighted twice.
func gridDiff(a, b []float32) float64 {
	var s float32
	for i := 0; i < len(a); i += 3 {
		s += 2*abs32(a[i]-b[i]) + abs32(a[i+1]-b[i+1]) + abs32(a[i+2]-b[i+2])
	}
	return float64(s) / float64(gridCells*4)
}

// blend returns the change between a and b and the error of predicting m as
// their average, the signature of a linear cross-fade.
func blend(a, m, b []float32) (change, err float32) {
	var s, e float32
	for i := 0; i < len(a); i++ {
		w := float32(1)
		if i%3 == 0 {
			w = 2
		}
		s += w * abs32(a[i]-b[i])
		e += w * abs32(m[i]-0.5*(a[i]+b[i]))
	}
	return s / (gridCells * 4), e / (gridCells * 4)
}

// histDiff is half the L1 distance of two normalised histograms (0..1).
func histDiff(a, b []float32) float64 {
	var s float32
	for i := range a {
		s += abs32(a[i] - b[i])
	}
	return float64(s) / 2
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// Frames returns the number of frames added so far.
func (d *Detector) Frames() int { return d.n }

// Result decides the boundaries over the frames added so far and returns
// the shots. It may be called again after more frames are added.
func (d *Detector) Result() Result {
	n := d.n
	res := Result{Frames: n}
	if n == 0 {
		return res
	}
	res.Duration = d.endTime(n - 1)
	black := d.blackRuns()
	var bounds []Boundary
	busy := make([]bool, n) // frames inside a gradual transition
	for _, r := range black {
		res.Black = append(res.Black, Segment{StartFrame: d.index[r[0]], EndFrame: d.index[r[1]-1] + 1, Start: d.pts[r[0]], End: d.endTime(r[1] - 1)})
		maxLen := int(d.cfg.MaxTransition * d.cfg.FPS)
		if r[0] == 0 || r[1] >= n {
			// A black leader or tail with its fade belongs to the first or
			// last shot; no boundary is found inside it.
			lo, hi := 0, n-1
			if r[0] == 0 {
				hi = d.ramp(r[1]-1, +1, maxLen)
			} else {
				lo = d.ramp(r[0], -1, maxLen)
			}
			for j := lo; j <= hi; j++ {
				busy[j] = true
			}
			continue
		}
		if b, ok := d.fade(r); ok {
			bounds = append(bounds, b)
			for j := b.SpanStart; j <= b.SpanEnd; j++ {
				busy[j] = true
			}
		}
	}
	for _, b := range d.dissolves(busy) {
		bounds = append(bounds, b)
		for j := b.SpanStart; j <= b.SpanEnd; j++ {
			busy[j] = true
		}
	}
	bounds = append(bounds, d.cuts(busy)...)
	bounds = d.enforceMinShot(bounds)

	// Boundaries were built on positions 0..n-1; map them to frame indices.
	prev := Shot{Index: 0, StartFrame: d.index[0], Start: d.pts[0], Transition: None, TransitionStart: d.index[0], TransitionEnd: d.index[0]}
	for _, b := range bounds {
		pos := b.Frame
		prev.EndFrame = d.index[pos]
		prev.End = d.pts[pos]
		res.Shots = append(res.Shots, prev)
		out := Boundary{Frame: d.index[pos], Time: d.pts[pos], Transition: b.Transition,
			SpanStart: d.index[b.SpanStart], SpanEnd: d.index[b.SpanEnd], Score: b.Score}
		res.Boundaries = append(res.Boundaries, out)
		prev = Shot{Index: len(res.Shots), StartFrame: out.Frame, Start: out.Time, Transition: b.Transition,
			TransitionStart: out.SpanStart, TransitionEnd: out.SpanEnd}
	}
	prev.EndFrame = d.index[n-1] + 1
	prev.End = res.Duration
	res.Shots = append(res.Shots, prev)
	markBlack(res.Shots, res.Black)
	return res
}

// markBlack flags shots of which at least 90% of the frames are black.
func markBlack(shotList []Shot, black []Segment) {
	for i := range shotList {
		s := &shotList[i]
		covered := 0
		for _, b := range black {
			covered += max(0, min(b.EndFrame, s.EndFrame)-max(b.StartFrame, s.StartFrame))
		}
		s.Black = covered*10 >= (s.EndFrame-s.StartFrame)*9
	}
}

// endTime is the time just after frame position i.
func (d *Detector) endTime(i int) float64 {
	if i+1 < d.n {
		return d.pts[i+1]
	}
	step := 1 / d.cfg.FPS
	if i > 0 {
		if s := d.pts[i] - d.pts[i-1]; s > 0 {
			step = s
		}
	}
	return d.pts[i] + step
}

// blackRuns returns [start, end) position runs of black frames.
func (d *Detector) blackRuns() [][2]int {
	var runs [][2]int
	start := -1
	for i := 0; i <= d.n; i++ {
		isBlack := i < d.n && float64(d.luma[i]) < d.cfg.BlackLuma && float64(d.lstd[i]) < d.cfg.BlackStd
		if isBlack && start < 0 {
			start = i
		}
		if !isBlack && start >= 0 {
			runs = append(runs, [2]int{start, i})
			start = -1
		}
	}
	return runs
}

// fade turns a black run with a luma ramp on at least one side into a fade
// boundary. Runs touching the start or end of the video are not boundaries,
// and runs entered and left abruptly are left to the cut test.
func (d *Detector) fade(r [2]int) (Boundary, bool) {
	if r[0] == 0 || r[1] >= d.n {
		return Boundary{}, false
	}
	maxLen := int(d.cfg.MaxTransition * d.cfg.FPS)
	out := d.ramp(r[0], -1, maxLen)
	in := d.ramp(r[1]-1, +1, maxLen)
	if r[0]-out < 2 && in-(r[1]-1) < 2 {
		return Boundary{}, false
	}
	mid := (out + in + 1) / 2
	return Boundary{Frame: mid, Transition: Fade, SpanStart: out, SpanEnd: in, Score: 1}, true
}

// ramp walks from the black frame at position from in direction dir while
// the luma keeps rising, and returns the last frame of the ramp.
func (d *Detector) ramp(from, dir, maxLen int) int {
	const minStep = 0.4 // luma units per frame; slower is not a fade
	j := from
	flat := 0
	for steps := 0; steps < maxLen; steps++ {
		next := j + dir
		if next < 0 || next >= d.n {
			break
		}
		rise := float64(d.luma[next] - d.luma[j])
		if rise < -1 {
			break
		}
		if rise < minStep {
			flat++
			if flat >= 2 {
				j -= dir * (flat - 1)
				return j
			}
		} else {
			flat = 0
		}
		j = next
	}
	return j - dir*flat
}

// dissolves finds runs of frames that are well predicted as the average of
// frames k before and k after while those two differ: a cross-fade.
func (d *Detector) dissolves(busy []bool) []Boundary {
	n := d.n
	score := make([]float32, n)
	kOf := make([]int, n)
	cand := make([]bool, n)
	ratio := make([]float32, n) // best E/D of the frame
	for i := range ratio {
		ratio[i] = 1
	}
	for j, k := range d.ks {
		for c := k; c+k < n; c++ {
			D, E := d.dk[j][c], d.ek[j][c]
			if float64(D) < d.cfg.DissolveMin || float64(E) > d.cfg.DissolveLinear*float64(D) {
				continue
			}
			if busy[c-k] || busy[c+k] || busy[c] {
				continue
			}
			// A cut inside the window is not a blend: its frames jump.
			if d.maxPixDiff(c-k+1, c+k) > 0.5*float64(D) {
				continue
			}
			cand[c] = true
			ratio[c] = min(ratio[c], E/D)
			if D > score[c] {
				score[c], kOf[c] = D, k
			}
		}
	}
	minRun := max(2, int(math.Round(0.08*d.cfg.FPS)))
	var out []Boundary
	for i := 0; i < n; {
		if !cand[i] {
			i++
			continue
		}
		j := i
		gap := 0
		for e := i + 1; e < n && gap <= 2; e++ {
			if cand[e] {
				j, gap = e, 0
			} else {
				gap++
			}
		}
		// Steady motion of smooth content also looks like a blend, but
		// only roughly; a dissolve has frames that are almost exact blends.
		linear := float32(1)
		for c := i; c <= j; c++ {
			linear = min(linear, ratio[c])
		}
		if j-i+1 >= minRun && float64(linear) <= d.cfg.DissolveLinear/2 {
			best := i
			for c := i; c <= j; c++ {
				if score[c] > score[best] {
					best = c
				}
			}
			k := kOf[best]
			lo, hi := max(0, i-k/2), min(n-1, j+k/2)
			out = append(out, Boundary{Frame: (i + j + 1) / 2, Transition: Dissolve, SpanStart: lo, SpanEnd: hi, Score: float64(score[best])})
		}
		i = j + 1
	}
	return out
}

// maxPixDiff is the largest frame-to-frame pixel change in positions [a, b].
func (d *Detector) maxPixDiff(a, b int) float64 {
	var m float32
	for i := max(a, 1); i <= b && i < d.n; i++ {
		m = max(m, d.pdiff[i])
	}
	return float64(m)
}

// cuts finds frames whose change from the previous frame stands out from
// the changes around them (an adaptive threshold: CutRatio times their
// median) and is not a flash.
func (d *Detector) cuts(busy []bool) []Boundary {
	n := d.n
	w := d.cfg.CutWindow
	var out []Boundary
	nb := make([]float32, 0, 2*w)
	for i := 1; i < n; i++ {
		c := float64(d.diff[i])
		if c < d.cfg.CutMin || busy[i] || busy[i-1] {
			continue
		}
		// The baseline is the median of the neighbours, so a burst of
		// one-frame shots (a fast montage) does not hide its own cuts.
		nb = nb[:0]
		for j := i - w; j <= i+w; j++ {
			if j < 1 || j >= n || j == i {
				continue
			}
			nb = append(nb, d.diff[j])
		}
		base := 0.0
		if len(nb) > 0 {
			slices.Sort(nb)
			m := len(nb) / 2
			base = float64(nb[m])
			if len(nb)%2 == 0 {
				base = float64(nb[m-1]+nb[m]) / 2
			}
		}
		if c < d.cfg.CutRatio*(base+0.01) {
			continue
		}
		// A flash changes frame i but frames i-1 and i+1 look alike.
		if i+1 < n && d.skip[i] < 0.3*d.pdiff[i] && float64(d.diff[i+1]) > 0.5*c {
			continue
		}
		// …and the frame after a flash returns to the picture before it.
		if i >= 2 && d.skip[i-1] < 0.3*d.pdiff[i] && float64(d.diff[i-1]) > 0.5*c {
			continue
		}
		out = append(out, Boundary{Frame: i, Transition: Cut, SpanStart: i, SpanEnd: i, Score: c})
	}
	return out
}

// enforceMinShot sorts boundaries and, where two are closer than the
// minimum shot length, keeps the stronger (gradual transitions first).
func (d *Detector) enforceMinShot(bs []Boundary) []Boundary {
	slices.SortFunc(bs, func(a, b Boundary) int { return a.Frame - b.Frame })
	minGap := max(1, int(math.Round(d.cfg.MinShot*d.cfg.FPS)))
	strength := func(b Boundary) float64 {
		if b.Transition.Gradual() {
			return 10 + b.Score
		}
		return b.Score
	}
	var out []Boundary
	for _, b := range bs {
		if b.Frame <= 0 || b.Frame >= d.n {
			continue
		}
		if len(out) > 0 {
			last := &out[len(out)-1]
			near := b.Frame-last.Frame < minGap || b.SpanStart <= last.SpanEnd
			if near {
				if strength(b) > strength(*last) {
					*last = b
				}
				continue
			}
		}
		out = append(out, b)
	}
	return out
}
