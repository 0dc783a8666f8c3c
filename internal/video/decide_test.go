package video

import (
	"reflect"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

func TestDecideItems(t *testing.T) {
	m := &confidence.Model{PublishAt: 0.8, ReviewAt: 0.3}
	box := func(tt, x float64) shoppable.Box { return shoppable.Box{T: tt, X: x, Y: 0.2, W: 0.2, H: 0.4} }
	item := func(id string, shot int, start, end, c float64, product string, x float64) shoppable.Item {
		return shoppable.Item{ID: id, Shot: shot, StartS: start, EndS: end, Review: shoppable.ReviewAuto, Confidence: &c,
			Matches: []shoppable.Match{{ProductID: product, Score: c}}, Boxes: []shoppable.Box{box(start, x)}}
	}
	reviewed := func(it shoppable.Item, review string) shoppable.Item { it.Review = review; return it }
	type want map[string]string // item id -> status; absent: dropped
	for _, tc := range []struct {
		name     string
		items    []shoppable.Item
		hotspots int
		want     want
	}{
		{
			name:  "by confidence",
			items: []shoppable.Item{item("a", 0, 0, 2, 0.9, "p1", 0), item("b", 0, 0, 2, 0.5, "p2", 0.4), item("c", 0, 0, 2, 0.1, "p3", 0.7)},
			want:  want{"a": shoppable.StatusPublished, "b": shoppable.StatusNeedsReview},
		},
		{
			name: "a reviewer's word wins",
			items: []shoppable.Item{reviewed(item("a", 0, 0, 2, 0.1, "p1", 0), shoppable.ReviewApproved),
				reviewed(item("b", 0, 0, 2, 0.95, "p2", 0.4), shoppable.ReviewRejected)},
			want: want{"a": shoppable.StatusPublished, "b": shoppable.StatusNeedsReview},
		},
		{
			name:  "one product per place: the less confident other product goes",
			items: []shoppable.Item{item("a", 0, 0, 2, 0.85, "p1", 0.3), item("b", 0, 0, 2, 0.95, "p2", 0.31)},
			want:  want{"b": shoppable.StatusPublished},
		},
		{
			name:  "the same place in another shot is another place",
			items: []shoppable.Item{item("a", 0, 0, 2, 0.85, "p1", 0.3), item("b", 1, 2, 4, 0.95, "p2", 0.3)},
			want:  want{"a": shoppable.StatusPublished, "b": shoppable.StatusPublished},
		},
		{
			name: "at most two hotspots at once: the least confident waits",
			items: []shoppable.Item{item("a", 0, 0, 4, 0.9, "p1", 0), item("b", 0, 1, 3, 0.95, "p2", 0.3),
				item("c", 0, 2, 4, 0.85, "p3", 0.6), item("d", 0, 3.5, 4, 0.82, "p4", 0.8)},
			hotspots: 2,
			want:     want{"a": shoppable.StatusPublished, "b": shoppable.StatusPublished, "c": shoppable.StatusNeedsReview, "d": shoppable.StatusPublished},
		},
		{
			name:     "no cap",
			items:    []shoppable.Item{item("a", 0, 0, 4, 0.9, "p1", 0), item("b", 0, 0, 4, 0.9, "p2", 0.3), item("c", 0, 0, 4, 0.9, "p3", 0.6)},
			hotspots: 0,
			want:     want{"a": shoppable.StatusPublished, "b": shoppable.StatusPublished, "c": shoppable.StatusPublished},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := want{}
			for _, it := range decideItems(tc.items, m, 0, 0, tc.hotspots) {
				got[it.ID] = it.Status
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// Thresholds given to decide override the calibration's.
	it := item("a", 0, 0, 2, 0.5, "p1", 0)
	if got := decideItems([]shoppable.Item{it}, m, 0.4, 0, 3); len(got) != 1 || got[0].Status != shoppable.StatusPublished {
		t.Errorf("publish threshold 0.4: %+v", got)
	}
}
