package videosearch

import (
	"fmt"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

func doc(id string, items ...shoppable.Item) *shoppable.Document {
	return &shoppable.Document{Video: shoppable.Video{ID: id}, Items: items}
}

func item(id, label string, start, end float64, review, chosen string, matches ...string) shoppable.Item {
	it := shoppable.Item{ID: id, Label: label, StartS: start, EndS: end, Review: review, ProductID: chosen}
	for i, m := range matches {
		it.Matches = append(it.Matches, shoppable.Match{ProductID: m, Score: 0.8 - 0.1*float64(i)})
	}
	return it
}

func TestFind(t *testing.T) {
	docs := []*shoppable.Document{
		doc("v1",
			item("t1", "handbag", 4, 6, shoppable.ReviewAuto, "", "bag1", "bag2"),
			item("t2", "handbag", 1, 2, shoppable.ReviewApproved, "bag1", "bag1"),
			item("t3", "cup", 0, 9, shoppable.ReviewAuto, "", "mug")),
		doc("v2",
			item("t1", "handbag", 0, 3, shoppable.ReviewRejected, "", "bag1"),
			item("t2", "backpack", 3, 5, shoppable.ReviewReplaced, "bag1", "pack")),
		doc("v3", item("t1", "cell phone", 2, 3, shoppable.ReviewAuto, "")),
		doc("v4", item("t1", "t-shirt", 1, 4, shoppable.ReviewAuto, "")),
		nil,
	}
	type rng struct {
		item string
		at   float64
	}
	for _, tc := range []struct {
		name string
		q    Query
		want map[string][]rng // video -> ranges in order
		best string
	}{
		{
			name: "product id, review aware",
			q:    Query{Products: map[string]float64{"bag1": 1}},
			want: map[string][]rng{"v1": {{"t2", 1}, {"t1", 4}}, "v2": {{"t2", 3}}},
			best: "v1",
		},
		{
			name: "second-ranked match is not an appearance",
			q:    Query{Products: map[string]float64{"bag2": 1}},
			want: map[string][]rng{},
		},
		{
			name: "label words",
			q:    Query{Words: []string{"Phone"}},
			want: map[string][]rng{"v3": {{"t1", 2}}},
			best: "v3",
		},
		{
			name: "hyphenated label and query",
			q:    Query{Words: []string{"T-Shirt"}},
			want: map[string][]rng{"v4": {{"t1", 1}}},
			best: "v4",
		},
		{
			name: "one-letter words match nothing",
			q:    Query{Words: []string{"t", "a"}},
			want: map[string][]rng{},
		},
		{
			name: "products and labels together",
			q:    Query{Products: map[string]float64{"mug": 0.5}, Words: []string{"backpack"}},
			want: map[string][]rng{"v1": {{"t3", 0}}, "v2": {{"t2", 3}}},
			best: "v2",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits := Find(docs, tc.q)
			if len(hits) != len(tc.want) {
				t.Fatalf("%d videos, want %d: %+v", len(hits), len(tc.want), hits)
			}
			if tc.best != "" && hits[0].VideoID != tc.best {
				t.Errorf("best video %s, want %s", hits[0].VideoID, tc.best)
			}
			for _, h := range hits {
				want := tc.want[h.VideoID]
				if len(h.Ranges) != len(want) {
					t.Fatalf("%s: ranges %+v, want %+v", h.VideoID, h.Ranges, want)
				}
				for i, r := range h.Ranges {
					if r.ItemID != want[i].item || r.StartS != want[i].at {
						t.Errorf("%s range %d: %s at %g, want %s at %g", h.VideoID, i, r.ItemID, r.StartS, want[i].item, want[i].at)
					}
				}
			}
		})
	}
}

// BenchmarkFind searches 1,000 documents of 50 items each, what a search
// request scans on an installation of that size.
func BenchmarkFind(b *testing.B) {
	var docs []*shoppable.Document
	for v := range 1000 {
		d := doc(fmt.Sprintf("v%d", v))
		for i := range 50 {
			d.Items = append(d.Items, item(fmt.Sprintf("t%d", i), "handbag", float64(i), float64(i)+1, shoppable.ReviewAuto, "", fmt.Sprintf("p%d", (v*50+i)%5000)))
		}
		docs = append(docs, d)
	}
	q := Query{Products: map[string]float64{"p1": 1, "p42": 0.5, "p4999": 0.7}, Words: []string{"umbrella"}}
	b.ReportAllocs()
	for b.Loop() {
		Find(docs, q)
	}
}
