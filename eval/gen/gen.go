// Package gen writes labelled evaluation videos: catalog products
// composited onto background footage at known times and places, with
// realistic changes (scale, perspective, motion, blur, lighting and colour
// shifts, partial occlusion, JPEG and H.264 compression), several shots
// joined by cuts, fades and dissolves, and stretches with no product. Every
// choice comes from one seed, so a seed always gives byte-identical ground
// truth (eval/groundtruth) and frame-identical content.
//
// Backgrounds are decoded by ffmpeg to raw RGB, products are drawn in Go
// (so each frame's box is exact) and the frames are piped to an ffmpeg
// H.264 encoder.
//
// Generate composites packshots; Lookbook makes vertical reels of on-model
// catalog photos, whose boxes are the extent of each photo's foreground.
package gen

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// Version names the generator in ground truth files; bump it when the same
// seed would produce a different video.
const Version = "vitrine-eval-gen/2"

// Config controls a generated video. Zero fields take the defaults noted.
type Config struct {
	// CatalogDir holds products.csv and the product images.
	CatalogDir string
	// Backgrounds are the source videos (see SampleBackgrounds).
	Backgrounds []Background
	Seed        uint64
	Width       int     // default 640
	Height      int     // default 360
	FPS         int     // default 25
	Shots       int     // default 6
	MinShotS    float64 // default 3
	MaxShotS    float64 // default 6
	CRF         int     // H.264 constant rate factor, default 26
	FFmpeg      string  // default "ffmpeg"
	FFprobe     string  // default "ffprobe"
	Logger      *slog.Logger
}

func (c *Config) defaults() error {
	c.Width = cmp.Or(c.Width, 640)
	c.Height = cmp.Or(c.Height, 360)
	c.FPS = cmp.Or(c.FPS, 25)
	c.Shots = cmp.Or(c.Shots, 6)
	c.MinShotS = cmp.Or(c.MinShotS, 3)
	c.MaxShotS = cmp.Or(c.MaxShotS, 6)
	c.CRF = cmp.Or(c.CRF, 26)
	defaultTools(&c.FFmpeg, &c.FFprobe, &c.Logger)
	if err := checkFrame(c.Width, c.Height, c.FPS, 5); err != nil {
		return err
	}
	switch {
	case c.Shots < 1 || c.Shots > 100:
		return fmt.Errorf("gen: shots %d outside 1..100", c.Shots)
	case c.MinShotS < 1 || c.MaxShotS < c.MinShotS:
		return fmt.Errorf("gen: shot length %v..%v s invalid (minimum 1 s)", c.MinShotS, c.MaxShotS)
	case c.CRF < 0 || c.CRF > 51:
		return fmt.Errorf("gen: crf %d outside 0..51", c.CRF)
	case c.CatalogDir == "":
		return errors.New("gen: no catalog directory")
	case len(c.Backgrounds) == 0:
		return errors.New("gen: no background videos")
	}
	return nil
}

// defaultTools sets the ffmpeg and ffprobe commands and the logger that a
// generator's config leaves empty.
func defaultTools(ffmpeg, ffprobe *string, logger **slog.Logger) {
	*ffmpeg = cmp.Or(*ffmpeg, "ffmpeg")
	*ffprobe = cmp.Or(*ffprobe, "ffprobe")
	if *logger == nil {
		*logger = slog.New(slog.DiscardHandler)
	}
}

// checkFrame reports a frame size the encoder cannot take (odd, or under
// 64x64) or a frame rate outside minFPS..60.
func checkFrame(width, height, fps, minFPS int) error {
	switch {
	case width < 64 || height < 64 || width%2 != 0 || height%2 != 0:
		return fmt.Errorf("gen: frame size %dx%d must be even and at least 64x64", width, height)
	case fps < minFPS || fps > 60:
		return fmt.Errorf("gen: fps %d outside %d..60", fps, minFPS)
	}
	return nil
}

// Result describes a generated video.
type Result struct {
	VideoPath string
	TruthPath string
	Truth     *groundtruth.Video
	// FramesSHA256 is the hash of every raw RGB frame handed to the encoder.
	FramesSHA256 string
}

type itemPlan struct {
	product Product
	look    look
	l0, l1  int // local frames, inclusive
	// slideIn and slideOut are the frames over which the product enters
	// from, or leaves by, the nearest side edge; 0 when it is already in
	// place as the shot starts or stays until it ends.
	slideIn, slideOut int
	c0, c1            [2]float64
	s0, s1            float64 // product height as a fraction of frame height
	rot0, rot1        float64 // radians
	kx, ky            float64 // keystone (perspective) factors
	boxes             []groundtruth.Box
	occluded          float64
}

// timing places a shot in the output video.
type timing struct {
	frames      int
	outStart    int // output frame of local frame 0
	transition  string
	fadeIn      int
	fadeOut     int
	dissolveIn  int // frames blended with the previous shot's tail
	dissolveOut int
	truthStart  int   // first frame of the shot in the ground truth
	span        []int // gradual transition into the shot, [first, last]
}

// placeShots sets the output position, ground truth start and transition
// span of consecutive shots whose lengths and transitions are known.
func placeShots(shots []*timing) {
	out := 0
	for i, sp := range shots {
		if i > 0 {
			prev := shots[i-1]
			out = prev.outStart + prev.frames - sp.dissolveIn
		}
		sp.outStart = out
		sp.truthStart = out
		switch sp.transition {
		case groundtruth.TransitionFade:
			sp.span = []int{out - sp.fadeIn, out + sp.fadeIn - 1}
		case groundtruth.TransitionDissolve:
			d := sp.dissolveIn
			// The new shot takes over once it weighs at least half.
			sp.truthStart = out + (d+2)/2 - 1
			sp.span = []int{out, out + d - 1}
		}
	}
}

// truthShots returns the ground truth shots of placed shots and the
// video's frame count.
func truthShots(shots []*timing) ([]groundtruth.Shot, int) {
	last := shots[len(shots)-1]
	frames := last.outStart + last.frames
	out := make([]groundtruth.Shot, 0, len(shots))
	for i, sp := range shots {
		end := frames - 1
		if i+1 < len(shots) {
			end = shots[i+1].truthStart - 1
		}
		out = append(out, groundtruth.Shot{StartFrame: sp.truthStart, EndFrame: end, TransitionIn: sp.transition, TransitionFrames: sp.span})
	}
	return out, frames
}

type shotPlan struct {
	timing
	bg        Background
	ss        float64 // seek position in the background, seconds
	items     []*itemPlan
	occluder  *image.Rectangle
	occColour color.RGBA
}

// Generate writes outDir/name.mp4 and outDir/name.gt.json.
func Generate(ctx context.Context, cfg Config, outDir, name string) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	products, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		return nil, err
	}
	bgs, err := resolveWindows(ctx, cfg)
	if err != nil {
		return nil, err
	}
	shots := plan(newRand(cfg.Seed), cfg, products, bgs)
	if err := os.MkdirAll(outDir, 0o750); err != nil {
		return nil, fmt.Errorf("gen: create output directory: %w", err)
	}
	res := &Result{
		VideoPath: filepath.Join(outDir, name+".mp4"),
		TruthPath: filepath.Join(outDir, name+".gt.json"),
	}
	cfg.Logger.InfoContext(ctx, "gen: rendering", "video", res.VideoPath, "shots", len(shots), "seed", cfg.Seed)
	hash, err := render(ctx, cfg, shots, res.VideoPath)
	if err != nil {
		return nil, err
	}
	res.FramesSHA256 = hash
	res.Truth = truthOf(cfg, shots, name+".mp4")
	if err := res.Truth.Validate(); err != nil {
		return nil, fmt.Errorf("gen: generated ground truth invalid: %w", err)
	}
	var buf bytes.Buffer
	if err := groundtruth.Encode(&buf, res.Truth); err != nil {
		return nil, err
	}
	if err := os.WriteFile(res.TruthPath, buf.Bytes(), 0o640); err != nil {
		return nil, fmt.Errorf("gen: write ground truth: %w", err)
	}
	return res, nil
}

// GenerateSet writes n videos named gen-<seed> with seeds cfg.Seed,
// cfg.Seed+1, ….
func GenerateSet(ctx context.Context, cfg Config, outDir string, n int) ([]*Result, error) {
	var out []*Result
	for i := range n {
		c := cfg
		c.Seed = cfg.Seed + uint64(i)
		r, err := Generate(ctx, c, outDir, "gen-"+strconv.FormatUint(c.Seed, 10))
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// resolveWindows fills in whole-video windows and drops windows shorter
// than a shot.
func resolveWindows(ctx context.Context, cfg Config) ([]Background, error) {
	return resolveBackgrounds(ctx, cfg.FFprobe, cfg.Backgrounds, cfg.MinShotS)
}

// resolveBackgrounds fills in whole-video windows (probing durations with
// ffprobe) and drops windows shorter than minS seconds.
func resolveBackgrounds(ctx context.Context, ffprobe string, bgs []Background, minS float64) ([]Background, error) {
	var out []Background
	for _, b := range bgs {
		if _, err := os.Stat(b.Path); err != nil {
			return nil, fmt.Errorf("gen: background: %w", err)
		}
		ws := b.Windows
		if len(ws) == 0 {
			d, err := probeDuration(ctx, ffprobe, b.Path)
			if err != nil {
				return nil, err
			}
			ws = [][2]float64{{0, d}}
		}
		var keep [][2]float64
		for _, w := range ws {
			if w[1]-w[0] >= minS {
				keep = append(keep, w)
			}
		}
		if len(keep) > 0 {
			out = append(out, Background{Path: b.Path, Windows: keep})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("gen: no background has a cut-free stretch of %v s", minS)
	}
	return out, nil
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// plan makes every random choice of a video up front, so the ground truth
// depends on the seed alone and never on decoding.
func plan(r *rand.Rand, cfg Config, products []Product, bgs []Background) []*shotPlan {
	fps := float64(cfg.FPS)
	shots := make([]*shotPlan, cfg.Shots)
	lastBg := -1
	for i := range shots {
		bi := r.IntN(len(bgs))
		if len(bgs) > 1 && bi == lastBg {
			bi = (bi + 1 + r.IntN(len(bgs)-1)) % len(bgs)
		}
		lastBg = bi
		bg := bgs[bi]
		w := bg.Windows[r.IntN(len(bg.Windows))]
		lenS := math.Min(uniform(r, cfg.MinShotS, cfg.MaxShotS), w[1]-w[0]-0.1)
		sp := &shotPlan{bg: bg, timing: timing{frames: int(lenS * fps)}}
		sp.ss = math.Round(uniform(r, w[0], w[1]-lenS)*1000) / 1000
		shots[i] = sp
	}
	// Transitions.
	shots[0].transition = groundtruth.TransitionNone
	for i := 1; i < len(shots); i++ {
		prev, cur := shots[i-1], shots[i]
		maxD := min(prev.frames, cur.frames) / 4
		switch x := r.Float64(); {
		case x < 0.5 || maxD < 6:
			cur.transition = groundtruth.TransitionCut
		case x < 0.75:
			cur.transition = groundtruth.TransitionFade
			f := 6 + r.IntN(max(1, min(maxD, 15)-5))
			prev.fadeOut, cur.fadeIn = f, f
		default:
			cur.transition = groundtruth.TransitionDissolve
			d := 6 + r.IntN(max(1, min(maxD, 20)-5))
			prev.dissolveOut, cur.dissolveIn = d, d
		}
	}
	ts := make([]*timing, len(shots))
	for i, sp := range shots {
		ts[i] = &sp.timing
	}
	placeShots(ts)
	// Products. One shot is always left empty; others get 0-2 items.
	empty := r.IntN(len(shots))
	for i, sp := range shots {
		n := 0
		switch x := r.Float64(); {
		case x < 0.15:
		case x < 0.75:
			n = 1
		default:
			n = 2
		}
		guard := 3
		lo := max(sp.fadeIn, sp.dissolveIn) + guard
		hi := sp.frames - max(sp.fadeOut, sp.dissolveOut) - guard // exclusive
		minLen := int(1.2 * fps)
		if i == empty || hi-lo < minLen {
			n = 0
		}
		for k := range n {
			sp.items = append(sp.items, planItem(r, cfg, products, sp.frames, lo, hi, minLen, k, n))
		}
		if n > 0 && r.Float64() < 0.35 {
			// A pole in the foreground, in front of the first item's path.
			it := sp.items[0]
			xc := (it.c0[0] + it.c1[0]) / 2 * float64(cfg.Width)
			bw := uniform(r, 0.04, 0.09) * float64(cfg.Width)
			rect := image.Rect(int(xc-bw/2), 0, int(xc+bw/2), cfg.Height)
			sp.occluder = &rect
			g := uint8(20 + r.IntN(60))
			sp.occColour = color.RGBA{g, uint8(int(g) + r.IntN(30)), g, 255}
		}
	}
	return shots
}

func planItem(r *rand.Rand, cfg Config, products []Product, frames, lo, hi, minLen, k, n int) *itemPlan {
	it := &itemPlan{product: products[r.IntN(len(products))]}
	// At least half the usable span, so items stay on screen long enough
	// to be sampled a few times.
	minLen = max(minLen, (hi-lo)/2)
	length := minLen + r.IntN(hi-lo-minLen+1)
	it.l0 = lo + r.IntN(hi-lo-length+1)
	it.l1 = it.l0 + length - 1
	// Objects do not pop into a scene: a product is either there when the
	// shot starts (and fades or dissolves in with it) or slides in from a
	// side edge; likewise at the end.
	slide := max(2, cfg.FPS/2)
	if r.Float64() < 0.5 {
		it.l0 = 0
	} else {
		it.slideIn = slide
	}
	if r.Float64() < 0.5 {
		it.l1 = frames - 1
	} else {
		it.slideOut = slide
	}
	if it.l1-it.l0+1 < it.slideIn+it.slideOut+minLen/2 {
		it.slideIn, it.slideOut = 0, 0
		it.l0, it.l1 = 0, frames-1
	}
	it.s0 = uniform(r, 0.3, 0.55)
	it.s1 = math.Max(0.22, math.Min(0.65, it.s0*uniform(r, 0.75, 1.33)))
	aspect := float64(cfg.Height) / float64(cfg.Width)
	// Horizontal slot: the whole frame for one item, a half for two.
	x0, x1 := 0.0, 1.0
	if n == 2 {
		x0, x1 = float64(k)*0.5, float64(k+1)*0.5
	}
	place := func(s float64) [2]float64 {
		hw := s * aspect / 2 * 1.2 // half width with room for rotation
		hh := s / 2 * 1.1
		xa, xb := x0+hw, x1-hw
		if xb < xa {
			xa, xb = (x0+x1)/2, (x0+x1)/2
		}
		return [2]float64{uniform(r, xa, xb), uniform(r, hh, 1-hh)}
	}
	it.c0, it.c1 = place(it.s0), place(it.s1)
	it.rot0 = uniform(r, -12, 12) * math.Pi / 180
	it.rot1 = it.rot0 + uniform(r, -8, 8)*math.Pi/180
	it.kx, it.ky = uniform(r, -0.25, 0.25), uniform(r, -0.15, 0.15)
	it.look = look{
		Brightness:  uniform(r, -0.15, 0.15),
		Contrast:    uniform(r, 0.8, 1.2),
		Saturation:  uniform(r, 0.7, 1.3),
		Gain:        [3]float64{uniform(r, 0.9, 1.1), uniform(r, 0.9, 1.1), uniform(r, 0.9, 1.1)},
		JPEGQuality: 35 + r.IntN(56),
		BlurSigma:   uniform(r, 0, 1.6),
	}
	return it
}

// quad returns the item's destination corners at local frame f.
func (it *itemPlan) quad(f, fw, fh int, sw, sh int) [4][2]float64 {
	p := 0.0
	if it.l1 > it.l0 {
		p = float64(f-it.l0) / float64(it.l1-it.l0)
	}
	lerp := func(a, b float64) float64 { return a + (b-a)*p }
	h := lerp(it.s0, it.s1) * float64(fh)
	w := h * float64(sw) / float64(sh)
	cx, cy := lerp(it.c0[0], it.c1[0])*float64(fw), lerp(it.c0[1], it.c1[1])*float64(fh)
	// Entering or leaving: shift sideways so that at the first (last)
	// frame the centre is just inside the edge (packshots have margins,
	// so less would often show nothing).
	var out float64
	switch {
	case it.slideIn > 0 && f < it.l0+it.slideIn:
		out = 1 - float64(f-it.l0)/float64(it.slideIn)
	case it.slideOut > 0 && f > it.l1-it.slideOut:
		out = 1 - float64(it.l1-f)/float64(it.slideOut)
	}
	if out > 0 {
		if cx < float64(fw)/2 {
			cx -= out * (cx - 0.1*w)
		} else {
			cx += out * (float64(fw) - cx - 0.1*w)
		}
	}
	return keystone(cx, cy, w, h, it.kx, it.ky, lerp(it.rot0, it.rot1))
}

// keystone returns the corners (clockwise from top left) of a w x h
// rectangle centred on (cx, cy), seen at an angle: one edge shorter than
// the opposite one (kx: top against bottom, ky: left against right; the
// sign says which), then rotated by rot radians.
func keystone(cx, cy, w, h, kx, ky, rot float64) [4][2]float64 {
	tx, bx := 1-math.Max(kx, 0), 1+math.Min(kx, 0)
	ly, ry := 1-math.Max(ky, 0), 1+math.Min(ky, 0)
	local := [4][2]float64{
		{-w / 2 * tx, -h / 2 * ly}, {w / 2 * tx, -h / 2 * ry},
		{w / 2 * bx, h / 2 * ry}, {-w / 2 * bx, h / 2 * ly},
	}
	sin, cos := math.Sincos(rot)
	var q [4][2]float64
	for i, c := range local {
		q[i] = [2]float64{cx + c[0]*cos - c[1]*sin, cy + c[0]*sin + c[1]*cos}
	}
	return q
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// render decodes, composites and encodes every frame and returns the hash
// of the raw frames.
func render(ctx context.Context, cfg Config, shots []*shotPlan, outPath string) (string, error) {
	fw, fh := cfg.Width, cfg.Height
	seq := make([]*timing, len(shots))
	for i, sp := range shots {
		seq[i] = &sp.timing
	}
	return encodeSequence(ctx, cfg.FFmpeg, fw, fh, cfg.FPS, cfg.CRF, outPath, seq, func(i int) (shotSource, error) {
		sp := shots[i]
		sprites := make([]*sprite, len(sp.items))
		for i, it := range sp.items {
			s, err := loadSprite(it.product.Image, it.look)
			if err != nil {
				return nil, err
			}
			sprites[i] = s
		}
		frames, err := decodeFrames(ctx, cfg.FFmpeg, fw, fh, cfg.FPS, sp.bg.Path, sp.ss, sp.frames)
		if err != nil {
			return nil, err
		}
		return &packshotSource{frames: frames, fw: fw, fh: fh, fps: cfg.FPS, sp: sp, sprites: sprites}, nil
	})
}

// packshotSource composites a shot's products onto its background frames.
type packshotSource struct {
	frames      *frameReader
	fw, fh, fps int
	sp          *shotPlan
	sprites     []*sprite
}

func (s *packshotSource) frame(local int) ([]byte, error) {
	f, err := s.frames.next()
	if err != nil {
		return nil, err
	}
	if err := drawItems(f, s.fw, s.fh, s.sp, s.sprites, local, s.fps); err != nil {
		return nil, err
	}
	return f, nil
}

func (s *packshotSource) close() error { return s.frames.close() }

// shotSource yields the frames of one shot, local frame 0 first.
type shotSource interface {
	frame(local int) ([]byte, error)
	close() error
}

// encodeSequence pipes the shots' frames to an H.264 encoder writing
// outPath, applying fades through black and dissolves, and returns the
// hash of the raw frames. open is called once per shot, in order.
func encodeSequence(ctx context.Context, ffmpeg string, fw, fh, fps, crf int, outPath string, shots []*timing, open func(i int) (shotSource, error)) (string, error) {
	enc, err := startEncoder(ctx, ffmpeg, fw, fh, fps, crf, outPath)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	write := func(f []byte) error {
		h.Write(f)
		return enc.write(f)
	}
	renderErr := func() error {
		var pending [][]byte
		for i, sp := range shots {
			src, err := open(i)
			if err != nil {
				return err
			}
			next := 0
			for local := 0; local < sp.frames; local++ {
				f, err := src.frame(local)
				if err != nil {
					src.close()
					return err
				}
				if sp.fadeIn > 0 && local < sp.fadeIn {
					scale(f, float64(local)/float64(sp.fadeIn))
				}
				if tail := sp.frames - sp.fadeOut; sp.fadeOut > 0 && local >= tail {
					scale(f, 1-float64(local-tail+1)/float64(sp.fadeOut))
				}
				switch {
				case local < sp.dissolveIn:
					wgt := float64(local+1) / float64(sp.dissolveIn+1)
					blend(pending[next], f, wgt)
					f = pending[next]
					next++
				case sp.dissolveOut > 0 && local >= sp.frames-sp.dissolveOut:
					if local == sp.frames-sp.dissolveOut {
						pending = pending[:0]
					}
					pending = append(pending, append([]byte(nil), f...))
					continue
				}
				if err := write(f); err != nil {
					src.close()
					return err
				}
			}
			if err := src.close(); err != nil {
				return err
			}
		}
		return nil
	}()
	if err := enc.finish(renderErr); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// encoder is an ffmpeg process encoding the raw RGB frames written to it
// into an H.264 MP4.
type encoder struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stdin  io.WriteCloser
	w      *bufio.Writer
	stderr bytes.Buffer
	out    string
}

// startEncoder starts ffmpeg writing outPath from fw x fh frames at fps.
func startEncoder(ctx context.Context, ffmpeg string, fw, fh, fps, crf int, outPath string) (*encoder, error) {
	ctx, cancel := context.WithCancel(ctx)
	e := &encoder{cancel: cancel, out: outPath}
	e.cmd = exec.CommandContext(ctx, ffmpeg, "-v", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", fw, fh), "-framerate", strconv.Itoa(fps), "-i", "pipe:0",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", strconv.Itoa(crf), "-pix_fmt", "yuv420p",
		"-threads", "2", "-movflags", "+faststart", "-an", outPath)
	e.cmd.Stderr = &e.stderr
	stdin, err := e.cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gen: encoder pipe: %w", err)
	}
	if err := e.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("gen: start encoder: %w", err)
	}
	e.stdin = stdin
	e.w = bufio.NewWriterSize(stdin, 3*fw*fh)
	return e, nil
}

// write queues one frame for the encoder.
func (e *encoder) write(f []byte) error {
	if _, err := e.w.Write(f); err != nil {
		return fmt.Errorf("gen: encode: %w (%s)", err, bytes.TrimSpace(e.stderr.Bytes()))
	}
	return nil
}

// finish ends the encoding. After a render error it stops ffmpeg and
// returns that error; otherwise it hands over the last frames and waits
// for ffmpeg to write the file.
func (e *encoder) finish(renderErr error) error {
	defer e.cancel()
	if renderErr == nil {
		if err := e.w.Flush(); err != nil {
			renderErr = fmt.Errorf("gen: encode: %w (%s)", err, bytes.TrimSpace(e.stderr.Bytes()))
		}
	}
	e.stdin.Close()
	if renderErr != nil {
		e.cancel()
		_ = e.cmd.Wait()
		return renderErr
	}
	if err := e.cmd.Wait(); err != nil {
		return fmt.Errorf("gen: encode %s: %w (%s)", filepath.Base(e.out), err, bytes.TrimSpace(e.stderr.Bytes()))
	}
	return nil
}

func drawItems(f []byte, fw, fh int, sp *shotPlan, sprites []*sprite, local, fps int) error {
	for i, it := range sp.items {
		if local < it.l0 || local > it.l1 {
			continue
		}
		s := sprites[i]
		q := it.quad(local, fw, fh, s.w, s.h)
		box, ok, err := composite(f, fw, fh, s, q)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if sp.occluder != nil {
			if in := box.Intersect(*sp.occluder); !in.Empty() {
				frac := float64(in.Dx()*in.Dy()) / float64(box.Dx()*box.Dy())
				it.occluded = math.Max(it.occluded, frac)
			}
		}
		it.boxes = append(it.boxes, groundtruth.Box{
			T: round6(float64(sp.outStart+local) / float64(fps)),
			X: round6(float64(box.Min.X) / float64(fw)), Y: round6(float64(box.Min.Y) / float64(fh)),
			W: round6(float64(box.Dx()) / float64(fw)), H: round6(float64(box.Dy()) / float64(fh)),
		})
	}
	if sp.occluder != nil {
		fillRect(f, fw, fh, *sp.occluder, sp.occColour)
	}
	return nil
}

func scale(f []byte, k float64) {
	for i, v := range f {
		f[i] = uint8(math.Round(float64(v) * k))
	}
}

// blend sets dst = (1-w)·dst + w·src.
func blend(dst, src []byte, w float64) {
	for i := range dst {
		dst[i] = uint8(math.Round(float64(dst[i])*(1-w) + float64(src[i])*w))
	}
}

func truthOf(cfg Config, shots []*shotPlan, video string) *groundtruth.Video {
	ts := make([]*timing, len(shots))
	for i, sp := range shots {
		ts[i] = &sp.timing
	}
	gtShots, frames := truthShots(ts)
	v := &groundtruth.Video{
		Schema: groundtruth.Schema, Video: video, FPS: float64(cfg.FPS),
		Frames: frames, Width: cfg.Width, Height: cfg.Height,
		Seed: cfg.Seed, Generator: Version, Catalog: filepath.Base(filepath.Clean(cfg.CatalogDir)),
		Shots: gtShots, Items: []groundtruth.Item{},
	}
	for i, sp := range shots {
		for _, it := range sp.items {
			if len(it.boxes) == 0 {
				continue
			}
			v.Items = append(v.Items, groundtruth.Item{
				ProductID: it.product.ID,
				// The span is that of the frames the product was drawn in.
				StartS: it.boxes[0].T,
				EndS:   round6(it.boxes[len(it.boxes)-1].T + 1/float64(cfg.FPS)),
				Shot:   i, Occluded: round6(it.occluded), Boxes: it.boxes,
			})
		}
	}
	return v
}

// frameReader yields the raw RGB frames of one shot from an ffmpeg decoder,
// repeating the last frame if the source runs out early.
type frameReader struct {
	cmd    *exec.Cmd
	r      *bufio.Reader
	stderr *bytes.Buffer
	name   string
	last   []byte
	size   int
	eof    bool
}

// decodeFrames starts an ffmpeg decoder for n frames of the video at path
// from ss seconds on, at fps, scaled to fill fw x fh and centre-cropped.
func decodeFrames(ctx context.Context, ffmpeg string, fw, fh, fps int, path string, ss float64, n int) (*frameReader, error) {
	vf := fmt.Sprintf("fps=%d,scale=%d:%d:force_original_aspect_ratio=increase:flags=bilinear,crop=%d:%d,setsar=1",
		fps, fw, fh, fw, fh)
	cmd := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-ss", strconv.FormatFloat(ss, 'f', 3, 64),
		"-i", path, "-an", "-vf", vf, "-frames:v", strconv.Itoa(n),
		"-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("gen: decoder pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("gen: start decoder for %s: %w", filepath.Base(path), err)
	}
	size := 3 * fw * fh
	return &frameReader{cmd: cmd, r: bufio.NewReaderSize(out, size), stderr: &stderr, name: filepath.Base(path), size: size}, nil
}

func (fr *frameReader) next() ([]byte, error) {
	if !fr.eof {
		f := make([]byte, fr.size)
		_, err := io.ReadFull(fr.r, f)
		if err == nil {
			fr.last = f
			return append([]byte(nil), f...), nil
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("gen: decode background %s: %w", fr.name, err)
		}
		fr.eof = true
	}
	if fr.last == nil {
		return nil, fmt.Errorf("gen: decode background %s: no frames (%s)", fr.name, bytes.TrimSpace(fr.stderr.Bytes()))
	}
	return append([]byte(nil), fr.last...), nil
}

func (fr *frameReader) close() error {
	_, _ = io.Copy(io.Discard, fr.r)
	if err := fr.cmd.Wait(); err != nil {
		return fmt.Errorf("gen: decode background %s: %w (%s)", fr.name, err, bytes.TrimSpace(fr.stderr.Bytes()))
	}
	return nil
}
