package bench

import (
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// TestOnScreenStart checks when an announcement counts as right: its
// product on screen at the announcing frame, give or take one analysed
// frame, with the start of the appearance under way.
func TestOnScreenStart(t *testing.T) {
	truth := &groundtruth.Video{Items: []groundtruth.Item{
		{ProductID: "p1", StartS: 2, EndS: 6},
		{ProductID: "p1", StartS: 10, EndS: 12},
		{ProductID: "p2", StartS: 11, EndS: 16.9},
	}}
	cases := []struct {
		name  string
		pid   string
		t     float64
		start float64
		ok    bool
	}{
		{"inside the first appearance", "p1", 3, 2, true},
		{"inside the second appearance", "p1", 11, 10, true},
		{"one frame after it left", "p1", 12.5, 10, true},
		{"between appearances", "p1", 8, 0, false},
		{"long after it left (a track gone on to another product)", "p2", 18, 0, false},
		{"just before it enters", "p2", 10.5, 11, true},
		{"not in the video", "p3", 3, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start, ok := onScreenStart(truth, tc.pid, tc.t)
			if ok != tc.ok || ok && start != tc.start {
				t.Errorf("onScreenStart(%s, %v) = %v, %v; want %v, %v", tc.pid, tc.t, start, ok, tc.start, tc.ok)
			}
		})
	}
}

// TestSegmentWatch checks that segments are timed from the updates of a
// sliding playlist, each at the update that first lists it.
func TestSegmentWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	w := &segmentWatch{}
	w.update([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.000000,\nindex0.ts\n"), at(1.8))
	w.update([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.000000,\nindex0.ts\n#EXTINF:1.200000,\nindex1.ts\n"), at(2.9))
	// Two new segments in one update; the first slid out.
	w.update([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:1.200000,\nindex1.ts\n#EXTINF:0.800000,\nindex2.ts\n#EXTINF:1.000000,\nindex3.ts\n"), at(5))
	cases := []struct {
		t      float64
		listed float64
		ok     bool
	}{{0, 1.8, true}, {0.99, 1.8, true}, {1, 2.9, true}, {2.1, 2.9, true}, {2.2, 5, true}, {3.5, 5, true}, {-1, 0, false}}
	for _, tc := range cases {
		got, ok := w.listedAt(tc.t)
		if ok != tc.ok || ok && !got.Equal(at(tc.listed)) {
			t.Errorf("listedAt(%v) = %v, %v; want %v, %v", tc.t, got.Sub(t0), ok, tc.listed, tc.ok)
		}
	}
}
