// Package sample chooses which frames of each shot to analyse: at most a
// given rate (default 2 frames per second), the sharpest frame of each slot
// spread over the shot, at least one frame per shot, and outside transitions
// and black frames where the shot allows it.
//
// The choice is a pure function of per-frame sharpness values, which the
// caller computes with Sharpness while the low-resolution stream is decoded.
package sample

import (
	"math"
	"slices"

	"github.com/vitrine-dev/vitrine/internal/shots"
)

// DefaultRate is the default cap in frames per second of video.
const DefaultRate = 2.0

// Candidate is one decoded frame with its sharpness.
type Candidate struct {
	Index     int     `json:"index"`
	PTS       float64 `json:"pts"`
	Sharpness float64 `json:"sharpness"`
}

// Shot is a frame range [StartFrame, EndFrame) with ranges to avoid.
type Shot struct {
	StartFrame int `json:"start_frame"`
	EndFrame   int `json:"end_frame"`
	// Avoid lists inclusive frame ranges (transitions, black frames) that are
	// used only when nothing else of the shot is left.
	Avoid [][2]int `json:"avoid,omitempty"`
	// Skip means nothing in the shot is worth analysing (a black hold): no
	// frame is chosen.
	Skip bool `json:"skip,omitempty"`
}

// Options configures Choose. Zero fields take the defaults.
type Options struct {
	// Rate caps the chosen frames per second of shot. Default 2.
	Rate float64
	// MinPerShot frames are chosen from every shot that has frames, even a
	// short one. Default 1.
	MinPerShot int
	// MaxPerShot caps frames per shot; 0 means no cap beyond Rate.
	MaxPerShot int
}

// Pick is a chosen frame of a shot.
type Pick struct {
	Shot int `json:"shot"`
	Candidate
}

// Plan chooses frames for every shot. cands must be sorted by Index (the
// order of decoding); shots are as produced by ShotsFrom.
func Plan(cands []Candidate, shotList []Shot, opts Options) []Pick {
	var out []Pick
	for i, s := range shotList {
		lo, _ := slices.BinarySearchFunc(cands, s.StartFrame, func(c Candidate, f int) int { return c.Index - f })
		hi, _ := slices.BinarySearchFunc(cands, s.EndFrame, func(c Candidate, f int) int { return c.Index - f })
		for _, c := range Choose(cands[lo:hi], s, opts) {
			out = append(out, Pick{Shot: i, Candidate: c})
		}
	}
	return out
}

// Choose picks frames of one shot from its candidates (sorted by Index).
// The usable part of the shot (outside Avoid) is split into
// floor(duration*Rate) equal slots (at least MinPerShot) and the sharpest frame of each slot is taken, keeping picks at
// least half a slot apart so they spread over the shot.
func Choose(cands []Candidate, s Shot, opts Options) []Candidate {
	rate := opts.Rate
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		rate = DefaultRate
	}
	if s.Skip {
		return nil
	}
	minPer := max(opts.MinPerShot, 1)

	var usable, inShot []Candidate
	for _, c := range cands {
		if c.Index < s.StartFrame || c.Index >= s.EndFrame {
			continue
		}
		inShot = append(inShot, c)
		if !avoided(c.Index, s.Avoid) {
			usable = append(usable, c)
		}
	}
	if len(usable) == 0 {
		usable = inShot
	}
	if len(usable) == 0 {
		return nil
	}
	t0, t1 := usable[0].PTS, usable[len(usable)-1].PTS
	step := frameStep(usable)
	// Whole slots only, so a shot never gets more than Rate frames a second
	// (beyond the MinPerShot guarantee).
	slots := int(math.Floor((t1-t0+step)*rate + 1e-6))
	slots = max(slots, minPer)
	if opts.MaxPerShot > 0 {
		slots = min(slots, opts.MaxPerShot)
	}
	slots = min(slots, len(usable))
	slotLen := (t1 - t0 + step) / float64(slots)

	var picks []Candidate
	lastT := math.Inf(-1)
	for j := range slots {
		a, b := t0+float64(j)*slotLen, t0+float64(j+1)*slotLen
		best := -1
		for k, c := range usable {
			if c.PTS < a-1e-9 || c.PTS >= b-1e-9 && j < slots-1 {
				continue
			}
			if c.PTS-lastT < slotLen/2 {
				continue
			}
			if best < 0 || c.Sharpness > usable[best].Sharpness {
				best = k
			}
		}
		if best < 0 {
			continue
		}
		picks = append(picks, usable[best])
		lastT = usable[best].PTS
	}
	if len(picks) == 0 {
		picks = append(picks, sharpest(usable))
	}
	return picks
}

func sharpest(cs []Candidate) Candidate {
	best := cs[0]
	for _, c := range cs[1:] {
		if c.Sharpness > best.Sharpness {
			best = c
		}
	}
	return best
}

// frameStep is the median time between consecutive candidates, the length
// one frame stands for.
func frameStep(cs []Candidate) float64 {
	if len(cs) < 2 {
		return 0
	}
	d := make([]float64, 0, len(cs)-1)
	for i := 1; i < len(cs); i++ {
		d = append(d, cs[i].PTS-cs[i-1].PTS)
	}
	slices.Sort(d)
	return math.Max(0, d[len(d)/2])
}

func avoided(i int, ranges [][2]int) bool {
	for _, r := range ranges {
		if i >= r[0] && i <= r[1] {
			return true
		}
	}
	return false
}

// ShotsFrom turns a shot detection result into sampling shots: each shot
// avoids its incoming gradual transition, the next shot's (which begins
// inside it) and any black segment; black shots are skipped.
func ShotsFrom(res shots.Result) []Shot {
	out := make([]Shot, len(res.Shots))
	for i, s := range res.Shots {
		sh := Shot{StartFrame: s.StartFrame, EndFrame: s.EndFrame, Skip: s.Black}
		if s.Transition.Gradual() {
			sh.Avoid = append(sh.Avoid, [2]int{s.TransitionStart, s.TransitionEnd})
		}
		if i+1 < len(res.Shots) {
			if n := res.Shots[i+1]; n.Transition.Gradual() {
				sh.Avoid = append(sh.Avoid, [2]int{n.TransitionStart, n.TransitionEnd})
			}
		}
		for _, b := range res.Black {
			if b.EndFrame > s.StartFrame && b.StartFrame < s.EndFrame {
				sh.Avoid = append(sh.Avoid, [2]int{b.StartFrame, b.EndFrame - 1})
			}
		}
		out[i] = sh
	}
	return out
}

// Sharpness is the variance of the 4-neighbour Laplacian of the luma of an
// RGB24 image: high for crisp detail, low for blur and flat frames. Values
// compare frames of the same size only. It returns 0 for images smaller than
// 3x3 or with too few bytes.
func Sharpness(width, height int, rgb []byte) float64 {
	if width < 3 || height < 3 || len(rgb) < width*height*3 {
		return 0
	}
	luma := make([]float32, width*height)
	for i := range luma {
		p := rgb[i*3 : i*3+3]
		luma[i] = 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
	}
	var sum, sum2 float64
	n := 0
	for y := 1; y < height-1; y++ {
		row := y * width
		for x := 1; x < width-1; x++ {
			i := row + x
			l := float64(luma[i-1] + luma[i+1] + luma[i-width] + luma[i+width] - 4*luma[i])
			sum += l
			sum2 += l * l
			n++
		}
	}
	mean := sum / float64(n)
	return sum2/float64(n) - mean*mean
}
