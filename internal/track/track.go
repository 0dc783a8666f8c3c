// Package track links per-frame detections into tracks within a shot, so an
// item seen in twenty sampled frames becomes one item. Association is a
// global assignment (Hungarian) on an affinity that fuses the IoU with a
// constant-velocity prediction of each track's box, the distance between
// centres, and appearance similarity of embeddings (re-ID features for people
// and garments, crop embeddings otherwise). Tracks never cross a shot
// boundary. The package is pure Go and knows nothing about models or video.
package track

import (
	"math"
	"sort"
)

// Box is an axis-aligned box in pixels: (X0,Y0) top-left, (X1,Y1) bottom-right.
type Box struct{ X0, Y0, X1, Y1 float64 }

// W returns the box width (0 when degenerate).
func (b Box) W() float64 { return math.Max(0, b.X1-b.X0) }

// H returns the box height (0 when degenerate).
func (b Box) H() float64 { return math.Max(0, b.Y1-b.Y0) }

// Area returns the box area.
func (b Box) Area() float64 { return b.W() * b.H() }

// Center returns the box centre.
func (b Box) Center() (x, y float64) { return (b.X0 + b.X1) / 2, (b.Y0 + b.Y1) / 2 }

// IoU returns the intersection over union of b and o.
func (b Box) IoU(o Box) float64 {
	ix := math.Min(b.X1, o.X1) - math.Max(b.X0, o.X0)
	iy := math.Min(b.Y1, o.Y1) - math.Max(b.Y0, o.Y0)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	u := b.Area() + o.Area() - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// Detection is one detected object in one sampled frame.
type Detection struct {
	T     float64 // presentation time in seconds
	Frame int     // frame number in the video
	Box   Box
	Label string
	Score float64
	// Feature is an L2-normalised appearance embedding; nil when none.
	Feature []float32
	// Ref is the caller's reference to the detection (a row id); kept as is.
	Ref int64
}

// Frame is the set of detections of one sampled frame.
type Frame struct {
	T     float64
	Frame int
	Dets  []Detection
}

// Span is a shot: tracks are built per span and end at its boundaries.
type Span struct {
	Index  int
	StartS float64
	EndS   float64
}

// Track is one object followed through a shot, detections in time order.
type Track struct {
	ID    int // 1-based, unique within one Video or Shot call
	Shot  int
	Label string
	Dets  []Detection
}

// StartS returns the time of the first detection.
func (t *Track) StartS() float64 { return t.Dets[0].T }

// EndS returns the time of the last detection.
func (t *Track) EndS() float64 { return t.Dets[len(t.Dets)-1].T }

// Extent is the time span the track stands for, given the times of all
// frames sampled from its shot (detections or not). Detections are seen
// only at the sampled frames, so each end reaches halfway to the
// neighbouring sampled frame where the item was not seen; when no sampled
// frame lies beyond a detection the end reaches the shot's boundary, the
// best estimate of when an item seen from the first (or until the last)
// analysed frame of the shot appears (or leaves). The result never leaves
// the shot and always contains the detections.
func (t *Track) Extent(shot Span, sampled []float64) (start, end float64) {
	first, last := t.StartS(), t.EndS()
	start, end = math.Min(shot.StartS, first), math.Max(shot.EndS, last)
	for _, s := range sampled {
		if s < first && s >= shot.StartS {
			start = math.Max(start, (s+first)/2)
		}
		if s > last && s <= shot.EndS {
			end = math.Min(end, (s+last)/2)
		}
	}
	return start, end
}

// Config tunes association. The zero value of a field selects its default.
type Config struct {
	// Weights of the affinity terms; defaults 0.3 IoU, 0.4 appearance,
	// 0.3 centre proximity. Appearance counts only when both sides have a
	// feature; otherwise the weights are renormalised over the rest.
	IoUWeight, AppearanceWeight, ProximityWeight float64
	// AppearanceFloor maps cosine similarity to 0 at it, because unrelated
	// crops already score around 0.5 with non-negative CNN features; pairs
	// at or below it are never associated. Default 0.5.
	AppearanceFloor float64
	// MinAffinity is the least fused affinity for a detection to join a
	// track. Default 0.3.
	MinAffinity float64
	// MaxCenterDist gates association: the centre of a detection must lie
	// within this many predicted-box diagonals of the track's prediction.
	// Default 1.0.
	MaxCenterDist float64
	// MinSizeRatio gates association on scale: the smaller of the two areas
	// over the larger must reach it. Default 0.25.
	MinSizeRatio float64
	// MaxMissed is how many consecutive sampled frames a track may miss
	// before it ends. Default 2.
	MaxMissed int
	// MinLength is how many detections a track needs to be kept. Default 2.
	MinLength int
	// KeepScore keeps a shorter track when its best detection score reaches
	// it (an item in a very short shot). Default 0.6.
	KeepScore float64
	// Compatible reports whether detections with labels a and b may be the
	// same object. Default: equal labels.
	Compatible func(a, b string) bool
}

func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.IoUWeight <= 0 && c.AppearanceWeight <= 0 && c.ProximityWeight <= 0 {
		c.IoUWeight, c.AppearanceWeight, c.ProximityWeight = 0.3, 0.4, 0.3
	}
	def(&c.AppearanceFloor, 0.5)
	def(&c.MinAffinity, 0.3)
	def(&c.MaxCenterDist, 1.0)
	def(&c.MinSizeRatio, 0.25)
	def(&c.KeepScore, 0.6)
	if c.MaxMissed <= 0 {
		c.MaxMissed = 2
	}
	if c.MinLength <= 0 {
		c.MinLength = 2
	}
	if c.Compatible == nil {
		c.Compatible = func(a, b string) bool { return a == b }
	}
	if c.AppearanceFloor >= 1 {
		c.AppearanceFloor = 0.99
	}
	return c
}

// live is a track being built.
type live struct {
	t       Track
	feature []float32 // running mean appearance, L2-normalised
	vx, vy  float64   // centre velocity, pixels per second
	vw, vh  float64   // size velocity, pixels per second
	missed  int
}

func (l *live) last() Detection { return l.t.Dets[len(l.t.Dets)-1] }

// predict returns the track's box extrapolated to time t.
func (l *live) predict(t float64) Box {
	d := l.last()
	dt := t - d.T
	cx, cy := d.Box.Center()
	w, h := d.Box.W(), d.Box.H()
	cx += l.vx * dt
	cy += l.vy * dt
	w = math.Max(1, w+l.vw*dt)
	h = math.Max(1, h+l.vh*dt)
	return Box{cx - w/2, cy - h/2, cx + w/2, cy + h/2}
}

func (l *live) add(d Detection) {
	if n := len(l.t.Dets); n > 0 {
		p := l.t.Dets[n-1]
		if dt := d.T - p.T; dt > 0 {
			pcx, pcy := p.Box.Center()
			cx, cy := d.Box.Center()
			// Smooth the velocity: sampled frames are far apart and boxes jitter.
			const a = 0.6
			l.vx = a*(cx-pcx)/dt + (1-a)*l.vx
			l.vy = a*(cy-pcy)/dt + (1-a)*l.vy
			l.vw = a*(d.Box.W()-p.Box.W())/dt + (1-a)*l.vw
			l.vh = a*(d.Box.H()-p.Box.H())/dt + (1-a)*l.vh
		}
	}
	l.t.Dets = append(l.t.Dets, d)
	if len(d.Feature) > 0 {
		if len(l.feature) != len(d.Feature) {
			l.feature = append([]float32(nil), d.Feature...)
		} else {
			const keep = 0.8
			for i, v := range d.Feature {
				l.feature[i] = keep*l.feature[i] + (1-keep)*v
			}
		}
		normalize(l.feature)
	}
	l.missed = 0
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

func cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return math.NaN()
	}
	return dot / math.Sqrt(na*nb)
}

// affinity scores how well detection d continues track l (0..1), or -1
// when d is gated out.
func (c *Config) affinity(l *live, d Detection) float64 {
	if !c.Compatible(l.t.Label, d.Label) {
		return -1
	}
	p := l.predict(d.T)
	px, py := p.Center()
	dx, dy := d.Box.Center()
	diag := math.Hypot(p.W(), p.H())
	dist := math.Hypot(px-dx, py-dy)
	if diag <= 0 || dist > c.MaxCenterDist*diag {
		return -1
	}
	a1, a2 := d.Box.Area(), l.last().Box.Area()
	if a1 <= 0 || a2 <= 0 || math.Min(a1, a2)/math.Max(a1, a2) < c.MinSizeRatio {
		return -1
	}
	iou := math.Max(p.IoU(d.Box), l.last().Box.IoU(d.Box))
	// Quadratic fall-off: at two samples a second objects move a good part
	// of their size between frames, so near misses still count.
	r := dist / (c.MaxCenterDist * diag)
	prox := 1 - r*r
	num := c.IoUWeight*iou + c.ProximityWeight*prox
	den := c.IoUWeight + c.ProximityWeight
	if cos := cosine(l.feature, d.Feature); !math.IsNaN(cos) {
		if cos <= c.AppearanceFloor {
			return -1 // looks unrelated: never the same object
		}
		app := math.Min(1, (cos-c.AppearanceFloor)/(1-c.AppearanceFloor))
		num += c.AppearanceWeight * app
		den += c.AppearanceWeight
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// Shot links the detections of one shot's sampled frames into tracks. Frames
// are processed in time order; the returned tracks have IDs 1..n in order of
// their first appearance and Shot set to shot.
func Shot(cfg Config, shot int, frames []Frame) []Track {
	fs := append([]Frame(nil), frames...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].T < fs[j].T })
	tr := NewTracker(cfg, shot)
	var done []Track
	for _, f := range fs {
		done = append(done, tr.Add(f)...)
	}
	done = append(done, tr.Flush()...)
	sort.SliceStable(done, func(i, j int) bool {
		if done[i].StartS() != done[j].StartS() {
			return done[i].StartS() < done[j].StartS()
		}
		return done[i].Dets[0].Box.X0 < done[j].Dets[0].Box.X0
	})
	for i := range done {
		done[i].ID = i + 1
	}
	return done
}

// Tracker links detections into tracks one frame at a time, for streams
// whose frames arrive as they are decoded (Shot runs one over a whole
// shot). Track IDs are given in order of creation, from 1; a track keeps
// its ID from its first detection to its end.
type Tracker struct {
	c      Config
	shot   int
	active []*live
	nextID int
	keep   int
}

// KeepLast bounds the detections an active track keeps to its latest n
// (n <= 0: all), so a stream's long-lived tracks take bounded memory.
// Association reads only the latest detection and running averages.
func (tr *Tracker) KeepLast(n int) { tr.keep = n }

// NewTracker returns a Tracker for the frames of one shot.
func NewTracker(cfg Config, shot int) *Tracker {
	return &Tracker{c: cfg.withDefaults(), shot: shot}
}

// Add associates the detections of f, the next frame in time order, with
// the active tracks and returns the tracks that ended before it (missed
// more than MaxMissed frames) and are kept (see Config.MinLength).
func (tr *Tracker) Add(f Frame) []Track {
	c := tr.c
	dets := make([]Detection, 0, len(f.Dets))
	for _, d := range f.Dets {
		if d.Box.Area() <= 0 || math.IsNaN(d.Box.Area()) {
			continue // degenerate boxes carry nothing to track
		}
		d.T, d.Frame = f.T, f.Frame
		dets = append(dets, d)
	}
	aff := make([][]float64, len(tr.active))
	for i, l := range tr.active {
		aff[i] = make([]float64, len(dets))
		for j, d := range dets {
			aff[i][j] = c.affinity(l, d)
		}
	}
	assign := maxAssign(aff, c.MinAffinity)
	used := make([]bool, len(dets))
	var next, done []*live
	for i, l := range tr.active {
		if j := assign[i]; j >= 0 {
			l.add(dets[j])
			if n := len(l.t.Dets) - tr.keep; tr.keep > 0 && n > 0 {
				l.t.Dets = append(l.t.Dets[:0:0], l.t.Dets[n:]...)
			}
			used[j] = true
			next = append(next, l)
			continue
		}
		l.missed++
		if l.missed > c.MaxMissed {
			done = append(done, l)
		} else {
			next = append(next, l)
		}
	}
	for j, d := range dets {
		if !used[j] {
			tr.nextID++
			l := &live{t: Track{ID: tr.nextID, Shot: tr.shot, Label: d.Label}}
			l.add(d)
			next = append(next, l)
		}
	}
	tr.active = next
	return tr.kept(done)
}

// Flush ends every active track and returns the kept ones.
func (tr *Tracker) Flush() []Track {
	done := tr.active
	tr.active = nil
	return tr.kept(done)
}

// Active returns the tracks still open, with their detections so far (the
// slices are shared with the tracker: do not modify them), seen in the
// last frame or missed fewer than MaxMissed times since.
func (tr *Tracker) Active() []Track {
	out := make([]Track, 0, len(tr.active))
	for _, l := range tr.active {
		t := l.t
		t.Label = majorityLabel(t.Dets)
		out = append(out, t)
	}
	return out
}

// Missed returns how many frames in a row the active track id has missed
// (-1 when it is not active).
func (tr *Tracker) Missed(id int) int {
	for _, l := range tr.active {
		if l.t.ID == id {
			return l.missed
		}
	}
	return -1
}

// kept returns the ended tracks long or confident enough to keep, labelled
// by their majority label.
func (tr *Tracker) kept(done []*live) []Track {
	var out []Track
	for _, l := range done {
		best := 0.0
		for _, d := range l.t.Dets {
			best = math.Max(best, d.Score)
		}
		if len(l.t.Dets) < tr.c.MinLength && best < tr.c.KeepScore {
			continue
		}
		l.t.Label = majorityLabel(l.t.Dets)
		out = append(out, l.t)
	}
	return out
}

// majorityLabel returns the label with the highest summed detection score.
func majorityLabel(ds []Detection) string {
	sum := map[string]float64{}
	best, bestV := ds[0].Label, -1.0
	for _, d := range ds {
		sum[d.Label] += d.Score + 1e-6
	}
	for _, d := range ds { // iterate in detection order for determinism
		if v := sum[d.Label]; v > bestV {
			best, bestV = d.Label, v
		}
	}
	return best
}

// Video tracks every shot of a video: frames are grouped into the span that
// contains them (a frame at a boundary belongs to the later shot) and
// tracked per shot. Track IDs are unique across the video, in time order.
// Frames outside every span are ignored.
func Video(cfg Config, shots []Span, frames []Frame) []Track {
	ss := append([]Span(nil), shots...)
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].StartS < ss[j].StartS })
	per := make([][]Frame, len(ss))
	for _, f := range frames {
		k := sort.Search(len(ss), func(i int) bool { return ss[i].StartS > f.T }) - 1
		if k < 0 || f.T > ss[k].EndS {
			continue
		}
		per[k] = append(per[k], f)
	}
	var out []Track
	for i, s := range ss {
		out = append(out, Shot(cfg, s.Index, per[i])...)
	}
	for i := range out {
		out[i].ID = i + 1
	}
	return out
}
