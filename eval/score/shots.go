package score

import (
	"math"
	"sort"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// Boundary kinds used by the shot scorer.
const (
	KindCut     = "cut"
	KindGradual = "gradual"
)

// Boundary is a shot boundary: the first frame of a new shot. For a gradual
// transition Lo..Hi is the frame span of the transition; for a cut Lo = Hi =
// Frame.
type Boundary struct {
	Frame int    `json:"frame"`
	Lo    int    `json:"lo"`
	Hi    int    `json:"hi"`
	Kind  string `json:"kind"`
	// Transition is the finer label when known: cut, fade, dissolve or wipe.
	Transition string `json:"transition,omitempty"`
}

// PR holds counts and rates of a detection task.
//
// Conventions for empty sets: precision is 1 when nothing was predicted
// (no false positive was made) and recall is 1 when there was nothing to find;
// F1 is 0 when both precision and recall are 0.
type PR struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

func (p *PR) finish() {
	p.Precision, p.Recall = 1, 1
	if p.TP+p.FP > 0 {
		p.Precision = float64(p.TP) / float64(p.TP+p.FP)
	}
	if p.TP+p.FN > 0 {
		p.Recall = float64(p.TP) / float64(p.TP+p.FN)
	}
	p.F1 = 0
	if p.Precision+p.Recall > 0 {
		p.F1 = 2 * p.Precision * p.Recall / (p.Precision + p.Recall)
	}
}

// add sums the counts of q into p and recomputes the rates.
func (p *PR) add(q PR) {
	p.TP += q.TP
	p.FP += q.FP
	p.FN += q.FN
	p.finish()
}

// ShotScore is the result of scoring shot boundaries: cuts and gradual
// transitions each against boundaries of their own kind, and All ignoring
// the kind.
type ShotScore struct {
	ToleranceFrames int `json:"tolerance_frames"`
	Cut             PR  `json:"cut"`
	Gradual         PR  `json:"gradual"`
	All             PR  `json:"all"`
}

// Add sums the counts of other into s (for totals over several videos).
func (s *ShotScore) Add(other ShotScore) {
	s.Cut.add(other.Cut)
	s.Gradual.add(other.Gradual)
	s.All.add(other.All)
	if other.ToleranceFrames > s.ToleranceFrames {
		s.ToleranceFrames = other.ToleranceFrames
	}
}

// TruthBoundaries lists the shot boundaries of a ground truth video.
func TruthBoundaries(v *groundtruth.Video) []Boundary {
	var out []Boundary
	for _, s := range v.Boundaries() {
		b := Boundary{Frame: s.StartFrame, Lo: s.StartFrame, Hi: s.StartFrame, Kind: KindCut, Transition: s.TransitionIn}
		if s.TransitionIn == groundtruth.TransitionFade || s.TransitionIn == groundtruth.TransitionDissolve || s.TransitionIn == groundtruth.TransitionWipe {
			b.Kind = KindGradual
			if len(s.TransitionFrames) == 2 {
				b.Lo, b.Hi = s.TransitionFrames[0], s.TransitionFrames[1]
			}
		}
		out = append(out, b)
	}
	return out
}

// CutBoundaries turns a list of cut frames (PySceneDetect golden style) into
// boundaries.
func CutBoundaries(frames []int) []Boundary {
	out := make([]Boundary, len(frames))
	for i, f := range frames {
		out[i] = Boundary{Frame: f, Lo: f, Hi: f, Kind: KindCut}
	}
	return out
}

// PredBoundaries lists the boundaries of a predicted document: the start of
// every shot but the first, converted to a frame number at fps. Transitions
// named fade, dissolve or gradual count as gradual, anything else as a cut.
func PredBoundaries(p *Prediction, fps float64) []Boundary {
	shots := append([]PredShot(nil), p.Shots...)
	sort.SliceStable(shots, func(i, j int) bool { return shots[i].StartS < shots[j].StartS })
	var out []Boundary
	for i, s := range shots {
		if i == 0 {
			continue
		}
		f := int(math.Round(s.StartS * fps))
		kind := KindCut
		switch s.Transition {
		case "fade", "dissolve", "gradual", "wipe":
			kind = KindGradual
		}
		out = append(out, Boundary{Frame: f, Lo: f, Hi: f, Kind: kind, Transition: s.Transition})
	}
	return out
}

// Shots scores predicted boundaries against the truth. A predicted boundary
// matches a true one when its frame lies within the true span widened by tol
// frames on each side; each boundary matches at most once, closest pairs
// first.
func Shots(truth, pred []Boundary, tol int) ShotScore {
	if tol < 0 {
		tol = 0
	}
	s := ShotScore{ToleranceFrames: tol}
	s.Cut = matchBoundaries(filterKind(truth, KindCut), filterKind(pred, KindCut), tol)
	s.Gradual = matchBoundaries(filterKind(truth, KindGradual), filterKind(pred, KindGradual), tol)
	s.All = matchBoundaries(truth, pred, tol)
	return s
}

func filterKind(bs []Boundary, kind string) []Boundary {
	var out []Boundary
	for _, b := range bs {
		if b.Kind == kind {
			out = append(out, b)
		}
	}
	return out
}

func matchBoundaries(truth, pred []Boundary, tol int) PR {
	var r PR
	for _, p := range MatchBoundaries(truth, pred, tol) {
		if p >= 0 {
			r.TP++
		}
	}
	r.FN = len(truth) - r.TP
	r.FP = len(pred) - r.TP
	r.finish()
	return r
}

// MatchBoundaries pairs predicted boundaries with true ones of any kind as
// Shots does and returns, for each true boundary, the index of its
// predicted boundary or -1.
func MatchBoundaries(truth, pred []Boundary, tol int) []int {
	tol = max(tol, 0)
	type pair struct{ d, t, p int }
	var pairs []pair
	for ti, t := range truth {
		lo, hi := min(t.Lo, t.Frame), max(t.Hi, t.Frame)
		for pi, p := range pred {
			d := 0
			if p.Frame < lo {
				d = lo - p.Frame
			} else if p.Frame > hi {
				d = p.Frame - hi
			}
			if d <= tol {
				pairs = append(pairs, pair{d, ti, pi})
			}
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		a, b := pairs[i], pairs[j]
		if a.d != b.d {
			return a.d < b.d
		}
		if a.t != b.t {
			return a.t < b.t
		}
		return a.p < b.p
	})
	match := make([]int, len(truth))
	for i := range match {
		match[i] = -1
	}
	usedP := make([]bool, len(pred))
	for _, pr := range pairs {
		if match[pr.t] >= 0 || usedP[pr.p] {
			continue
		}
		match[pr.t], usedP[pr.p] = pr.p, true
	}
	return match
}
