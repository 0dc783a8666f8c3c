package video

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// evidenceInput is what trackEvidence reads.
type evidenceInput struct {
	results  map[int]match.Result
	matches  map[int][]shoppable.Match
	stitched map[int]int // stitched track -> the track whose matches it took
	tracks   map[int][]detRow
	support  map[int]float64
	spans    map[int][2]float64
}

// trackEvidence gathers, for every matched track, the features its
// confidence is computed from (internal/confidence): how the best product
// scored against the others, how much of the track supports it, how long
// and with what kind of boxes it was seen.
func (s *Service) trackEvidence(ctx context.Context, in evidenceInput) (map[int]confidence.Features, error) {
	var ids []string
	for _, ms := range in.matches {
		if len(ms) > 0 {
			ids = append(ids, ms[0].ProductID)
		}
	}
	sort.Strings(ids)
	info, err := s.deps.Catalog.ProductInfo(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("evidence: product info: %w", err)
	}
	out := map[int]confidence.Features{}
	for _, tid := range sortedKeys(in.matches) {
		ms := in.matches[tid]
		if len(ms) == 0 {
			continue
		}
		// Stitched is 0 as well as 1: a feature a sample lacks counts as
		// average.
		f := confidence.Features{confidence.Stitched: 0}
		src := tid
		if from, ok := in.stitched[tid]; ok {
			// A stitched track's own crops missed the gate; the match is
			// the continued track's, and so is that evidence.
			f[confidence.Stitched] = 1
			for {
				next, ok := in.stitched[from]
				if !ok {
					break
				}
				from = next
			}
			src = from
		}
		if r, ok := in.results[src]; ok && len(r.Matches) > 0 {
			best := r.Matches[0]
			f[confidence.Score] = best.Score
			f[confidence.Z] = best.Z
			f[confidence.Cosine] = best.Cosine
			f[confidence.AppearanceZ] = best.AppearanceZ
			f[confidence.AppearanceCosine] = best.AppearanceCosine
			f[confidence.ProjectedZ] = best.ProjectedZ
			f[confidence.ProjectedCosine] = best.ProjectedCosine
			f[confidence.Colour] = best.Colour
			if r.Crops > 0 {
				f[confidence.Votes] = float64(best.Votes) / float64(r.Crops)
				f[confidence.Crops] = math.Log1p(float64(r.Crops))
			}
			if len(r.Matches) > 1 {
				f[confidence.Margin] = best.Score - r.Matches[1].Score
				f[confidence.ZMargin] = best.Z - r.Matches[1].Z
				f[confidence.ProjectedZMargin] = best.ProjectedZ - r.Matches[1].ProjectedZ
			} else {
				f[confidence.Margin] = best.Score
				f[confidence.ZMargin] = best.Z
				f[confidence.ProjectedZMargin] = best.ProjectedZ
			}
		}
		f[confidence.Support] = in.support[tid]
		dets := in.tracks[tid]
		if len(dets) > 0 {
			labels := map[string]int{}
			kinds := map[string]float64{}
			var scoreSum float64
			areas := make([]float64, 0, len(dets))
			for _, d := range dets {
				scoreSum += d.Score
				areas = append(areas, (d.Box[2]-d.Box[0])*(d.Box[3]-d.Box[1]))
				kinds[boxKind(d)]++
				labels[d.Label]++
			}
			label := ""
			for _, d := range dets { // detection order keeps ties deterministic
				if labels[d.Label] > labels[label] {
					label = d.Label
				}
			}
			n := float64(len(dets))
			for _, k := range []string{confidence.FromWindow, confidence.FromPerson, confidence.FromGarment, confidence.FromObject, confidence.FromOther} {
				f[k] = kinds[k] / n
			}
			sort.Float64s(areas)
			f[confidence.Area] = math.Sqrt(max(areas[len(areas)/2], 0))
			f[confidence.DetScore] = scoreSum / n
			f[confidence.Detections] = math.Log1p(n)
			start, end := dets[0].T, dets[len(dets)-1].T
			if sp, ok := in.spans[tid]; ok {
				start, end = sp[0], sp[1]
			}
			f[confidence.Duration] = math.Log1p(max(end-start, 0))
			if p, ok := info[ms[0].ProductID]; ok && p.Category != "" {
				f[confidence.Category] = match.CategoryCompatibility(label, p.Category)
			}
		}
		out[tid] = f
	}
	return out, nil
}

// boxKind names the kind of box a detection is (a confidence feature).
func boxKind(d detRow) string {
	switch {
	case d.Source == SourceGarment:
		return confidence.FromGarment
	case d.Source == SourceDetector:
		return confidence.FromObject
	case d.Label == LabelWindow:
		return confidence.FromWindow
	case strings.EqualFold(d.Label, "person"):
		return confidence.FromPerson
	}
	return confidence.FromOther
}
