package gen

// Lookbook reels: vertical reels like a fashion brand's, made of on-model
// catalog photos (full-frame with a slow Ken Burns move, split screen,
// picture-in-picture, or over background footage), colour cards and
// footage, joined by cuts, fades through black and dissolves. As for
// Generate, every choice comes from the seed and is made before
// rendering, and the ground truth boxes are computed from the same
// geometry the frames are drawn with.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// LookbookVersion names the lookbook generator in ground truth files; bump
// it when the same seed would produce a different reel.
const LookbookVersion = "vitrine-eval-lookbook/1"

// LookbookConfig controls a generated lookbook reel. Zero fields take the
// defaults noted.
type LookbookConfig struct {
	// CatalogDir holds products.csv and on-model product photos.
	CatalogDir string
	// Backgrounds are the footage videos (see SampleBackgrounds).
	Backgrounds  []Background
	Seed         uint64
	Width        int     // default 540
	Height       int     // default 960
	FPS          int     // default 25
	MinDurationS float64 // default 25
	MaxDurationS float64 // default 40
	MinShotS     float64 // default 1.5
	MaxShotS     float64 // default 4
	CRF          int     // H.264 constant rate factor, default 26
	FFmpeg       string  // default "ffmpeg"
	FFprobe      string  // default "ffprobe"
	Logger       *slog.Logger
}

func (c *LookbookConfig) defaults() error {
	c.Width = cmp.Or(c.Width, 540)
	c.Height = cmp.Or(c.Height, 960)
	c.FPS = cmp.Or(c.FPS, 25)
	c.MinDurationS = cmp.Or(c.MinDurationS, 25)
	c.MaxDurationS = cmp.Or(c.MaxDurationS, 40)
	c.MinShotS = cmp.Or(c.MinShotS, 1.5)
	c.MaxShotS = cmp.Or(c.MaxShotS, 4)
	c.CRF = cmp.Or(c.CRF, 26)
	defaultTools(&c.FFmpeg, &c.FFprobe, &c.Logger)
	if err := checkFrame(c.Width, c.Height, c.FPS, 5); err != nil {
		return err
	}
	switch {
	case c.MinShotS < 1 || c.MaxShotS < c.MinShotS:
		return fmt.Errorf("gen: shot length %v..%v s invalid (minimum 1 s)", c.MinShotS, c.MaxShotS)
	case c.MinDurationS < c.MinShotS || c.MaxDurationS < c.MinDurationS || c.MaxDurationS > 600:
		return fmt.Errorf("gen: duration %v..%v s invalid (at least one shot, at most 600 s)", c.MinDurationS, c.MaxDurationS)
	case c.CRF < 0 || c.CRF > 51:
		return fmt.Errorf("gen: crf %d outside 0..51", c.CRF)
	case c.CatalogDir == "":
		return errors.New("gen: no catalog directory")
	case len(c.Backgrounds) == 0:
		return errors.New("gen: no background videos")
	}
	return nil
}

// Shot layouts of a lookbook reel.
const (
	layoutFull    = "full"    // one photo covering the frame, Ken Burns move
	layoutSplit   = "split"   // two photos side by side or stacked
	layoutPiP     = "pip"     // one photo full-frame, a second in a sliding inset
	layoutOverlay = "overlay" // a framed photo over background footage
	layoutFootage = "footage" // background footage only, no product
	layoutCard    = "card"    // a plain colour card, no product
)

// photoLayout reports whether a layout shows on-model photos across the
// whole frame (dissolves join only such shots).
func photoLayout(l string) bool {
	return l == layoutFull || l == layoutSplit || l == layoutPiP
}

type lbShot struct {
	timing
	layout string
	bg     Background // footage; Path is empty when the shot has none
	ss     float64    // seek position in the footage, seconds
	fill   [3]uint8   // colour card, split divider: what shows where no photo is drawn
	grade  look
	noise  float64 // noise standard deviation, in levels of 255
	panels []*lbPanel
}

// lbPanel is one photo of a shot. A cover panel fills its clip rectangle
// (scaled to cover, zooming and panning); a framed panel shows the whole
// photo in a thin border at a place in the frame, possibly sliding in.
type lbPanel struct {
	product Product
	cover   bool
	// Cover panels.
	clip       image.Rectangle
	z0, z1     float64    // zoom over the covering scale
	pan0, pan1 [2]float64 // position of the view within the overflow, 0..1
	// Framed panels.
	w0, w1       float64    // width, fraction of the frame width
	pos0, pos1   [2]float64 // position within the free space, 0..1
	margin       [2]float64 // kept free at the frame edges, fractions of width and height
	slideAt      int        // local frame it appears at
	slide        int        // frames it takes to slide in from the nearest side (0: in place)
	border       int        // pixels
	borderColour [3]uint8

	// photo, when set, is drawn instead of the product's catalog photo
	// (the re-shot set sets it and info before the truth is computed);
	// strengths then go into the panel's truth item.
	photo     *image.RGBA
	strengths map[string]float64

	// Set once the photo is known.
	info     photoInfo
	drop     bool // too briefly or too small on screen: neither drawn nor in the truth
	boxes    []groundtruth.Box
	occluded float64
}

// reelVariant is a kind of reel made from a lookbook plan: the lookbook
// itself, or the re-shot set, which shows altered photos in the same
// layouts.
type reelVariant struct {
	prefix  string // name of a set's reels: <prefix>-<seed>
	version string // generator named in the ground truth
	mix     layoutMix
	// prepare, when set, runs on the planned shots with the plan's random
	// stream, before the truth boxes are computed; it may give panels
	// photos of their own.
	prepare func(r *rand.Rand, shots []*lbShot) error
	// finish, when set, runs once the truth boxes are known.
	finish func(cfg LookbookConfig, shots []*lbShot)
}

var lookbookVariant = reelVariant{prefix: "lookbook", version: LookbookVersion, mix: lookbookMix}

// layoutMix is how often a shot takes each layout: full, split, pip,
// overlay, footage and card, summing to 1.
type layoutMix [6]float64

var (
	layoutOrder = [6]string{layoutFull, layoutSplit, layoutPiP, layoutOverlay, layoutFootage, layoutCard}
	lookbookMix = layoutMix{0.25, 0.25, 0.25, 0.125, 0.0625, 0.0625}
)

// pick returns the layout x (uniform in 0..1) falls on.
func (m layoutMix) pick(x float64) string {
	c := 0.0
	for i, w := range m[:len(m)-1] {
		if c += w; x < c {
			return layoutOrder[i]
		}
	}
	return layoutOrder[len(m)-1]
}

// Lookbook writes outDir/name.mp4 and outDir/name.gt.json: a lookbook reel
// of on-model photos and its ground truth.
func Lookbook(ctx context.Context, cfg LookbookConfig, outDir, name string) (*Result, error) {
	return writeReel(ctx, cfg, outDir, name, lookbookVariant)
}

// writeReel plans, renders and writes one reel of a variant.
func writeReel(ctx context.Context, cfg LookbookConfig, outDir, name string, variant reelVariant) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	products, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		return nil, err
	}
	if len(products) < 2 {
		return nil, fmt.Errorf("gen: lookbook needs at least 2 products, %s has %d", cfg.CatalogDir, len(products))
	}
	bgs, err := resolveBackgrounds(ctx, cfg.FFprobe, cfg.Backgrounds, cfg.MinShotS)
	if err != nil {
		return nil, err
	}
	r := newRand(cfg.Seed)
	shots := planLookbook(r, cfg, products, bgs, variant.mix)
	if variant.prepare != nil {
		if err := variant.prepare(r, shots); err != nil {
			return nil, err
		}
	}
	if err := resolvePanels(cfg, shots); err != nil {
		return nil, err
	}
	if variant.finish != nil {
		variant.finish(cfg, shots)
	}
	if err := os.MkdirAll(outDir, 0o750); err != nil {
		return nil, fmt.Errorf("gen: create output directory: %w", err)
	}
	res := &Result{
		VideoPath: filepath.Join(outDir, name+".mp4"),
		TruthPath: filepath.Join(outDir, name+".gt.json"),
	}
	// A truth file vouches for its video: drop a stale one first, and write
	// both under temporary names.
	if err := os.Remove(res.TruthPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("gen: remove old ground truth: %w", err)
	}
	cfg.Logger.InfoContext(ctx, "gen: rendering "+variant.prefix, "video", res.VideoPath, "shots", len(shots), "seed", cfg.Seed)
	tmpVideo := filepath.Join(outDir, name+".tmp.mp4")
	hash, err := renderLookbook(ctx, cfg, shots, tmpVideo)
	if err != nil {
		os.Remove(tmpVideo)
		return nil, err
	}
	res.FramesSHA256 = hash
	res.Truth = lookbookTruth(cfg, shots, name+".mp4", variant.version)
	if err := res.Truth.Validate(); err != nil {
		os.Remove(tmpVideo)
		return nil, fmt.Errorf("gen: generated ground truth invalid: %w", err)
	}
	var buf bytes.Buffer
	if err := groundtruth.Encode(&buf, res.Truth); err != nil {
		return nil, err
	}
	if err := os.Rename(tmpVideo, res.VideoPath); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	tmpTruth := res.TruthPath + ".tmp"
	if err := os.WriteFile(tmpTruth, buf.Bytes(), 0o640); err != nil {
		return nil, fmt.Errorf("gen: write ground truth: %w", err)
	}
	if err := os.Rename(tmpTruth, res.TruthPath); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	return res, nil
}

// LookbookSet writes n reels named lookbook-<seed> with seeds cfg.Seed,
// cfg.Seed+1, …. A reel whose ground truth is already in outDir, written
// by this generator version for the same seed, catalog, frame size and
// rate, and whose video exists, is kept as it is (its Result has no
// FramesSHA256).
func LookbookSet(ctx context.Context, cfg LookbookConfig, outDir string, n int) ([]*Result, error) {
	return reelSet(ctx, cfg, outDir, n, lookbookVariant)
}

// reelSet writes n reels of a variant as LookbookSet does.
func reelSet(ctx context.Context, cfg LookbookConfig, outDir string, n int, variant reelVariant) ([]*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	var out []*Result
	for i := range n {
		c := cfg
		c.Seed = cfg.Seed + uint64(i)
		name := variant.prefix + "-" + strconv.FormatUint(c.Seed, 10)
		if r := reuseReel(c, outDir, name, variant.version); r != nil {
			c.Logger.InfoContext(ctx, "gen: keeping "+variant.prefix, "video", r.VideoPath, "seed", c.Seed)
			out = append(out, r)
			continue
		}
		r, err := writeReel(ctx, c, outDir, name, variant)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func reuseReel(cfg LookbookConfig, outDir, name, version string) *Result {
	res := &Result{
		VideoPath: filepath.Join(outDir, name+".mp4"),
		TruthPath: filepath.Join(outDir, name+".gt.json"),
	}
	v, err := groundtruth.Load(res.TruthPath)
	if err != nil {
		return nil
	}
	if v.Seed != cfg.Seed || v.Generator != version || v.Catalog != filepath.Base(filepath.Clean(cfg.CatalogDir)) ||
		v.Width != cfg.Width || v.Height != cfg.Height || v.FPS != float64(cfg.FPS) || v.Video != name+".mp4" {
		return nil
	}
	if st, err := os.Stat(res.VideoPath); err != nil || st.Size() == 0 {
		return nil
	}
	// A catalog of the same name may hold other products now (the bench
	// holds some out): a reel showing one it lacks is made again.
	products, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		return nil
	}
	ids := make(map[string]bool, len(products))
	for _, p := range products {
		ids[p.ID] = true
	}
	for _, it := range v.Items {
		if !ids[it.ProductID] {
			return nil
		}
	}
	res.Truth = v
	return res
}

// Palettes: muted colour cards, and the white, black or cream of split
// dividers and photo borders.
var (
	cardColours = [][3]uint8{
		{242, 236, 226}, {222, 206, 184}, {183, 194, 168}, {228, 196, 190},
		{166, 150, 136}, {44, 44, 46}, {14, 14, 14}, {38, 46, 66},
	}
	lineColours = [][3]uint8{{250, 250, 248}, {10, 10, 10}, {240, 232, 220}}
)

// planLookbook makes every random choice of a reel: shots and their
// lengths, transitions, layouts, geometry, grading and products.
func planLookbook(r *rand.Rand, cfg LookbookConfig, products []Product, bgs []Background, mix layoutMix) []*lbShot {
	fps := float64(cfg.FPS)
	minF := int(math.Ceil(cfg.MinShotS * fps))
	maxF := max(minF, int(math.Floor(cfg.MaxShotS*fps)))
	// Transitions take at most a third of the shortest shot.
	capT := max(2, minF/3)
	target := int(math.Round(uniform(r, cfg.MinDurationS, cfg.MaxDurationS) * fps))

	// Shots, layouts and transitions until the target length is reached.
	var shots []*lbShot
	total := 0
	for total < target {
		sp := &lbShot{layout: mix.pick(r.Float64())}
		sp.frames = minF + r.IntN(maxF-minF+1)
		if len(shots) == 0 {
			sp.transition = groundtruth.TransitionNone
		} else {
			prev := shots[len(shots)-1]
			x := r.Float64()
			switch {
			case photoLayout(prev.layout) && photoLayout(sp.layout):
				switch {
				case x < 0.45:
					sp.transition = groundtruth.TransitionCut
				case x < 0.65:
					sp.transition = groundtruth.TransitionFade
				default:
					sp.transition = groundtruth.TransitionDissolve
				}
			case x < 0.55:
				sp.transition = groundtruth.TransitionCut
			default:
				sp.transition = groundtruth.TransitionFade
			}
			switch sp.transition {
			case groundtruth.TransitionFade:
				f := min(capT, max(2, int(math.Round(uniform(r, 0.16, 0.4)*fps))))
				prev.fadeOut, sp.fadeIn = f, f
			case groundtruth.TransitionDissolve:
				d := min(capT, max(3, int(math.Round(uniform(r, 0.24, 0.48)*fps))))
				prev.dissolveOut, sp.dissolveIn = d, d
			}
		}
		shots = append(shots, sp)
		total += sp.frames - sp.dissolveIn
	}
	// Trim the overshoot from the shots in proportion to how far each is
	// above the shortest length.
	if excess := total - target; excess > 0 {
		slack := 0
		for _, sp := range shots {
			slack += sp.frames - minF
		}
		if slack > 0 {
			cut := 0
			for _, sp := range shots {
				c := min(sp.frames-minF, excess*(sp.frames-minF)/slack)
				sp.frames -= c
				cut += c
			}
			for i := len(shots) - 1; i >= 0 && cut < excess; i-- {
				c := min(shots[i].frames-minF, excess-cut)
				shots[i].frames -= c
				cut += c
			}
		}
	}
	ts := make([]*timing, len(shots))
	for i, sp := range shots {
		ts[i] = &sp.timing
	}
	placeShots(ts)

	// Footage windows long enough for a shot, as (background, window).
	type window struct {
		bg int
		w  [2]float64
	}
	var windows []window
	for i, b := range bgs {
		for _, w := range b.Windows {
			windows = append(windows, window{i, w})
		}
	}
	lastBg := -1
	pickFootage := func(sp *lbShot) {
		lenS := float64(sp.frames)/fps + 0.1
		var fit, fresh []window
		for _, w := range windows {
			if w.w[1]-w.w[0] >= lenS {
				fit = append(fit, w)
				if w.bg != lastBg {
					fresh = append(fresh, w)
				}
			}
		}
		if len(fresh) > 0 {
			fit = fresh
		}
		if len(fit) == 0 {
			return // no footage: the shot shows its colour card instead
		}
		w := fit[r.IntN(len(fit))]
		lastBg = w.bg
		sp.bg = bgs[w.bg]
		sp.ss = math.Round(uniform(r, w.w[0], w.w[1]-lenS)*1000) / 1000
	}
	pick := func(cs [][3]uint8) [3]uint8 { return cs[r.IntN(len(cs))] }
	fw, fh := cfg.Width, cfg.Height
	thin := max(1, int(math.Round(float64(fw)/180)))
	kenBurns := func(clip image.Rectangle, dzLo, dzHi float64, panX, panY [2]float64) *lbPanel {
		p := &lbPanel{cover: true, clip: clip}
		dz := uniform(r, dzLo, dzHi)
		if r.Float64() < 0.5 {
			p.z0, p.z1 = 1, 1+dz
		} else {
			p.z0, p.z1 = 1+dz, 1
		}
		p.pan0 = [2]float64{uniform(r, panX[0], panX[1]), uniform(r, panY[0], panY[1])}
		p.pan1 = [2]float64{
			math.Max(0, math.Min(1, p.pan0[0]+uniform(r, -0.4, 0.4))),
			math.Max(0, math.Min(1, p.pan0[1]+uniform(r, -0.4, 0.4))),
		}
		return p
	}
	slideFrames := func() int { return max(2, int(math.Round(uniform(r, 0.4, 0.6)*fps))) }

	for _, sp := range shots {
		sp.fill = pick(cardColours)
		full := image.Rect(0, 0, fw, fh)
		switch sp.layout {
		case layoutFull:
			sp.panels = []*lbPanel{kenBurns(full, 0.02, 0.08, [2]float64{0.2, 0.8}, [2]float64{0.1, 0.9})}
		case layoutSplit:
			sp.fill = pick(lineColours)
			gap := 2 * thin
			var a, b image.Rectangle
			if r.Float64() < 0.5 {
				a = image.Rect(0, 0, fw/2-gap/2, fh)
				b = image.Rect(fw/2+gap-gap/2, 0, fw, fh)
			} else {
				a = image.Rect(0, 0, fw, fh/2-gap/2)
				b = image.Rect(0, fh/2+gap-gap/2, fw, fh)
			}
			sp.panels = []*lbPanel{
				kenBurns(a, 0, 0.04, [2]float64{0.35, 0.65}, [2]float64{0.1, 0.6}),
				kenBurns(b, 0, 0.04, [2]float64{0.35, 0.65}, [2]float64{0.1, 0.6}),
			}
		case layoutPiP:
			main := kenBurns(full, 0.02, 0.08, [2]float64{0.2, 0.8}, [2]float64{0.1, 0.9})
			w := uniform(r, 1.0/3, 2.0/5)
			corner := [2]float64{float64(r.IntN(2)), float64(r.IntN(2))}
			inset := &lbPanel{
				w0: w, w1: w, pos0: corner, pos1: corner, margin: [2]float64{0.04, 0.07},
				slideAt: r.IntN(sp.frames*3/10 + 1), slide: slideFrames(),
				border: thin, borderColour: pick(lineColours),
			}
			sp.panels = []*lbPanel{main, inset}
		case layoutOverlay:
			pickFootage(sp)
			w := uniform(r, 0.25, 0.4)
			p := &lbPanel{
				w0: w, w1: w * (1 + uniform(r, 0, 0.05)), margin: [2]float64{0.03, 0.03},
				border: thin, borderColour: pick(lineColours),
			}
			p.pos0 = [2]float64{uniform(r, 0.1, 0.9), uniform(r, 0.15, 0.85)}
			p.pos1 = [2]float64{
				math.Max(0, math.Min(1, p.pos0[0]+uniform(r, -0.15, 0.15))),
				math.Max(0, math.Min(1, p.pos0[1]+uniform(r, -0.15, 0.15))),
			}
			if r.Float64() < 0.5 {
				p.slideAt, p.slide = r.IntN(sp.frames/5+1), slideFrames()
			}
			sp.panels = []*lbPanel{p}
		case layoutFootage:
			pickFootage(sp)
		}
		t := uniform(r, -0.06, 0.06) // warm (+) or cool (-) tint
		sp.grade = look{
			Brightness: uniform(r, -0.04, 0.04),
			Contrast:   uniform(r, 0.9, 1.15),
			Saturation: uniform(r, 0.8, 1.2),
			Gain:       [3]float64{1 + t, 1 + t/4, 1 - t},
		}
		sp.noise = uniform(r, 1, 3)
	}
	assignProducts(r, shots, products)
	return shots
}

// assignProducts gives each panel a product: 12-16 distinct ones, fewer
// in short reels; the other slots, preferably after the first two shots,
// repeat a product shown in an earlier shot other than the one just before.
func assignProducts(r *rand.Rand, shots []*lbShot, products []Product) {
	type slot struct{ shot, panel int }
	var slots []slot
	for i, sp := range shots {
		for k := range sp.panels {
			slots = append(slots, slot{i, k})
		}
	}
	// About 14 distinct products (12-16), fewer in short reels, where one
	// slot in eight or so is still a repeat.
	distinct := 12 + r.IntN(5)
	if len(slots) >= 4 {
		distinct = min(distinct, len(slots)-max(1, len(slots)/8))
	}
	distinct = min(distinct, len(slots), len(products))
	isRepeat := make([]bool, len(slots))
	need := len(slots) - distinct
	var cands []int
	for j, s := range slots {
		if s.shot >= 2 {
			cands = append(cands, j)
		}
	}
	r.Shuffle(len(cands), func(a, b int) { cands[a], cands[b] = cands[b], cands[a] })
	for _, j := range cands {
		if need == 0 {
			break
		}
		isRepeat[j] = true
		need--
	}
	for j := len(slots) - 1; j >= 0 && need > 0; j-- {
		if !isRepeat[j] {
			isRepeat[j] = true
			need--
		}
	}
	perm := r.Perm(len(products))
	next := 0
	var shown []int // product indices in order of first appearance
	seen := map[int]bool{}
	inShot := func(shot, pi int) bool {
		for _, p := range shots[shot].panels {
			if p.product.ID == products[pi].ID && p.product.Image == products[pi].Image {
				return true
			}
		}
		return false
	}
	for j, s := range slots {
		var pi int
		if !isRepeat[j] && next < distinct {
			pi = perm[next]
			next++
		} else {
			var pool []int
			for _, q := range shown {
				if !inShot(s.shot, q) && (s.shot == 0 || !inShot(s.shot-1, q)) {
					pool = append(pool, q)
				}
			}
			if len(pool) == 0 {
				for q := range products {
					if !inShot(s.shot, q) {
						pool = append(pool, q)
					}
				}
			}
			pi = pool[r.IntN(len(pool))]
		}
		if !seen[pi] {
			seen[pi] = true
			shown = append(shown, pi)
		}
		shots[s.shot].panels[s.panel].product = products[pi]
	}
}

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

// rect returns where the panel's whole photo lies in the frame at local
// frame `local` (x0, y0, x1, y1 in pixels), and false before it appears.
func (p *lbPanel) rect(local, frames, fw, fh int) ([4]float64, bool) {
	t := 0.0
	if frames > 1 {
		t = float64(local) / float64(frames-1)
	}
	aspect := float64(p.info.W) / float64(p.info.H)
	if p.cover {
		pw, ph := float64(p.clip.Dx()), float64(p.clip.Dy())
		w := math.Max(pw, ph*aspect) * lerp(p.z0, p.z1, t)
		h := w / aspect
		x0 := float64(p.clip.Min.X) - lerp(p.pan0[0], p.pan1[0], t)*(w-pw)
		y0 := float64(p.clip.Min.Y) - lerp(p.pan0[1], p.pan1[1], t)*(h-ph)
		return [4]float64{x0, y0, x0 + w, y0 + h}, true
	}
	if local < p.slideAt {
		return [4]float64{}, false
	}
	w := lerp(p.w0, p.w1, t) * float64(fw)
	h := w / aspect
	b := float64(p.border)
	mx, my := p.margin[0]*float64(fw), p.margin[1]*float64(fh)
	x0 := mx + b + lerp(p.pos0[0], p.pos1[0], t)*(float64(fw)-2*mx-w-2*b)
	y0 := my + b + lerp(p.pos0[1], p.pos1[1], t)*(float64(fh)-2*my-h-2*b)
	if p.slide > 0 && local < p.slideAt+p.slide {
		s := float64(local-p.slideAt+1) / float64(p.slide)
		s = s * s * (3 - 2*s)
		// Enter from the nearer side, starting just outside the frame.
		start := -w - b
		if x0+w/2 > float64(fw)/2 {
			start = float64(fw) + b
		}
		x0 = start + (x0-start)*s
	}
	return [4]float64{x0, y0, x0 + w, y0 + h}, true
}

// pixRect returns the pixels whose centres lie in [x0, x1) x [y0, y1).
func pixRect(x0, y0, x1, y1 float64) image.Rectangle {
	c := func(v float64) int { return int(math.Ceil(v - 0.5)) }
	return image.Rect(c(x0), c(y0), c(x1), c(y1)).Canon()
}

// region returns the pixels the panel's photo is drawn on (given its rect)
// and, for framed panels, those its border covers.
func (p *lbPanel) region(r [4]float64, fw, fh int) (photo, border image.Rectangle) {
	frame := image.Rect(0, 0, fw, fh)
	if p.cover {
		return p.clip.Intersect(frame), image.Rectangle{}
	}
	pr := pixRect(r[0], r[1], r[2], r[3])
	return pr.Intersect(frame), pr.Inset(-p.border).Intersect(frame)
}

// fgRect returns the pixels of the photo's foreground box that show, given
// its rect.
func (p *lbPanel) fgRect(r [4]float64, fw, fh int) image.Rectangle {
	w, h := r[2]-r[0], r[3]-r[1]
	fg := p.info.FG
	box := pixRect(r[0]+fg.X0*w, r[1]+fg.Y0*h, r[0]+fg.X1*w, r[1]+fg.Y1*h)
	photo, _ := p.region(r, fw, fh)
	return box.Intersect(photo)
}

// resolvePanels looks up each panel's photo and computes the ground truth
// boxes, dropping panels that would be on screen under half a second or
// whose largest visible box is under 2 % of the frame.
func resolvePanels(cfg LookbookConfig, shots []*lbShot) error {
	fw, fh := cfg.Width, cfg.Height
	minFrames := int(math.Ceil(0.5 * float64(cfg.FPS)))
	minArea := 0.02 * float64(fw*fh)
	for _, sp := range shots {
		for _, p := range sp.panels {
			if p.photo == nil {
				info, err := photoInfoOf(p.product.Image)
				if err != nil {
					return err
				}
				p.info = info
			}
			best := 0
			for local := range sp.frames {
				r, ok := p.rect(local, sp.frames, fw, fh)
				if !ok {
					continue
				}
				box := p.fgRect(r, fw, fh)
				if box.Empty() {
					continue
				}
				best = max(best, box.Dx()*box.Dy())
				p.boxes = append(p.boxes, groundtruth.Box{
					T: round6(float64(sp.outStart+local) / float64(cfg.FPS)),
					X: round6(float64(box.Min.X) / float64(fw)), Y: round6(float64(box.Min.Y) / float64(fh)),
					W: round6(float64(box.Dx()) / float64(fw)), H: round6(float64(box.Dy()) / float64(fh)),
				})
			}
			if len(p.boxes) < minFrames || float64(best) < minArea {
				p.drop, p.boxes = true, nil
			}
		}
		// Picture-in-picture: the inset and its border hide part of the
		// full-frame photo.
		if sp.layout == layoutPiP && !sp.panels[0].drop && !sp.panels[1].drop {
			main, inset := sp.panels[0], sp.panels[1]
			for local := range sp.frames {
				ri, ok := inset.rect(local, sp.frames, fw, fh)
				if !ok {
					continue
				}
				rm, _ := main.rect(local, sp.frames, fw, fh)
				box := main.fgRect(rm, fw, fh)
				_, cover := inset.region(ri, fw, fh)
				if in := box.Intersect(cover); !in.Empty() {
					main.occluded = math.Max(main.occluded, float64(in.Dx()*in.Dy())/float64(box.Dx()*box.Dy()))
				}
			}
		}
	}
	return nil
}

func lookbookTruth(cfg LookbookConfig, shots []*lbShot, video, version string) *groundtruth.Video {
	ts := make([]*timing, len(shots))
	for i, sp := range shots {
		ts[i] = &sp.timing
	}
	gtShots, frames := truthShots(ts)
	v := &groundtruth.Video{
		Schema: groundtruth.Schema, Video: video, FPS: float64(cfg.FPS),
		Frames: frames, Width: cfg.Width, Height: cfg.Height,
		Seed: cfg.Seed, Generator: version, Catalog: filepath.Base(filepath.Clean(cfg.CatalogDir)),
		Shots: gtShots, Items: []groundtruth.Item{},
	}
	for i, sp := range shots {
		for _, p := range sp.panels {
			if p.drop || len(p.boxes) == 0 {
				continue
			}
			v.Items = append(v.Items, groundtruth.Item{
				ProductID: p.product.ID,
				StartS:    p.boxes[0].T,
				EndS:      round6(p.boxes[len(p.boxes)-1].T + 1/float64(cfg.FPS)),
				Shot:      i, Occluded: round6(p.occluded), Boxes: p.boxes,
				Strengths: p.strengths,
			})
		}
	}
	return v
}
