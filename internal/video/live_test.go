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
	it2.EndS, it3.EndS = 7, 8 // their crops support them up to then
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
		{"the latest crop less supportive", span(11, 17.75), liveTrack{agree: 3}, 18, true},
		{"the two latest crops less supportive", span(11, 17.25), liveTrack{agree: 3}, 18, false},
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

// TestLiveMoveOn checks that an announced item ends when its track goes on
// to show something else, or is handed to another track that shows its
// product, and stays while its track still shows it.
func TestLiveMoveOn(t *testing.T) {
	at := func(id, product string, s0, s1 float64) *shoppable.Item {
		it := liveItem(id, product, 0.9)
		it.StartS, it.EndS = s0, s1
		return &it
	}
	dets := func(ts ...float64) []detRow {
		var out []detRow
		for _, t := range ts {
			out = append(out, detRow{T: t})
		}
		return out
	}
	cases := []struct {
		name    string
		tracks  map[int]*liveTrack
		wantEnd []string // item ids ended
		wantT   float64  // their time (0: 20, the frame's)
		heir    int      // track that carries the item on (0: none)
	}{
		{"still shown", map[int]*liveTrack{
			1: {item: at("t1", "a", 10, 20), dets: dets(19.5, 20), announced: &LiveItem{ID: "t1", ProductID: "a"}},
		}, nil, 0, 0},
		{"the track ranks another product first", map[int]*liveTrack{
			1: {item: at("t1", "b", 18, 20), dets: dets(19.5, 20), announced: &LiveItem{ID: "t1", ProductID: "a"}},
		}, []string{"t1"}, 0, 0},
		{"ended when the product was last shown", map[int]*liveTrack{
			1: {item: at("t1", "b", 18, 20), dets: dets(19.5, 20), announced: &LiveItem{ID: "t1", ProductID: "a"}, shownUntil: 17.75},
		}, []string{"t1"}, 17.75, 0},
		{"its crops stopped supporting it", map[int]*liveTrack{
			1: {item: at("t1", "a", 10, 18), dets: dets(19.5, 20), announced: &LiveItem{ID: "t1", ProductID: "a"}},
		}, []string{"t1"}, 0, 0},
		{"the track was not seen for a while", map[int]*liveTrack{
			1: {item: at("t1", "a", 10, 18), dets: dets(17.5, 18), announced: &LiveItem{ID: "t1", ProductID: "a"}},
		}, []string{"t1"}, 0, 0},
		{"another track shows the product", map[int]*liveTrack{
			1: {item: at("t1", "b", 18, 20), dets: dets(19.5, 20), announced: &LiveItem{ID: "t1", ProductID: "a"}},
			2: {item: at("t2", "a", 15, 20), dets: dets(19.5, 20)},
		}, nil, 0, 2},
		{"another track showed the product a while ago", map[int]*liveTrack{
			1: {item: at("t1", "b", 18, 20), dets: dets(19.5, 20), announced: &LiveItem{ID: "t1", ProductID: "a"}},
			2: {item: at("t2", "a", 15, 18), dets: dets(19.5, 20)},
		}, []string{"t1"}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &LiveAnalyzer{tracks: tc.tracks}
			var ended []string
			wantT := tc.wantT
			if wantT == 0 {
				wantT = 20
			}
			for _, e := range a.moveOn(20) {
				if e.Type != LiveItemEnd || e.Item.T != wantT {
					t.Errorf("event %+v, want item.end at %v", e, wantT)
				}
				ended = append(ended, e.Item.ID)
			}
			if fmt.Sprint(ended) != fmt.Sprint(tc.wantEnd) {
				t.Errorf("ended %v, want %v", ended, tc.wantEnd)
			}
			if tc.heir != 0 {
				if got := tc.tracks[tc.heir].announced; got == nil || got.ID != "t1" {
					t.Errorf("track %d carries %+v, want item t1", tc.heir, got)
				}
				if tc.tracks[1].announced != nil {
					t.Error("the item stayed on the track that moved on too")
				}
				if got := tc.tracks[tc.heir].shownUntil; got != 20 {
					t.Errorf("the heir shows the product until %v, want 20 (its crops' support)", got)
				}
			}
		})
	}
}
