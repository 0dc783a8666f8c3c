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
	// mergeMinCover is how much of the smaller box the larger must cover
	// for two items to be in the same place.
	mergeMinCover = 0.5
)

// mergeDuplicates folds the items of each group of mergeGroups into one.
// The merged item keeps the id, label and matches of its best-scoring
// member, spans all of them, and takes its boxes from that member, filling
// its gaps with the others' boxes. The order of the remaining items is
// kept.
func mergeDuplicates(items []shoppable.Item) []shoppable.Item {
	groups := mergeGroups(items)
	out := make([]shoppable.Item, len(groups))
	for i, g := range groups {
		out[i] = mergeItems(items, g)
	}
	return out
}

// mergeGroups groups the items that show one product: items of one shot
// with the same best match: one product is one item per shot, wherever and
// whenever it shows (a track that broke, the person box and a garment
// region of the same outfit, a window over part of it). Items under review (anything but auto) and items without matches are
// left alone. Groups are in the order of their first items, members in
// item order.
func mergeGroups(items []shoppable.Item) [][]int {
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
			if ri, rj := find(i), find(j); ri != rj {
				// The lower index is the root: the group takes the place
				// of its first item.
				parent[max(ri, rj)] = min(ri, rj)
			}
		}
	}
	byRoot := map[int]int{}
	var out [][]int
	for i := range items {
		r := find(i)
		k, ok := byRoot[r]
		if !ok {
			k = len(out)
			byRoot[r] = k
			out = append(out, nil)
		}
		out[k] = append(out[k], i)
	}
	return out
}

// mergeItems folds the items g of items into one (see mergeDuplicates).
func mergeItems(items []shoppable.Item, g []int) shoppable.Item {
	if len(g) == 1 {
		return items[g[0]]
	}
	best := bestOf(items, g)
	m := items[best]
	for _, k := range g {
		m.StartS, m.EndS = math.Min(m.StartS, items[k].StartS), math.Max(m.EndS, items[k].EndS)
	}
	m.Boxes = mergedBoxes(items, g, best)
	return m
}

// mergedBoxes returns the boxes of member from of the group g, its gaps
// filled with the other members' boxes, in time order.
func mergedBoxes(items []shoppable.Item, g []int, from int) []shoppable.Box {
	out := append([]shoppable.Box(nil), items[from].Boxes...)
	for _, k := range g {
		if k == from {
			continue
		}
		for _, b := range items[k].Boxes {
			if !hasBoxNear(items[from].Boxes, b.T) {
				out = append(out, b)
			}
		}
	}
	sort.SliceStable(out, func(x, y int) bool { return out[x].T < out[y].T })
	return out
}

// placedBoxes is mergedBoxes without the boxes of members that were on
// screen at the same time as member from but elsewhere: only tracks in
// its place, or before or after it, fill its gaps.
func placedBoxes(items []shoppable.Item, g []int, from int) []shoppable.Box {
	var kept []int
	for _, k := range g {
		a, b := items[k], items[from]
		if k == from || a.EndS <= b.StartS || a.StartS >= b.EndS || boxesMeet(a.Boxes, b.Boxes, within) {
			kept = append(kept, k)
		}
	}
	return mergedBoxes(items, kept, from)
}

// within reports whether the smaller of two boxes lies mostly inside the
// larger.
func within(p, q shoppable.Box) bool { return cover(p, q) >= mergeMinCover }

// wholeBodyMember returns, when the best-scoring member of g is a garment
// region of a person (frames), the best-scoring member that frames that
// whole person; -1 when there is none. A region is its person's when its
// box spans the person's width and lies within its height at nearly the
// same time: garment regions are cut from person boxes that way, whereas
// a person in the background behind a picture of the product only
// contains it.
func wholeBodyMember(items []shoppable.Item, g []int, frames []trackFrame) int {
	best := bestOf(items, g)
	if frames[best] != frameRegion {
		return -1
	}
	pick := -1
	for _, k := range g {
		if frames[k] != frameWhole || !boxesMeet(items[best].Boxes, items[k].Boxes, regionOf) {
			continue
		}
		if pick < 0 || items[k].Matches[0].Score > items[pick].Matches[0].Score {
			pick = k
		}
	}
	return pick
}

// placeMember returns the member of g whose boxes the item shows: its
// best-scoring member, unless that is a window proposal that lies in the
// place of a member framing a person or a garment region of one (frames):
// then the best-scoring such member, whose box is the garment the window
// caught part of (a window over the hands at a skirt's waistband put the
// hotspot on the hands).
func placeMember(items []shoppable.Item, g []int, frames []trackFrame) int {
	best := bestOf(items, g)
	if frames[best] != frameWindow {
		return best
	}
	pick := best
	for _, k := range g {
		if frames[k] != frameRegion && frames[k] != frameWhole || !boxesMeet(items[best].Boxes, items[k].Boxes, within) {
			continue
		}
		if pick == best || items[k].Matches[0].Score > items[pick].Matches[0].Score {
			pick = k
		}
	}
	return pick
}

// regionOf reports whether box r is a garment region of person box p: the
// same left and right edges and within its top and bottom, to a tenth of
// the person's size (tracks smooth their boxes apart a little).
func regionOf(r, p shoppable.Box) bool {
	tx, ty := 0.1*p.W, 0.1*p.H
	return math.Abs(r.X-p.X) <= tx && math.Abs(r.X+r.W-(p.X+p.W)) <= tx &&
		r.Y >= p.Y-ty && r.Y+r.H <= p.Y+p.H+ty
}

// bestOf returns the member of g whose best match scores highest.
func bestOf(items []shoppable.Item, g []int) int {
	best := g[0]
	for _, k := range g[1:] {
		if items[k].Matches[0].Score > items[best].Matches[0].Score {
			best = k
		}
	}
	return best
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
