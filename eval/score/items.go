package score

import (
	"math"
	"sort"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// ItemOptions tunes the item scorer.
type ItemOptions struct {
	// K is the rank within which the right product must be for an item to
	// count as found (default 5).
	K int
	// MinScore ignores matches scoring below it (default 0: keep all).
	MinScore float64
	// TimeTolerance is how far, in seconds, each end of the span of the
	// predicted items that find an item may be from the true one for the
	// item to count as Timed (default 1).
	TimeTolerance float64
}

// ItemResult is the outcome for one true item.
type ItemResult struct {
	ProductID string  `json:"product_id"`
	StartS    float64 `json:"start_s"`
	EndS      float64 `json:"end_s"`
	// Rank is the best 1-based rank of the product among the matches of
	// predicted items overlapping the item in time; 0 when absent.
	Rank  int  `json:"rank"`
	Found bool `json:"found"`
	// Timed is set when the item is found and the union of the spans of
	// the predicted items that find it starts and ends within
	// TimeTolerance of the true span.
	Timed bool `json:"timed"`
	// PredStartS and PredEndS bound the spans of the predicted items that
	// find the item (zero when it is not found).
	PredStartS float64 `json:"pred_start_s,omitempty"`
	PredEndS   float64 `json:"pred_end_s,omitempty"`
	TimeIoU    float64 `json:"time_iou"`
	BoxIoU     float64 `json:"box_iou"`
}

// ItemScore aggregates the item-level scores of one or more videos.
type ItemScore struct {
	K          int `json:"k"`
	TruthItems int `json:"truth_items"`
	PredItems  int `json:"pred_items"`
	Found      int `json:"found"`
	// FoundRate is Found / TruthItems: the item was on screen and a
	// predicted item overlapping it in time had the right product in its
	// top K.
	FoundRate float64 `json:"found_rate"`
	// Timed counts found items whose predicted span is right to within
	// the time tolerance at both ends; TimedRate is Timed / TruthItems.
	Timed     int     `json:"timed"`
	TimedRate float64 `json:"timed_rate"`
	// Top1, Top5 and Top10 are retrieval hit rates: the share of true items
	// whose product ranks within 1, 5 or 10.
	Top1  float64 `json:"top1"`
	Top5  float64 `json:"top5"`
	Top10 float64 `json:"top10"`
	// MeanTimeIoU averages, over found items, the time IoU between the true
	// span and the union of spans of the predicted items that found it.
	MeanTimeIoU float64 `json:"mean_time_iou"`
	// MeanBoxIoU averages the IoU of every predicted box of a finding item
	// against the true box at the same time; BoxIoU50 is the share of those
	// boxes with IoU >= 0.5.
	MeanBoxIoU float64 `json:"mean_box_iou"`
	BoxIoU50   float64 `json:"box_iou50"`
	BoxPairs   int     `json:"box_pairs"`
	// MatchedItems counts predicted items with a product; Precision is the
	// share of them whose top-1 product is a true item overlapping them in
	// time (1 when there are none).
	MatchedItems int     `json:"matched_items"`
	Precision    float64 `json:"precision"`
	// FalseMatches counts predicted items whose top-1 product is not a true
	// item overlapping them in time; per minute of video.
	FalseMatches       int          `json:"false_matches"`
	FalseMatchesPerMin float64      `json:"false_matches_per_min"`
	DurationS          float64      `json:"duration_s"`
	PerItem            []ItemResult `json:"per_item,omitempty"`

	hit1, hit5, hit10     int
	sumTimeIoU, sumBoxIoU float64
	box50                 int
}

// Items scores the predicted items of one video against its ground truth.
func Items(truth *groundtruth.Video, pred *Prediction, opt ItemOptions) ItemScore {
	if opt.K <= 0 {
		opt.K = 5
	}
	if opt.TimeTolerance <= 0 {
		opt.TimeTolerance = 1
	}
	s := ItemScore{K: opt.K, TruthItems: len(truth.Items), DurationS: truth.DurationS()}
	if s.DurationS == 0 && pred != nil {
		s.DurationS = pred.Video.DurationS
	}
	var items []PredItem
	if pred != nil {
		items = pred.Items
	}
	s.PredItems = len(items)
	for _, t := range truth.Items {
		r := ItemResult{ProductID: t.ProductID, StartS: t.StartS, EndS: t.EndS}
		var spans [][2]float64
		var boxSum float64
		var boxN int
		for _, p := range items {
			if !overlaps(t.StartS, t.EndS, p.StartS, p.EndS) {
				continue
			}
			rank := rankOf(p.Matches, t.ProductID, opt.MinScore)
			if rank == 0 {
				continue
			}
			if r.Rank == 0 || rank < r.Rank {
				r.Rank = rank
			}
			if rank > opt.K {
				continue
			}
			spans = append(spans, [2]float64{p.StartS, p.EndS})
			for _, pb := range p.Boxes {
				tb, ok := t.BoxAt(pb.T)
				if !ok {
					continue
				}
				iou := BoxIoU(tb.X, tb.Y, tb.W, tb.H, pb.X, pb.Y, pb.W, pb.H)
				boxSum += iou
				boxN++
				s.sumBoxIoU += iou
				s.BoxPairs++
				if iou >= 0.5 {
					s.box50++
				}
			}
		}
		if r.Rank >= 1 && r.Rank <= opt.K {
			r.Found = true
			s.Found++
			r.TimeIoU = timeIoU([2]float64{t.StartS, t.EndS}, spans)
			s.sumTimeIoU += r.TimeIoU
			start, end := math.Inf(1), math.Inf(-1)
			for _, sp := range spans {
				start, end = math.Min(start, sp[0]), math.Max(end, sp[1])
			}
			r.PredStartS, r.PredEndS = start, end
			if math.Abs(start-t.StartS) <= opt.TimeTolerance && math.Abs(end-t.EndS) <= opt.TimeTolerance {
				r.Timed = true
				s.Timed++
			}
		}
		if boxN > 0 {
			r.BoxIoU = boxSum / float64(boxN)
		}
		if r.Rank == 1 {
			s.hit1++
		}
		if r.Rank >= 1 && r.Rank <= 5 {
			s.hit5++
		}
		if r.Rank >= 1 && r.Rank <= 10 {
			s.hit10++
		}
		s.PerItem = append(s.PerItem, r)
	}
	for _, p := range items {
		top := ""
		for _, m := range p.Matches {
			if m.Score >= opt.MinScore {
				top = m.ProductID
				break
			}
		}
		if top == "" {
			continue // no match kept: not a claim about any product
		}
		s.MatchedItems++
		ok := false
		for _, t := range truth.Items {
			if t.ProductID == top && overlaps(t.StartS, t.EndS, p.StartS, p.EndS) {
				ok = true
				break
			}
		}
		if !ok {
			s.FalseMatches++
		}
	}
	s.finish()
	return s
}

// Merge sums other into s (for totals over several videos). Per-item
// results are concatenated.
func (s *ItemScore) Merge(other ItemScore) {
	if s.K == 0 {
		s.K = other.K
	}
	s.TruthItems += other.TruthItems
	s.PredItems += other.PredItems
	s.Found += other.Found
	s.Timed += other.Timed
	s.BoxPairs += other.BoxPairs
	s.FalseMatches += other.FalseMatches
	s.MatchedItems += other.MatchedItems
	s.DurationS += other.DurationS
	s.PerItem = append(s.PerItem, other.PerItem...)
	s.hit1 += other.hit1
	s.hit5 += other.hit5
	s.hit10 += other.hit10
	s.sumTimeIoU += other.sumTimeIoU
	s.sumBoxIoU += other.sumBoxIoU
	s.box50 += other.box50
	s.finish()
}

func (s *ItemScore) finish() {
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	s.FoundRate = ratio(s.Found, s.TruthItems)
	s.TimedRate = ratio(s.Timed, s.TruthItems)
	s.Top1 = ratio(s.hit1, s.TruthItems)
	s.Top5 = ratio(s.hit5, s.TruthItems)
	s.Top10 = ratio(s.hit10, s.TruthItems)
	s.MeanTimeIoU, s.MeanBoxIoU = 0, 0
	if s.Found > 0 {
		s.MeanTimeIoU = s.sumTimeIoU / float64(s.Found)
	}
	if s.BoxPairs > 0 {
		s.MeanBoxIoU = s.sumBoxIoU / float64(s.BoxPairs)
	}
	s.BoxIoU50 = ratio(s.box50, s.BoxPairs)
	s.Precision = 1
	if s.MatchedItems > 0 {
		s.Precision = ratio(s.MatchedItems-s.FalseMatches, s.MatchedItems)
	}
	s.FalseMatchesPerMin = 0
	if s.DurationS > 0 {
		s.FalseMatchesPerMin = float64(s.FalseMatches) / (s.DurationS / 60)
	}
}

// rankOf returns the 1-based rank of id among matches scoring at least
// minScore, or 0.
func rankOf(ms []Match, id string, minScore float64) int {
	rank := 0
	for _, m := range ms {
		if m.Score < minScore {
			continue
		}
		rank++
		if m.ProductID == id {
			return rank
		}
	}
	return 0
}

// overlaps reports whether a predicted span [p0, p1] meets the true span
// [t0, t1). A prediction seen in a single frame has p0 == p1 and counts
// when that instant lies inside the true span.
func overlaps(t0, t1, p0, p1 float64) bool {
	if p1 <= p0 {
		return t0 <= p0 && p0 < t1
	}
	return overlap(t0, t1, p0, p1) > 0
}

func overlap(a0, a1, b0, b1 float64) float64 {
	return math.Min(a1, b1) - math.Max(a0, b0)
}

// timeIoU is |truth ∩ ∪spans| / |truth ∪ ∪spans|.
func timeIoU(truth [2]float64, spans [][2]float64) float64 {
	if len(spans) == 0 {
		return 0
	}
	u := unionSpans(spans)
	var inter float64
	for _, s := range u {
		if o := overlap(truth[0], truth[1], s[0], s[1]); o > 0 {
			inter += o
		}
	}
	var all float64
	for _, s := range unionSpans(append(u, truth)) {
		all += s[1] - s[0]
	}
	if all <= 0 {
		return 0
	}
	return inter / all
}

func unionSpans(spans [][2]float64) [][2]float64 {
	s := append([][2]float64(nil), spans...)
	sort.Slice(s, func(i, j int) bool { return s[i][0] < s[j][0] })
	var out [][2]float64
	for _, x := range s {
		if x[1] <= x[0] {
			continue
		}
		if n := len(out); n > 0 && x[0] <= out[n-1][1] {
			out[n-1][1] = math.Max(out[n-1][1], x[1])
			continue
		}
		out = append(out, x)
	}
	return out
}

// BoxIoU is the intersection over union of two boxes given as x, y, w, h.
func BoxIoU(ax, ay, aw, ah, bx, by, bw, bh float64) float64 {
	iw := math.Min(ax+aw, bx+bw) - math.Max(ax, bx)
	ih := math.Min(ay+ah, by+bh) - math.Max(ay, by)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	u := aw*ah + bw*bh - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}
