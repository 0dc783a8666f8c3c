// Package shoteval builds a shot-boundary evaluation set with exact ground
// truth and scores the shot detector on it.
//
// Each generated video joins single-shot stretches of the sample videos with
// hard cuts (concat) and gradual transitions made by ffmpeg (xfade fade and
// dissolve, xfade fadeblack, fade out/in), all on frame boundaries of a
// constant-rate stream, so every boundary frame is known exactly.
package shoteval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
	"github.com/vitrine-dev/vitrine/eval/score"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shots"
)

// Stretch is a time window (seconds) of a sample video holding one shot.
type Stretch struct {
	File       string
	Start, End float64
}

// SampleStretches lists cut-free stretches of the bundled sample videos
// (files under samplesDir/videos). The boundaries around them were checked
// by eye; the reels' own cuts include jump cuts between similar framings.
func SampleStretches() []Stretch {
	return []Stretch{
		// Still pictures: cut from black at 1.0 s, cut to black at 6.0 s,
		// fade in 7.2-8.0 s, fade out 11.0-11.8 s, fade in 13.3-14.1 s,
		// dissolve 17.6-18.6 s, fade out from 22.1 s.
		{"pyscenedetect_testvideo_fades.mp4", 1.1, 5.9},   // leaf on rock
		{"pyscenedetect_testvideo_fades.mp4", 8.1, 10.95}, // deer
		{"pyscenedetect_testvideo_fades.mp4", 14.2, 17.5}, // leaf close-up
		{"pyscenedetect_testvideo_fades.mp4", 18.7, 22.0}, // textured surface
		{"pyscenedetect_goldeneye_cuts.mp4", 0.1, 3.6},
		{"pyscenedetect_goldeneye_cuts.mp4", 3.9, 8.6},
		{"pyscenedetect_bbc_multishot_people.mp4", 0.1, 2.7},
		{"pyscenedetect_bbc_multishot_people.mp4", 2.9, 6.7},
		{"pyscenedetect_bbc_multishot_people.mp4", 6.9, 11.9},
		{"pyscenedetect_bbc_multishot_people.mp4", 12.1, 16.7},
		{"pyscenedetect_bbc_multishot_people.mp4", 19.5, 25.0},
		{"videoavatars_person_turntable.mp4", 0, 8.1},
		{"pets_pedestrians_vtest.mp4", 0, 79},
		{"flickd_virgio_reel_2025-05-22_textonly.mp4", 0, 9.3},
		{"flickd_virgio_reel_2025-05-28.mp4", 1.9, 3.5},
		{"flickd_virgio_reel_2025-05-28.mp4", 9.4, 10.9},
		{"flickd_virgio_reel_2025-05-28.mp4", 15.55, 17.9},
		{"flickd_virgio_reel_2025-05-31.mp4", 3.25, 4.95},
		{"flickd_virgio_reel_2025-05-31.mp4", 5.05, 6.45},
	}
}

// Kind is one way of joining two shots.
type Kind struct {
	Name       string                 // "cut", "xfade-fade", …
	Truth      string                 // groundtruth transition
	XFade      string                 // xfade transition name, "" for none
	FadeFilter bool                   // fade out, then fade in with the fade filter
	Frames     func(r *rand.Rand) int // transition length in frames at 25 fps
}

// Kinds are the transitions the generator uses, in the proportions listed:
// half hard cuts, half gradual, including short dissolves of 5-9 frames.
func Kinds() []Kind {
	span := func(lo, hi int) func(r *rand.Rand) int {
		return func(r *rand.Rand) int { return lo + r.IntN(hi-lo+1) }
	}
	return []Kind{
		{Name: "cut", Truth: groundtruth.TransitionCut},
		{Name: "cut", Truth: groundtruth.TransitionCut},
		{Name: "cut", Truth: groundtruth.TransitionCut},
		{Name: "cut", Truth: groundtruth.TransitionCut},
		{Name: "xfade-fade", Truth: groundtruth.TransitionDissolve, XFade: "fade", Frames: span(10, 30)},
		{Name: "xfade-dissolve", Truth: groundtruth.TransitionDissolve, XFade: "dissolve", Frames: span(10, 30)},
		{Name: "xfade-fade-short", Truth: groundtruth.TransitionDissolve, XFade: "fade", Frames: span(5, 9)},
		{Name: "xfade-fadeblack", Truth: groundtruth.TransitionFade, XFade: "fadeblack", Frames: span(12, 30)},
		{Name: "fade-out-in", Truth: groundtruth.TransitionFade, FadeFilter: true, Frames: span(8, 20)},
	}
}

// Options configures Generate.
type Options struct {
	SamplesDir string // holds videos/
	OutDir     string
	Seed       uint64
	Videos     int // default 4
	Shots      int // shots per video, default 10
	Width      int // default 320
	Height     int // default 180
	CRF        int // libx264 quality, default 20; higher is more compressed
	FFmpeg     string
}

// FPS is the frame rate of generated videos.
const FPS = 25

// Case is one generated video and its ground truth.
type Case struct {
	Path  string
	Truth *groundtruth.Video
	Kinds []string // kind name of each boundary, in order
	// Sources describes each shot as "file@start+frames".
	Sources []string
}

// Generate writes opts.Videos videos with ground truth to opts.OutDir.
func Generate(ctx context.Context, opts Options) ([]Case, error) {
	if opts.Videos <= 0 {
		opts.Videos = 4
	}
	if opts.Shots <= 1 {
		opts.Shots = 10
	}
	if opts.Width <= 0 || opts.Height <= 0 {
		opts.Width, opts.Height = 320, 180
	}
	if opts.FFmpeg == "" {
		opts.FFmpeg = "ffmpeg"
	}
	if opts.CRF <= 0 {
		opts.CRF = 20
	}
	stretches := SampleStretches()
	for _, s := range stretches {
		p := filepath.Join(opts.SamplesDir, "videos", s.File)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("shoteval: sample %s: %w", p, err)
		}
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("shoteval: %w", err)
	}
	r := rand.New(rand.NewPCG(opts.Seed, 0x5e1ec7))
	var cases []Case
	for v := range opts.Videos {
		c, err := generateOne(ctx, opts, r, stretches, v)
		if err != nil {
			return cases, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

type plannedShot struct {
	st     Stretch
	start  float64 // seconds into the source
	frames int
	kind   Kind // how it begins (ignored for the first)
	trans  int  // transition frames
}

func generateOne(ctx context.Context, opts Options, r *rand.Rand, stretches []Stretch, v int) (Case, error) {
	kinds := Kinds()
	plan := make([]plannedShot, opts.Shots)
	for i := 1; i < len(plan); i++ {
		plan[i].kind = kinds[r.IntN(len(kinds))]
		if plan[i].kind.Frames != nil {
			plan[i].trans = plan[i].kind.Frames(r)
		}
	}
	// Each shot keeps 1-2.5 s clear of transitions, from a stretch long
	// enough and a different source than the shot before.
	prevFile := ""
	for i := range plan {
		in := plan[i].trans
		out := 0
		if i+1 < len(plan) {
			out = plan[i+1].trans
		}
		want := float64(in+out)/FPS + 1.0 + r.Float64()*1.5
		var st Stretch
		for tries := 0; ; tries++ {
			st = stretches[r.IntN(len(stretches))]
			if st.File != prevFile && st.End-st.Start >= want+0.2 {
				break
			}
			if tries > 1000 {
				return Case{}, fmt.Errorf("shoteval: no stretch of %.1f s for shot %d", want, i)
			}
		}
		prevFile = st.File
		plan[i].st = st
		plan[i].frames = int(want * FPS)
		plan[i].start = st.Start + r.Float64()*(st.End-st.Start-float64(plan[i].frames)/FPS-0.1)
	}

	name := fmt.Sprintf("shots_%02d", v)
	out := filepath.Join(opts.OutDir, name+".mp4")
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}
	var fg strings.Builder
	for i, p := range plan {
		args = append(args, "-ss", fmt.Sprintf("%.3f", p.start), "-t", fmt.Sprintf("%.3f", float64(p.frames)/FPS+1),
			"-i", filepath.Join(opts.SamplesDir, "videos", p.st.File))
		fmt.Fprintf(&fg, "[%d:v]fps=%d,scale=%d:%d:flags=bicubic,setsar=1,format=yuv420p,trim=end_frame=%d,settb=1/%d,setpts=N[s%d];",
			i, FPS, opts.Width, opts.Height, p.frames, FPS, i)
	}
	truth := &groundtruth.Video{Schema: groundtruth.Schema, Video: name + ".mp4", FPS: FPS, Width: opts.Width, Height: opts.Height,
		Seed: opts.Seed, Generator: "internal/shots/shoteval"}
	var kindNames []string
	acc := "s0"
	length := plan[0].frames
	shotStart := 0
	transIn, span := groundtruth.TransitionNone, []int(nil)
	for i := 1; i < len(plan); i++ {
		p := plan[i]
		next := fmt.Sprintf("a%d", i)
		var boundary int
		var tspan []int
		switch {
		case p.kind.XFade != "":
			d := p.trans
			fmt.Fprintf(&fg, "[%s][s%d]xfade=transition=%s:duration=%s:offset=%s,settb=1/%d,setpts=N[%s];", acc, i, p.kind.XFade,
				secs(d), secs(length-d), FPS, next)
			tspan = []int{length - d, length - 1}
			boundary = length - d + d/2
			length += p.frames - d
		case p.kind.FadeFilter:
			d1 := p.trans
			d2 := p.trans
			fmt.Fprintf(&fg, "[%s]fade=t=out:start_frame=%d:nb_frames=%d[fo%d];[s%d]fade=t=in:start_frame=0:nb_frames=%d[fi%d];[fo%d][fi%d]concat=n=2:v=1:a=0,settb=1/%d,setpts=N[%s];",
				acc, length-d1, d1, i, i, d2, i, i, i, FPS, next)
			tspan = []int{length - d1, length + d2 - 1}
			boundary = length
			length += p.frames
		default:
			fmt.Fprintf(&fg, "[%s][s%d]concat=n=2:v=1:a=0,settb=1/%d,setpts=N[%s];", acc, i, FPS, next)
			boundary = length
			length += p.frames
		}
		truth.Shots = append(truth.Shots, groundtruth.Shot{StartFrame: shotStart, EndFrame: boundary - 1, TransitionIn: transIn, TransitionFrames: span})
		shotStart, transIn, span = boundary, p.kind.Truth, tspan
		kindNames = append(kindNames, p.kind.Name)
		acc = next
	}
	truth.Shots = append(truth.Shots, groundtruth.Shot{StartFrame: shotStart, EndFrame: length - 1, TransitionIn: transIn, TransitionFrames: span})
	truth.Frames = length
	filter := strings.TrimSuffix(fg.String(), ";")
	args = append(args, "-filter_complex", filter, "-map", "["+acc+"]", "-an",
		"-c:v", "libx264", "-preset", "ultrafast", "-crf", strconv.Itoa(opts.CRF), "-pix_fmt", "yuv420p", "-r", strconv.Itoa(FPS), out)
	cmd := exec.CommandContext(ctx, opts.FFmpeg, args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return Case{}, fmt.Errorf("shoteval: render %s: %w: %s", name, err, strings.TrimSpace(string(msg)))
	}
	if err := truth.Validate(); err != nil {
		return Case{}, fmt.Errorf("shoteval: %s: %w", name, err)
	}
	f, err := os.Create(filepath.Join(opts.OutDir, name+".gt.json"))
	if err != nil {
		return Case{}, fmt.Errorf("shoteval: %w", err)
	}
	if err := groundtruth.Encode(f, truth); err != nil {
		f.Close()
		return Case{}, fmt.Errorf("shoteval: write truth %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return Case{}, fmt.Errorf("shoteval: %w", err)
	}
	var sources []string
	for _, p := range plan {
		sources = append(sources, fmt.Sprintf("%s@%.2f+%d", p.st.File, p.start, p.frames))
	}
	return Case{Path: out, Truth: truth, Kinds: kindNames, Sources: sources}, nil
}

func secs(frames int) string { return strconv.FormatFloat(float64(frames)/FPS, 'f', 6, 64) }

// Detect runs media decoding and the shot detector on a video file.
func Detect(ctx context.Context, path string, cfg shots.Config, frameOpts media.FrameOptions) (shots.Result, media.Info, error) {
	info, err := media.Probe(ctx, path)
	if err != nil {
		return shots.Result{}, info, err
	}
	if cfg.FPS <= 0 {
		cfg.FPS = info.FPS
	}
	frameOpts.Info = &info
	d := shots.NewDetector(cfg)
	if err := media.Frames(ctx, path, frameOpts, func(f media.Frame) error { return d.Add(shots.Frame(f)) }); err != nil {
		return shots.Result{}, info, err
	}
	return d.Result(), info, nil
}

// Boundaries converts a detector result to scorer boundaries.
func Boundaries(r shots.Result) []score.Boundary {
	var out []score.Boundary
	for _, b := range r.Boundaries {
		sb := score.Boundary{Frame: b.Frame, Lo: b.Frame, Hi: b.Frame, Kind: score.KindCut}
		if b.Transition.Gradual() {
			sb.Kind = score.KindGradual
		}
		out = append(out, sb)
	}
	return out
}

// CaseResult is the score of one case.
type CaseResult struct {
	Case   Case
	Result shots.Result
	Score  score.ShotScore
}

// Evaluate detects shots in every case and scores them with a tolerance of
// tol frames; it returns the total and the per-case scores.
func Evaluate(ctx context.Context, cases []Case, cfg shots.Config, frameOpts media.FrameOptions, tol int) (score.ShotScore, []CaseResult, error) {
	var total score.ShotScore
	var per []CaseResult
	for _, c := range cases {
		res, _, err := Detect(ctx, c.Path, cfg, frameOpts)
		if err != nil {
			return total, per, fmt.Errorf("shoteval: detect %s: %w", c.Path, err)
		}
		s := score.Shots(score.TruthBoundaries(c.Truth), Boundaries(res), tol)
		total.Add(s)
		per = append(per, CaseResult{Case: c, Result: res, Score: s})
	}
	return total, per, nil
}
