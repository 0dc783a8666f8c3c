package video

import (
	"math"
	"sort"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// Duplicate items: what one product on screen becomes when several
// proposals of it (a detector box, a window, the garment region of a
// person and the person) are tracked separately and all match it.
const (
	// mergeMaxDT is how far apart in time two boxes may be to be compared.
	mergeMaxDT = 0.3
	// mergeMinCover is how much of the smaller box the larger must cover.
	mergeMinCover = 0.5
)

// mergeDuplicates folds items of one shot that show the same product in
// the same place into one: the same best match, and overlapping time spans
// with boxes at close times of which the larger covers at least half the
// smaller, or one item continuing the other (itemContinues). The merged
// item keeps the id, label and matches of its best-scoring member, spans
// all of them, and takes its boxes from that member, filling its gaps with
// the others' boxes. Items under review (anything but auto) and items
// without matches are left alone. The order of the remaining items is
// kept.
func mergeDuplicates(items []shoppable.Item) []shoppable.Item {
	parent := make([]int, len(items))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	mergeable := func(it shoppable.Item) bool {
		return len(it.Matches) > 0 && (it.Review == "" || it.Review == shoppable.ReviewAuto)
	}
	for i := range items {
		for j := i + 1; j < len(items); j++ {
			a, b := items[i], items[j]
			if !mergeable(a) || !mergeable(b) || a.Shot != b.Shot || a.Matches[0].ProductID != b.Matches[0].ProductID {
				continue
			}
			overlap := a.StartS < b.EndS && b.StartS < a.EndS && sharePlace(a.Boxes, b.Boxes)
			if !overlap && !itemContinues(a, b) && !itemContinues(b, a) {
				continue
			}
			if ri, rj := find(i), find(j); ri != rj {
				// The lower index is the root: the group takes the place
				// of its first item.
				parent[max(ri, rj)] = min(ri, rj)
			}
		}
	}
	groups := map[int][]int{}
	for i := range items {
		groups[find(i)] = append(groups[find(i)], i)
	}
	out := make([]shoppable.Item, 0, len(groups))
	for i := range items {
		g, ok := groups[i]
		if !ok {
			continue // not a group root
		}
		if len(g) == 1 {
			out = append(out, items[i])
			continue
		}
		best := g[0]
		for _, k := range g[1:] {
			if items[k].Matches[0].Score > items[best].Matches[0].Score {
				best = k
			}
		}
		m := items[best]
		m.Boxes = append([]shoppable.Box(nil), m.Boxes...)
		for _, k := range g {
			m.StartS, m.EndS = math.Min(m.StartS, items[k].StartS), math.Max(m.EndS, items[k].EndS)
			if k == best {
				continue
			}
			for _, b := range items[k].Boxes {
				if !hasBoxNear(items[best].Boxes, b.T) {
					m.Boxes = append(m.Boxes, b)
				}
			}
		}
		sort.SliceStable(m.Boxes, func(x, y int) bool { return m.Boxes[x].T < m.Boxes[y].T })
		out = append(out, m)
	}
	return out
}

// itemContinues reports whether b continues a: b's first box continues a's
// last (see continues), as when one product's track broke and was
// stitched (Service.stitchTracks).
func itemContinues(a, b shoppable.Item) bool {
	if len(a.Boxes) == 0 || len(b.Boxes) == 0 {
		return false
	}
	last, first := a.Boxes[len(a.Boxes)-1], b.Boxes[0]
	return continues(corners(last), corners(first), first.T-last.T)
}

// sharePlace reports whether two box tracks show the same place at close
// times: the larger box covers at least mergeMinCover of the smaller.
func sharePlace(a, b []shoppable.Box) bool {
	for _, p := range a {
		for _, q := range b {
			if math.Abs(p.T-q.T) <= mergeMaxDT && cover(p, q) >= mergeMinCover {
				return true
			}
		}
	}
	return false
}

// cover is the intersection of two boxes over the area of the smaller.
func cover(p, q shoppable.Box) float64 {
	w := math.Min(p.X+p.W, q.X+q.W) - math.Max(p.X, q.X)
	h := math.Min(p.Y+p.H, q.Y+q.H) - math.Max(p.Y, q.Y)
	small := math.Min(p.W*p.H, q.W*q.H)
	if w <= 0 || h <= 0 || small <= 0 {
		return 0
	}
	return w * h / small
}

// hasBoxNear reports whether bs has a box within mergeMaxDT/2 of t.
func hasBoxNear(bs []shoppable.Box, t float64) bool {
	for _, b := range bs {
		if math.Abs(b.T-t) <= mergeMaxDT/2 {
			return true
		}
	}
	return false
}
