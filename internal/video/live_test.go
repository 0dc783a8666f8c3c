package video

import (
	"fmt"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

func liveItem(id, product string, conf float64) shoppable.Item {
	return shoppable.Item{ID: id, Matches: []shoppable.Match{{ProductID: product, Score: 0.5}}, Confidence: &conf}
}

func TestNewProducts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		starts    []shoppable.Item
		announced map[string]bool
		want      string
	}{
		{"one per product, the most confident", []shoppable.Item{liveItem("t1", "a", 0.7), liveItem("t2", "a", 0.9), liveItem("t3", "b", 0.8)}, nil, "[t2:a t3:b]"},
		{"ties to the lower id", []shoppable.Item{liveItem("t5", "a", 0.8), liveItem("t4", "a", 0.8)}, nil, "[t4:a]"},
		{"a product announced already waits", []shoppable.Item{liveItem("t1", "a", 0.9), liveItem("t2", "b", 0.7)}, map[string]bool{"a": true}, "[t2:b]"},
		{"none", nil, map[string]bool{"a": true}, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, it := range newProducts(tc.starts, tc.announced) {
				got = append(got, it.ID+":"+it.Product())
			}
			if s := fmt.Sprint(got); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
			if tc.announced != nil && len(tc.announced) != 1 {
				t.Errorf("announced changed: %v", tc.announced)
			}
		})
	}
}

// TestLiveEndCarriesOn checks that an announced item outlives its track
// while another open track shows the same product, and ends with the last.
func TestLiveEndCarriesOn(t *testing.T) {
	a := &LiveAnalyzer{tracks: map[int]*liveTrack{}}
	it1, it2, it3 := liveItem("t1", "a", 0.9), liveItem("t2", "a", 0.8), liveItem("t3", "b", 0.8)
	a.tracks[1] = &liveTrack{item: &it1, announced: &LiveItem{ID: "t1", ProductID: "a"}}
	a.tracks[2] = &liveTrack{item: &it2}
	a.tracks[3] = &liveTrack{item: &it3}
	if ev := a.end(1, 5); len(ev) != 0 {
		t.Fatalf("track 1 ended while track 2 shows its product: %+v", ev)
	}
	if got := a.tracks[2].announced; got == nil || got.ID != "t1" {
		t.Fatalf("track 2 carries %+v, want item t1", got)
	}
	if a.tracks[3].announced != nil {
		t.Error("a track of another product took the item")
	}
	ev := a.end(2, 7)
	if len(ev) != 1 || ev[0].Type != LiveItemEnd || ev[0].Item.ID != "t1" || ev[0].Item.T != 7 {
		t.Fatalf("the last track of the product ended with %+v, want item.end of t1 at 7", ev)
	}
	if ev := a.end(3, 8); len(ev) != 0 {
		t.Errorf("a track never announced ended with %+v", ev)
	}
}

// TestAnnounceable checks which published live items may be announced.
func TestAnnounceable(t *testing.T) {
	a := &LiveAnalyzer{cfg: LiveConfig{Confirm: 2}}
	span := func(s0, s1 float64) shoppable.Item { return shoppable.Item{ID: "t1", StartS: s0, EndS: s1} }
	cases := []struct {
		name string
		it   shoppable.Item
		lt   liveTrack
		t    float64
		want bool
	}{
		{"supported up to this frame", span(11, 18), liveTrack{agree: 2}, 18, true},
		{"a crop or two less supportive at the end", span(11, 17), liveTrack{agree: 3}, 18, true},
		{"the product left the track seconds ago", span(11, 16.9), liveTrack{agree: 5}, 18, false},
		{"not confirmed yet", span(11, 18), liveTrack{agree: 1}, 18, false},
		{"already announced", span(11, 18), liveTrack{agree: 2, announced: &LiveItem{ID: "t1"}}, 18, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.announceable(tc.it, &tc.lt, tc.t); got != tc.want {
				t.Errorf("announceable = %v, want %v", got, tc.want)
			}
		})
	}
}
