package bench

import (
	"testing"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// TestLabelLive checks how a live decision is labelled: right only when
// its product is a true item whose span meets the decision's item.
func TestLabelLive(t *testing.T) {
	truth := &groundtruth.Video{Items: []groundtruth.Item{{ProductID: "p1", StartS: 2, EndS: 6}, {ProductID: "p2", StartS: 8, EndS: 9}}}
	f := map[string]float64{"z": 3}
	for _, tc := range []struct {
		name  string
		truth *groundtruth.Video
		d     LiveDecision
		right bool
	}{
		{"product on screen", truth, LiveDecision{T: 4, ProductID: "p1", StartS: 3, EndS: 4, Features: f}, true},
		{"span meets the end", truth, LiveDecision{T: 7, ProductID: "p1", StartS: 5.5, EndS: 7, Features: f}, true},
		{"product shown at another time", truth, LiveDecision{T: 4, ProductID: "p2", StartS: 3, EndS: 4, Features: f}, false},
		{"product not in the video", truth, LiveDecision{T: 4, ProductID: "p3", StartS: 3, EndS: 4, Features: f}, false},
		{"a single frame inside", truth, LiveDecision{T: 8.5, ProductID: "p2", StartS: 8.5, EndS: 8.5, Features: f}, true},
		{"no product of the video in the catalog", nil, LiveDecision{T: 4, ProductID: "p1", StartS: 3, EndS: 4, Features: f}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := LabelLive(tc.truth, []LiveDecision{tc.d}, "g")
			if len(s) != 1 || s[0].Right != tc.right || s[0].Group != "g" || s[0].Features["z"] != 3 {
				t.Fatalf("got %+v, want one sample right=%v in group g with the features", s, tc.right)
			}
		})
	}
}
