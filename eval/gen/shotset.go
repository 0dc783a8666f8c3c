package gen

// The shot set: vertical reels made to test shot boundary detection on the
// transitions of real fashion edits. Every shot is one or two on-model
// photos with a slow pan and zoom (a still shot that must not fire); shots
// are joined by hard cuts (also to a photo of similar colour and layout, to
// a tighter framing of the same photo, into split screens, and behind a
// whip pan), dissolves between similar photos, fades through black and
// white, short white flashes, wipes and slides. Inside shots, text banners
// and logos animate in, a picture-in-picture slides in and a camera flash
// fires, none of which is a boundary. Frames are drawn in Go and piped to
// the encoder, so the truth is exact.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// ShotSetVersion names the shot-set generator in ground truth files; bump
// it when the same seed would produce a different video.
const ShotSetVersion = "vitrine-eval-shots/1"

// Shot-set transition kinds, as listed in ShotSetResult.Kinds.
const (
	ShotCut        = "cut"         // hard cut between unrelated photos
	ShotSimilarCut = "similar-cut" // hard cut to a photo of similar colour and layout
	ShotZoomCut    = "zoom-cut"    // hard cut to a tighter framing of the same photo
	ShotSplitCut   = "split-cut"   // hard cut into or out of a split screen
	ShotWhipPan    = "whip-pan"    // blurred fast pan out of one shot and into the next
	ShotDissolve   = "dissolve"    // cross-dissolve between photos of similar colour and layout
	ShotFadeBlack  = "fade-black"  // fade out to black, maybe hold, fade in
	ShotFadeWhite  = "fade-white"  // the same through white
	ShotFlash      = "flash"       // one to three white frames between two shots
	ShotWipe       = "wipe"        // a straight soft edge sweeps the next shot in
	ShotSlide      = "slide"       // the next shot slides in over the last
)

// Shot-set events inside a shot that are not boundaries.
const (
	EventText  = "text"  // a caption banner slides or fades in
	EventLogo  = "logo"  // a logo grows in at a corner
	EventPiP   = "pip"   // a framed second photo slides in
	EventFlash = "flash" // a camera flash: one or two frames washed white
)

// ShotSetKind is a transition kind of the shot set and its ground truth
// transition.
type ShotSetKind struct {
	Name  string
	Truth string
}

// ShotSetKinds lists the transition kinds, each drawn equally often.
func ShotSetKinds() []ShotSetKind {
	return []ShotSetKind{
		{ShotCut, groundtruth.TransitionCut},
		{ShotSimilarCut, groundtruth.TransitionCut},
		{ShotZoomCut, groundtruth.TransitionCut},
		{ShotSplitCut, groundtruth.TransitionCut},
		{ShotWhipPan, groundtruth.TransitionCut},
		{ShotDissolve, groundtruth.TransitionDissolve},
		{ShotFadeBlack, groundtruth.TransitionFade},
		{ShotFadeWhite, groundtruth.TransitionFade},
		{ShotFlash, groundtruth.TransitionFade},
		{ShotWipe, groundtruth.TransitionWipe},
		{ShotSlide, groundtruth.TransitionWipe},
	}
}

// ShotSetConfig controls a generated shot-set video. Zero fields take the
// defaults noted.
type ShotSetConfig struct {
	// CatalogDir holds products.csv and on-model product photos.
	CatalogDir string
	Seed       uint64
	Width      int     // default 360
	Height     int     // default 640
	FPS        int     // default 25
	Shots      int     // default 14
	MinShotS   float64 // shortest clear stretch of a shot, default 1.2
	MaxShotS   float64 // default 3
	// StillS, when positive, makes one shot of this many seconds with only
	// a slow pan and zoom and nothing else: no boundary may be found in it.
	StillS float64
	CRF    int    // H.264 constant rate factor, default 26
	FFmpeg string // default "ffmpeg"
	// Kinds, when set, restricts the transitions to these ShotSetKinds
	// names (a set of whip pans alone, say); unknown names are an error.
	Kinds []string
}

// kinds returns the transition kinds the shot set draws from.
func (c *ShotSetConfig) kinds() []ShotSetKind {
	all := ShotSetKinds()
	if len(c.Kinds) == 0 {
		return all
	}
	var out []ShotSetKind
	for _, k := range all {
		if slices.Contains(c.Kinds, k.Name) {
			out = append(out, k)
		}
	}
	return out
}

func (c *ShotSetConfig) defaults() error {
	c.Width = cmp.Or(c.Width, 360)
	c.Height = cmp.Or(c.Height, 640)
	c.FPS = cmp.Or(c.FPS, 25)
	c.Shots = cmp.Or(c.Shots, 14)
	c.CRF = cmp.Or(c.CRF, 26)
	c.MinShotS = cmp.Or(c.MinShotS, 1.2)
	c.MaxShotS = cmp.Or(c.MaxShotS, 3)
	c.FFmpeg = cmp.Or(c.FFmpeg, "ffmpeg")
	if err := checkFrame(c.Width, c.Height, c.FPS, 10); err != nil {
		return err
	}
	switch {
	case c.Shots < 1 || c.Shots > 200:
		return fmt.Errorf("gen: shots %d outside 1..200", c.Shots)
	case c.MinShotS < 1 || c.MaxShotS < c.MinShotS:
		return fmt.Errorf("gen: shot length %v..%v s invalid (minimum 1 s)", c.MinShotS, c.MaxShotS)
	case c.StillS < 0 || c.StillS > 600:
		return fmt.Errorf("gen: still shot %v s outside 0..600", c.StillS)
	case c.CRF < 0 || c.CRF > 51:
		return fmt.Errorf("gen: crf %d outside 0..51", c.CRF)
	case c.CatalogDir == "":
		return errors.New("gen: no catalog directory")
	}
	for _, k := range c.Kinds {
		if !slices.ContainsFunc(ShotSetKinds(), func(sk ShotSetKind) bool { return sk.Name == k }) {
			return fmt.Errorf("gen: unknown shot-set transition kind %q", k)
		}
	}
	return nil
}

// ShotSetEvent is something that happens inside a shot and is not a
// boundary.
type ShotSetEvent struct {
	Kind   string `json:"kind"`
	Frame  int    `json:"frame"`  // first frame
	Frames int    `json:"frames"` // how long it animates
}

// ShotSetResult describes a generated shot-set video.
type ShotSetResult struct {
	VideoPath string
	TruthPath string
	Truth     *groundtruth.Video
	// Kinds is the ShotSetKinds name of each boundary, in order.
	Kinds  []string
	Events []ShotSetEvent
}

// ssPanel is one photo of a shot filling its clip rectangle, with a slow
// zoom z0 -> z1 and a pan of its centre c0 -> c1 (fractions of the photo).
type ssPanel struct {
	photo  int
	clip   image.Rectangle
	z0, z1 float64
	c0, c1 [2]float64
}

type ssShot struct {
	panels  []ssPanel
	divider [3]uint8
	kind    ShotSetKind // how it begins (ignored for the first shot)
	trans   int         // frames of the incoming overlap, fade-in or whip
	hold    int         // frames of solid colour at the end of a fade-out or flash (the outgoing transition's)
	outFade int         // frames fading out at the end (the outgoing transition's)
	events  []ShotSetEvent
	evSeed  uint64
	// Output placement.
	start, length int // first output frame of local frame 0, frames drawn
	inOv, outOv   int // frames overlapping the previous and next shot
}

// ShotSet writes one shot-set video and its ground truth to outDir as
// name.mp4 and name.gt.json.
func ShotSet(ctx context.Context, cfg ShotSetConfig, outDir, name string) (*ShotSetResult, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	products, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	r := newRand(cfg.Seed ^ 0x5407)
	// A pool of photos per video keeps loading cheap.
	pool := make([]*image.RGBA, 0, 24)
	for _, i := range r.Perm(len(products))[:min(24, len(products))] {
		img, err := loadPhoto(products[i].Image)
		if err != nil {
			return nil, err
		}
		pool = append(pool, img)
	}
	if len(pool) < 4 {
		return nil, fmt.Errorf("gen: shot set needs at least 4 photos, catalog has %d", len(pool))
	}
	thumbs := make([][]float64, len(pool))
	for i, img := range pool {
		thumbs[i] = thumbnail(img)
	}
	shots := planShotSet(r, cfg, thumbs)
	res := &ShotSetResult{VideoPath: filepath.Join(outDir, name+".mp4"), TruthPath: filepath.Join(outDir, name+".gt.json")}
	res.Truth, res.Kinds = shotSetTruth(cfg, shots, name+".mp4")
	for _, sp := range shots {
		for _, ev := range sp.events {
			ev.Frame += sp.start
			res.Events = append(res.Events, ev)
		}
	}
	if err := res.Truth.Validate(); err != nil {
		return nil, fmt.Errorf("gen: %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := groundtruth.Encode(&buf, res.Truth); err != nil {
		return nil, fmt.Errorf("gen: %s: %w", name, err)
	}
	// The same seed gives the same video: one written before with the
	// same truth (which names the seed and generator version) is reused.
	if old, err := os.ReadFile(res.TruthPath); err == nil && bytes.Equal(old, buf.Bytes()) {
		if _, err := os.Stat(res.VideoPath); err == nil {
			return res, nil
		}
	}
	if err := renderShotSet(ctx, cfg, shots, pool, res.VideoPath, res.Truth.Frames); err != nil {
		return nil, err
	}
	if err := os.WriteFile(res.TruthPath, buf.Bytes(), 0o640); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	return res, nil
}

// ShotSetSeries writes n edited videos (seeds cfg.Seed, cfg.Seed+1, …) and
// stills pan/zoom-only videos of stillS seconds (seeds following them).
func ShotSetSeries(ctx context.Context, cfg ShotSetConfig, outDir string, n, stills int, stillS float64) ([]*ShotSetResult, error) {
	var out []*ShotSetResult
	for i := range n + stills {
		c := cfg
		c.Seed = cfg.Seed + uint64(i)
		name := fmt.Sprintf("shotset-%d", c.Seed)
		if i >= n {
			c.StillS = stillS
			name = fmt.Sprintf("shotset-still-%d", c.Seed)
		}
		r, err := ShotSet(ctx, c, outDir, name)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// thumbnail is a 4x6 grid of mean colours of a photo, to find photos of
// similar colour and layout.
func thumbnail(img *image.RGBA) []float64 {
	const tw, th = 4, 6
	out := make([]float64, tw*th*3)
	cnt := make([]float64, tw*th)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y += 4 {
		for x := 0; x < w; x += 4 {
			c := (y*th/h)*tw + x*tw/w
			o := y*img.Stride + 4*x
			for k := range 3 {
				out[3*c+k] += float64(img.Pix[o+k])
			}
			cnt[c]++
		}
	}
	for i := range out {
		out[i] /= cnt[i/3]
	}
	return out
}

// similar returns a photo other than p whose thumbnail is among the three
// closest to p's.
func similar(r *rand.Rand, thumbs [][]float64, p int) int {
	best := []int{}
	dist := func(q int) float64 {
		s := 0.0
		for i := range thumbs[p] {
			s += math.Abs(thumbs[p][i] - thumbs[q][i])
		}
		return s
	}
	for q := range thumbs {
		if q == p {
			continue
		}
		best = append(best, q)
		for i := len(best) - 1; i > 0 && dist(best[i]) < dist(best[i-1]); i-- {
			best[i], best[i-1] = best[i-1], best[i]
		}
		if len(best) > 3 {
			best = best[:3]
		}
	}
	return best[r.IntN(len(best))]
}

// kenBurns returns a slow zoom and pan: at most 12 % zoom and 8 % of the
// photo's pan over a shot (or 30 % and 20 % over a long still).
func kenBurns(r *rand.Rand, long bool) (z0, z1 float64, c0, c1 [2]float64) {
	dz, dc := 0.12, 0.08
	if long {
		dz, dc = 0.3, 0.2
	}
	z0 = 1.02 + 0.1*r.Float64()
	z1 = z0 + dz*(2*r.Float64()-1)
	z1 = math.Max(1.01, z1)
	c0 = [2]float64{0.4 + 0.2*r.Float64(), 0.35 + 0.3*r.Float64()}
	c1 = [2]float64{c0[0] + dc*(2*r.Float64()-1), c0[1] + dc*(2*r.Float64()-1)}
	return z0, z1, c0, c1
}

func fullPanel(r *rand.Rand, photo, fw, fh int, long bool) ssPanel {
	p := ssPanel{photo: photo, clip: image.Rect(0, 0, fw, fh)}
	p.z0, p.z1, p.c0, p.c1 = kenBurns(r, long)
	return p
}

// splitPanels divides the frame in two, side by side or stacked, with a
// 4-pixel divider.
func splitPanels(r *rand.Rand, a, b, fw, fh int) []ssPanel {
	var ra, rb image.Rectangle
	if r.IntN(2) == 0 {
		ra, rb = image.Rect(0, 0, fw/2-2, fh), image.Rect(fw/2+2, 0, fw, fh)
	} else {
		ra, rb = image.Rect(0, 0, fw, fh/2-2), image.Rect(0, fh/2+2, fw, fh)
	}
	pa, pb := ssPanel{photo: a, clip: ra}, ssPanel{photo: b, clip: rb}
	pa.z0, pa.z1, pa.c0, pa.c1 = kenBurns(r, false)
	pb.z0, pb.z1, pb.c0, pb.c1 = kenBurns(r, false)
	return []ssPanel{pa, pb}
}

func planShotSet(r *rand.Rand, cfg ShotSetConfig, thumbs [][]float64) []*ssShot {
	fw, fh, fps := cfg.Width, cfg.Height, cfg.FPS
	n := len(thumbs)
	if cfg.StillS > 0 {
		sp := &ssShot{panels: []ssPanel{fullPanel(r, r.IntN(n), fw, fh, true)}}
		sp.length = int(math.Round(cfg.StillS * float64(fps)))
		return []*ssShot{sp}
	}
	kinds := cfg.kinds()
	frames := func(lo, hi float64) int { return int(math.Round(uniform(r, lo, hi) * float64(fps) / 25)) }
	shots := make([]*ssShot, cfg.Shots)
	prev := -1
	for i := range shots {
		sp := &ssShot{evSeed: r.Uint64(), divider: [3]uint8{245, 245, 245}}
		if r.IntN(2) == 0 {
			sp.divider = [3]uint8{20, 20, 20}
		}
		shots[i] = sp
		photo := r.IntN(n)
		for photo == prev {
			photo = r.IntN(n)
		}
		if i > 0 {
			sp.kind = kinds[r.IntN(len(kinds))]
			last := shots[i-1]
			switch sp.kind.Name {
			case ShotSimilarCut, ShotDissolve:
				photo = similar(r, thumbs, last.panels[0].photo)
			case ShotZoomCut:
				if len(last.panels) == 1 {
					photo = last.panels[0].photo
				}
			}
			switch sp.kind.Name {
			case ShotDissolve:
				sp.trans = int(frames(6, 30))
			case ShotWipe:
				sp.trans = int(frames(6, 16))
			case ShotSlide:
				sp.trans = int(frames(6, 14))
			case ShotWhipPan:
				sp.trans = int(frames(4, 7))
			case ShotFadeBlack, ShotFadeWhite:
				sp.trans = int(frames(5, 15))
				last.outFade = int(frames(5, 15))
				last.hold = r.IntN(4)
			case ShotFlash:
				last.hold = 1 + r.IntN(3)
			}
		}
		split := i > 0 && (sp.kind.Name == ShotSplitCut && len(shots[i-1].panels) == 1 || r.IntN(6) == 0)
		if i > 0 && sp.kind.Name == ShotSplitCut && len(shots[i-1].panels) == 2 {
			split = false
		}
		switch {
		case split && sp.kind.Name != ShotZoomCut:
			other := r.IntN(n)
			for other == photo {
				other = r.IntN(n)
			}
			sp.panels = splitPanels(r, photo, other, fw, fh)
		case i > 0 && sp.kind.Name == ShotZoomCut:
			// The same framing, punched in 1.5-2x around a point of it.
			last := shots[i-1].panels[0]
			p := ssPanel{photo: photo, clip: last.clip}
			if len(shots[i-1].panels) > 1 {
				p = fullPanel(r, photo, fw, fh, false)
				p.photo = last.photo
			}
			k := 1.5 + 0.5*r.Float64()
			p.z0 = last.z1 * k
			p.z1 = p.z0 * (1 + 0.05*(2*r.Float64()-1))
			p.c0 = [2]float64{last.c1[0] + 0.1*(2*r.Float64()-1), last.c1[1] + 0.15*(2*r.Float64()-1)}
			p.c1 = p.c0
			sp.panels = []ssPanel{p}
		default:
			sp.panels = []ssPanel{fullPanel(r, photo, fw, fh, false)}
		}
		prev = sp.panels[0].photo
	}
	// Overlapping transitions share frames of both shots.
	for i := 1; i < len(shots); i++ {
		switch shots[i].kind.Name {
		case ShotDissolve, ShotWipe, ShotSlide:
			shots[i].inOv = shots[i].trans
			shots[i-1].outOv = shots[i].trans
		}
	}
	for i, sp := range shots {
		clear := int(math.Round(uniform(r, cfg.MinShotS, cfg.MaxShotS) * float64(fps)))
		sp.length = sp.inOv + clear + sp.outOv
		if i > 0 {
			sp.start = shots[i-1].start + shots[i-1].length - shots[i-1].outOv
		}
		// Events keep clear of both ends and of the effects there.
		lo := sp.inOv + 10
		if k := sp.kind.Name; k == ShotFadeBlack || k == ShotFadeWhite || k == ShotWhipPan {
			lo += sp.trans
		}
		hi := sp.length - sp.outOv - sp.outFade - sp.hold - 16
		if i+1 < len(shots) && shots[i+1].kind.Name == ShotWhipPan {
			hi -= shots[i+1].trans
		}
		if hi > lo && r.IntN(5) < 3 {
			ev := ShotSetEvent{Frame: lo + r.IntN(hi-lo)}
			switch r.IntN(4) {
			case 0:
				ev.Kind, ev.Frames = EventText, 6+r.IntN(5)
			case 1:
				ev.Kind, ev.Frames = EventLogo, 5+r.IntN(4)
			case 2:
				ev.Kind, ev.Frames = EventPiP, 8+r.IntN(6)
			default:
				ev.Kind, ev.Frames = EventFlash, 1+r.IntN(2)
			}
			sp.events = append(sp.events, ev)
		}
	}
	return shots
}

// shotSetTruth returns the ground truth of planned shots and the kind name
// of each boundary.
func shotSetTruth(cfg ShotSetConfig, shots []*ssShot, video string) (*groundtruth.Video, []string) {
	last := shots[len(shots)-1]
	frames := last.start + last.length
	v := &groundtruth.Video{
		Schema: groundtruth.Schema, Video: video, FPS: float64(cfg.FPS), Frames: frames,
		Width: cfg.Width, Height: cfg.Height, Seed: cfg.Seed, Generator: ShotSetVersion,
		Catalog: filepath.Base(filepath.Clean(cfg.CatalogDir)), Items: []groundtruth.Item{},
	}
	starts := make([]int, len(shots))
	spans := make([][]int, len(shots))
	var kinds []string
	for i, sp := range shots {
		if i == 0 {
			continue
		}
		prev := shots[i-1]
		switch sp.kind.Name {
		case ShotDissolve, ShotWipe, ShotSlide:
			// The new shot takes over once it covers half the frame.
			starts[i] = sp.start + sp.trans/2
			spans[i] = []int{sp.start, sp.start + sp.trans - 1}
		case ShotFadeBlack, ShotFadeWhite:
			starts[i] = sp.start
			spans[i] = []int{sp.start - prev.hold - prev.outFade, sp.start + sp.trans - 1}
		case ShotFlash:
			starts[i] = sp.start
			spans[i] = []int{sp.start - prev.hold, sp.start}
		default:
			starts[i] = sp.start
		}
		kinds = append(kinds, sp.kind.Name)
	}
	for i, sp := range shots {
		s := groundtruth.Shot{StartFrame: starts[i], EndFrame: frames - 1, TransitionIn: sp.kind.Truth, TransitionFrames: spans[i]}
		if i == 0 {
			s.TransitionIn = groundtruth.TransitionNone
		}
		if i+1 < len(shots) {
			s.EndFrame = starts[i+1] - 1
		}
		v.Shots = append(v.Shots, s)
	}
	return v, kinds
}

// renderShotSet draws every frame and pipes it to the encoder.
func renderShotSet(ctx context.Context, cfg ShotSetConfig, shots []*ssShot, pool []*image.RGBA, outPath string, frames int) error {
	fw, fh := cfg.Width, cfg.Height
	enc, err := startEncoder(ctx, cfg.FFmpeg, fw, fh, cfg.FPS, cfg.CRF, outPath)
	if err != nil {
		return err
	}
	rd := &ssRenderer{fw: fw, fh: fh, pool: pool, a: make([]byte, 3*fw*fh), b: make([]byte, 3*fw*fh), tmp: make([]byte, 3*fw*fh)}
	var werr error
	cur := 0
	for n := 0; n < frames && werr == nil; n++ {
		if err := ctx.Err(); err != nil {
			werr = err
			break
		}
		for cur+1 < len(shots) && shots[cur+1].start <= n && n >= shots[cur].start+shots[cur].length {
			cur++
		}
		f := rd.a
		rd.shot(f, shots, cur, n-shots[cur].start)
		if nx := cur + 1; nx < len(shots) && n >= shots[nx].start {
			// Inside an overlapping transition.
			sp := shots[nx]
			rd.shot(rd.b, shots, nx, n-sp.start)
			p := float64(n-sp.start+1) / float64(sp.trans+1)
			switch sp.kind.Name {
			case ShotDissolve:
				blend(f, rd.b, p)
			case ShotWipe:
				wipe(f, rd.b, fw, fh, p, sp.evSeed)
			case ShotSlide:
				slide(f, rd.b, fw, fh, p, sp.evSeed)
			}
		}
		werr = enc.write(f)
	}
	return enc.finish(werr)
}

type ssRenderer struct {
	fw, fh    int
	pool      []*image.RGBA
	a, b, tmp []byte
}

// shot draws local frame `local` of shot i with its events and the effects
// of the transitions at its ends.
func (rd *ssRenderer) shot(f []byte, shots []*ssShot, i, local int) {
	sp := shots[i]
	fw, fh := rd.fw, rd.fh
	if len(sp.panels) > 1 {
		fillRGB(f, fw, image.Rect(0, 0, fw, fh), sp.divider)
	}
	t := 0.0
	if sp.length > 1 {
		t = float64(local) / float64(sp.length-1)
	}
	for _, p := range sp.panels {
		img := rd.pool[p.photo]
		iw, ih := float64(img.Rect.Dx()), float64(img.Rect.Dy())
		cw, ch := float64(p.clip.Dx()), float64(p.clip.Dy())
		s := math.Max(cw/iw, ch/ih) * lerp(p.z0, p.z1, t)
		w, h := iw*s, ih*s
		cx, cy := lerp(p.c0[0], p.c1[0], t)*w, lerp(p.c0[1], p.c1[1], t)*h
		x0 := float64(p.clip.Min.X) + cw/2 - cx
		y0 := float64(p.clip.Min.Y) + ch/2 - cy
		// Keep the photo covering its clip.
		x0 = math.Min(float64(p.clip.Min.X), math.Max(float64(p.clip.Max.X)-w, x0))
		y0 = math.Min(float64(p.clip.Min.Y), math.Max(float64(p.clip.Max.Y)-h, y0))
		drawScaled(f, fw, img, [4]float64{x0, y0, x0 + w, y0 + h}, p.clip)
	}
	for _, ev := range sp.events {
		if local >= ev.Frame {
			rd.event(f, sp, ev, local-ev.Frame)
		}
	}
	// Transition effects at the start of the shot.
	if i > 0 {
		switch sp.kind.Name {
		case ShotFadeBlack, ShotFadeWhite:
			if local < sp.trans {
				toward(f, fadeColour(sp.kind.Name), 1-float64(local+1)/float64(sp.trans+1))
			}
		case ShotWhipPan:
			if local < sp.trans {
				k := 1 - float64(local)/float64(sp.trans)
				rd.whip(f, -k*k*float64(fw)*0.8, k)
			}
		}
	}
	// …and at its end, for the transition into the next shot.
	if i+1 < len(shots) {
		next := shots[i+1]
		left := sp.length - local // 1 on the last frame
		switch next.kind.Name {
		case ShotFadeBlack, ShotFadeWhite:
			c := fadeColour(next.kind.Name)
			if left <= sp.hold {
				toward(f, c, 1)
			} else if o := left - sp.hold; o <= sp.outFade {
				toward(f, c, 1-float64(o)/float64(sp.outFade+1))
			}
		case ShotFlash:
			if left <= sp.hold {
				// The first flash frame still shows a trace of the picture.
				a := 1.0
				if left == sp.hold && sp.hold > 1 {
					a = 0.85
				}
				toward(f, [3]uint8{255, 255, 255}, a)
			}
		case ShotWhipPan:
			if left <= next.trans {
				k := 1 - float64(left-1)/float64(next.trans)
				rd.whip(f, k*k*float64(fw)*0.8, k)
			}
		}
	}
}

func fadeColour(kind string) [3]uint8 {
	if kind == ShotFadeWhite {
		return [3]uint8{255, 255, 255}
	}
	return [3]uint8{0, 0, 0}
}

// toward moves every pixel a fraction a of the way to colour c.
func toward(f []byte, c [3]uint8, a float64) {
	k := int32(math.Round(a * 256))
	for i := 0; i+2 < len(f); i += 3 {
		for j := range 3 {
			v := int32(f[i+j])
			f[i+j] = uint8(v + ((int32(c[j])-v)*k)>>8)
		}
	}
}

// whip shifts the frame by dx pixels (mirrored at the edges) and smears it
// horizontally in proportion to the speed k (0..1), like a whip pan.
func (rd *ssRenderer) whip(f []byte, dx, k float64) {
	fw, fh := rd.fw, rd.fh
	rad := int(math.Round(k * float64(fw) * 0.12))
	sh := int(math.Round(dx))
	for y := range fh {
		row := f[3*y*fw : 3*(y+1)*fw]
		out := rd.tmp[3*y*fw : 3*(y+1)*fw]
		var acc [3]int
		at := func(x int) []byte {
			// The picture continues mirrored past its edges, as the
			// scene would beyond the frame.
			x = (x - sh) % (2 * fw)
			if x < 0 {
				x += 2 * fw
			}
			if x >= fw {
				x = 2*fw - 1 - x
			}
			return row[3*x : 3*x+3]
		}
		for x := -rad; x <= rad; x++ {
			p := at(x)
			for c := range 3 {
				acc[c] += int(p[c])
			}
		}
		n := 2*rad + 1
		for x := range fw {
			for c := range 3 {
				out[3*x+c] = uint8(acc[c] / n)
			}
			p, q := at(x+rad+1), at(x-rad)
			for c := range 3 {
				acc[c] += int(p[c]) - int(q[c])
			}
		}
	}
	copy(f, rd.tmp)
}

// wipe replaces the part of a that a soft straight edge has swept (a
// fraction p of the way across, in a direction chosen by seed) with b.
func wipe(a, b []byte, fw, fh int, p float64, seed uint64) {
	dir := seed % 4
	const soft = 6.0
	for y := range fh {
		for x := range fw {
			var pos, span float64
			switch dir {
			case 0:
				pos, span = float64(x), float64(fw)
			case 1:
				pos, span = float64(fw-1-x), float64(fw)
			case 2:
				pos, span = float64(y), float64(fh)
			default:
				pos, span = float64(fh-1-y), float64(fh)
			}
			edge := p * (span + 2*soft)
			wgt := math.Max(0, math.Min(1, (edge-pos)/(2*soft)))
			if wgt == 0 {
				continue
			}
			o := 3 * (y*fw + x)
			for c := range 3 {
				a[o+c] = uint8(math.Round(float64(a[o+c])*(1-wgt) + float64(b[o+c])*wgt))
			}
		}
	}
}

// slide draws b over a, shifted in from a side (chosen by seed) and a
// fraction p of the way in, easing out.
func slide(a, b []byte, fw, fh int, p float64, seed uint64) {
	e := 1 - (1-p)*(1-p)
	switch (seed >> 2) % 3 {
	case 0: // from the right
		off := int(math.Round((1 - e) * float64(fw)))
		for y := range fh {
			copy(a[3*(y*fw+off):3*(y+1)*fw], b[3*y*fw:3*(y*fw+fw-off)])
		}
	case 1: // from the left
		off := int(math.Round((1 - e) * float64(fw)))
		for y := range fh {
			copy(a[3*y*fw:3*(y*fw+fw-off)], b[3*(y*fw+off):3*(y+1)*fw])
		}
	default: // from the bottom
		off := int(math.Round((1 - e) * float64(fh)))
		copy(a[3*off*fw:], b[:3*(fh-off)*fw])
	}
}

// event draws an in-shot event d frames after it began.
func (rd *ssRenderer) event(f []byte, sp *ssShot, ev ShotSetEvent, d int) {
	fw, fh := rd.fw, rd.fh
	p := math.Min(1, float64(d+1)/float64(ev.Frames))
	r := rand.New(rand.NewPCG(sp.evSeed, uint64(ev.Frame)))
	switch ev.Kind {
	case EventFlash:
		if d < ev.Frames {
			toward(f, [3]uint8{255, 255, 255}, 0.55+0.35*r.Float64())
		}
	case EventText:
		// A caption banner with glyph-like strokes, sliding in from the
		// left or fading in.
		dark := r.IntN(2) == 0
		bg, ink := [3]uint8{250, 250, 250}, [3]uint8{25, 25, 25}
		if dark {
			bg, ink = ink, bg
		}
		bw, bh := fw*8/10, fh/12
		x0, y0 := fw/10, fh*3/4-r.IntN(fh/3)
		slideIn := r.IntN(2) == 0
		alpha := 1.0
		if slideIn {
			x0 -= int(math.Round((1 - p*(2-p)) * float64(x0+bw)))
		} else {
			alpha = p
		}
		banner := image.Rect(x0, y0, x0+bw, y0+bh).Intersect(image.Rect(0, 0, fw, fh))
		blendRect(f, fw, banner, bg, alpha)
		gx := x0 + bh/3
		for gx < x0+bw-bh/3 {
			gw := 2 + r.IntN(bh/3)
			g := image.Rect(gx, y0+bh/4, gx+gw, y0+bh*3/4)
			if r.IntN(3) == 0 {
				g.Min.Y = y0 + bh/2
			}
			blendRect(f, fw, g.Intersect(banner), ink, alpha)
			gx += gw + 2 + r.IntN(4)
			if r.IntN(6) == 0 {
				gx += bh / 2
			}
		}
	case EventLogo:
		// Concentric squares growing in at a top corner.
		size := int(math.Round(float64(fw) * 0.18 * (0.2 + 0.8*p)))
		cx := fw - fw/8
		if r.IntN(2) == 0 {
			cx = fw / 8
		}
		cy := fh / 10
		cols := [][3]uint8{{200, 30, 40}, {250, 250, 250}, {20, 20, 20}}
		for k := range 3 {
			s := size * (3 - k) / 6
			blendRect(f, fw, image.Rect(cx-s, cy-s, cx+s, cy+s).Intersect(image.Rect(0, 0, fw, fh)), cols[(k+r.IntN(3))%3], 1)
		}
	case EventPiP:
		// Another photo, framed in white, sliding in from the right.
		img := rd.pool[(sp.panels[0].photo+1+r.IntN(len(rd.pool)-1))%len(rd.pool)]
		w := float64(fw) * 0.38
		h := w * float64(img.Rect.Dy()) / float64(img.Rect.Dx())
		xr := float64(fw) - w - float64(fw)*0.05
		e := p * (2 - p)
		x0 := float64(fw) + 4 + (xr-float64(fw)-4)*e
		y0 := float64(fh) * (0.05 + 0.4*r.Float64())
		box := pixRect(x0, y0, x0+w, y0+h)
		fillRGB(f, fw, box.Inset(-4).Intersect(image.Rect(0, 0, fw, fh)), [3]uint8{250, 250, 250})
		drawScaled(f, fw, img, [4]float64{x0, y0, x0 + w, y0 + h}, box.Intersect(image.Rect(0, 0, fw, fh)))
	}
}

// blendRect paints colour c over r with opacity a.
func blendRect(f []byte, fw int, r image.Rectangle, c [3]uint8, a float64) {
	k := int32(math.Round(a * 256))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := 3 * (y*fw + x)
			for j := range 3 {
				v := int32(f[o+j])
				f[o+j] = uint8(v + ((int32(c[j])-v)*k)>>8)
			}
		}
	}
}
