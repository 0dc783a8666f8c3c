package video

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// Broken tracks: the tracker loses a product for a sample or two (motion
// blur, a pass behind something, a detector box that jumps to a different
// class) and picks it up again as a new track. The new track has fewer and
// worse crops than the whole would have had, and often misses the match
// gate on its own, so the product's time span ends early. A track that
// starts where and soon after a matched track ended (or ends where and
// just before one started) and whose own crops support that track's best
// product continues it.
const (
	// stitchMaxGap is the most time, in seconds, between the last
	// detection of one track and the first of the track that continues
	// it: two samples at the default 2 frames/s.
	stitchMaxGap = 1.0
	// stitchMaxArea is the largest ratio of the two junction boxes' areas.
	stitchMaxArea = 4.0
)

// continues reports whether box b, seen dt seconds after box a, can be the
// same object: the gap is short, b's centre is within the larger box's
// longer side of a's, and neither is more than stitchMaxArea times the
// other. Boxes are normalised x0, y0, x1, y1.
func continues(a, b [4]float64, dt float64) bool {
	if dt < 0 || dt > stitchMaxGap {
		return false
	}
	aw, ah, bw, bh := a[2]-a[0], a[3]-a[1], b[2]-b[0], b[3]-b[1]
	areaA, areaB := aw*ah, bw*bh
	if areaA <= 0 || areaB <= 0 || math.Max(areaA, areaB) > stitchMaxArea*math.Min(areaA, areaB) {
		return false
	}
	dx, dy := (a[0]+a[2]-b[0]-b[2])/2, (a[1]+a[3]-b[1]-b[3])/2
	return math.Hypot(dx, dy) <= math.Max(math.Max(aw, ah), math.Max(bw, bh))
}

// corners converts an item box to x0, y0, x1, y1.
func corners(b shoppable.Box) [4]float64 {
	return [4]float64{b.X, b.Y, b.X + b.W, b.Y + b.H}
}

// trackDetections returns the tracked detections of a video by track, each
// track's in time order.
func (s *Service) trackDetections(ctx context.Context, id string) (map[int][]detRow, error) {
	dets, err := s.loadDetections(ctx, id)
	if err != nil {
		return nil, err
	}
	byTrack := map[int][]detRow{}
	for _, d := range dets {
		if d.TrackID > 0 {
			byTrack[d.TrackID] = append(byTrack[d.TrackID], d)
		}
	}
	for _, ds := range byTrack {
		sort.SliceStable(ds, func(i, j int) bool { return ds[i].T < ds[j].T })
	}
	return byTrack, nil
}

// stitchTracks gives each unmatched track that continues a matched track of
// the same shot the matches of that track (see stitch), using the matcher's
// Support of each crop. It returns, for each track stitched, the track
// whose matches it took.
func stitchTracks(ctx context.Context, m *match.Matcher, tracks map[int][]detRow, matches map[int][]shoppable.Match) (map[int]int, error) {
	return stitch(tracks, matches, func(vec []float32, product string) (bool, error) {
		z, err := m.Support(ctx, vec, product)
		return z >= m.MinSupportZ(), err
	})
}

// stitch gives each unmatched track of byTrack (detections in time order)
// that continues a matched track of the same shot (see continues, at either
// end) the matches of that track, when at least half of its own crops
// support the matched product. A stitched track can in turn pass the
// matches on. It returns, for each track stitched, the track whose matches
// it took.
func stitch(byTrack map[int][]detRow, matches map[int][]shoppable.Match, supports func(vec []float32, product string) (bool, error)) (map[int]int, error) {
	// joined reports whether track u continues track t, or t continues u.
	joined := func(t, u []detRow) bool {
		if len(t) == 0 || len(u) == 0 || t[0].Shot != u[0].Shot {
			return false
		}
		tl, ul := t[len(t)-1], u[len(u)-1]
		return continues(tl.Box, u[0].Box, u[0].T-tl.T) || continues(ul.Box, t[0].Box, t[0].T-ul.T)
	}
	// supported tells, once per track and product, whether at least half
	// of the track's crops support the product.
	type key struct {
		track   int
		product string
	}
	verdicts := map[key]bool{}
	supported := func(tid int, product string) (bool, error) {
		k := key{tid, product}
		if v, ok := verdicts[k]; ok {
			return v, nil
		}
		n, yes := 0, 0
		for _, d := range byTrack[tid] {
			if len(d.Embedding) == 0 {
				continue
			}
			ok, err := supports(d.Embedding, product)
			if err != nil {
				return false, fmt.Errorf("track %d: %w", tid, err)
			}
			n++
			if ok {
				yes++
			}
		}
		v := n > 0 && 2*yes >= n
		verdicts[k] = v
		return v, nil
	}
	stitched := map[int]int{}
	ids := sortedKeys(byTrack)
	for changed := true; changed; {
		changed = false
		for _, u := range ids {
			if len(matches[u]) > 0 {
				continue
			}
			for _, t := range ids {
				if len(matches[t]) == 0 || !joined(byTrack[t], byTrack[u]) {
					continue
				}
				ok, err := supported(u, matches[t][0].ProductID)
				if err != nil {
					return stitched, err
				}
				if ok {
					matches[u] = append([]shoppable.Match(nil), matches[t]...)
					stitched[u] = t
					changed = true
					break
				}
			}
		}
	}
	return stitched, nil
}
